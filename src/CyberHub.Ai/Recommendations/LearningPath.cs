using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Recommendations;

/// <summary>
/// What a catalog item says about its place in a learning path: its topic, its level (0 beginner, 1 intermediate,
/// 2 advanced; null when it has none) and the items to complete before it.
/// </summary>
public sealed record PathItem(ContentKey Key, string? Topic, int? Level, IReadOnlyList<ContentKey> Prerequisites)
{
    /// <summary>The level's ordinal, or null for a level this ranking does not know.</summary>
    public static int? LevelOf(string? level) => level?.Trim().ToLowerInvariant() switch
    {
        "beginner" or "introductory" or "intro" or "foundation" or "foundations" or "basic" => 0,
        "intermediate" => 1,
        "advanced" or "expert" => 2,
        _ => null,
    };
}

/// <summary>Where a candidate stands on the learner's path.</summary>
/// <param name="Score">How much it is the learner's next step, 0 to 1.</param>
/// <param name="Ready">Every prerequisite is done.</param>
/// <param name="After">The learner's most recent completed prerequisite of it (the "next step after X").</param>
/// <param name="Missing">The prerequisites not done yet (the "after X" of a held-back item).</param>
public sealed record PathSignal(double Score, bool Ready, ContentKey? After, IReadOnlyList<ContentKey> Missing);

/// <summary>
/// Learning paths: prefers the next step the learner is ready for. A candidate scores by how active the learner is in
/// its topic (recency-weighted share of the history) and how its level fits the learner's level in that topic (the same
/// level first, then the next one); an item that a just-completed item unlocks (one of its prerequisites) scores as a
/// next step. Items whose prerequisites are not all done are not ready: the blend holds them back behind ready items.
/// Works on the candidates it is given; reads nothing else.
/// </summary>
public static class LearningPath
{
    /// <summary>Fit of a candidate's level to the learner's level in its topic: same, one above, below (skipped), two above.</summary>
    public const double SameLevel = 1.0, NextLevel = 0.6, LowerLevel = 0.4, FarLevel = 0.1;

    /// <summary>What a ready item unlocked by a completed prerequisite scores (times the prerequisite's recency weight).</summary>
    public const double Unlocked = 1.0;

    private static readonly ContentKey[] NoneMissing = [];

    /// <summary>
    /// Path signals for <paramref name="candidates"/> given the learner's history (items with their path facts and a
    /// recency weight, any order). Items of the history are not scored.
    /// </summary>
    public static IReadOnlyDictionary<ContentKey, PathSignal> Score(
        IReadOnlyList<(PathItem Item, double Weight)> history, IEnumerable<PathItem> candidates)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(candidates);
        var done = history.Select(h => h.Item.Key).ToHashSet();
        var weightOf = new Dictionary<ContentKey, double>();
        foreach (var (item, weight) in history)
        {
            weightOf[item.Key] = Math.Max(weightOf.GetValueOrDefault(item.Key), weight);
        }
        var totalWeight = history.Sum(h => Math.Max(0, h.Weight));
        // Per topic: the learner's recency-weighted share, and the level of their latest (highest-weight) work in it.
        var topics = history.Where(h => h.Item.Topic is not null)
            .GroupBy(h => h.Item.Topic!, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => (
                Share: totalWeight > 0 ? g.Sum(h => Math.Max(0, h.Weight)) / totalWeight : 0,
                Level: g.Where(h => h.Item.Level is not null).OrderByDescending(h => h.Weight).ThenByDescending(h => h.Item.Level).Select(h => h.Item.Level).FirstOrDefault()),
                StringComparer.OrdinalIgnoreCase);
        var maxWeight = weightOf.Count > 0 ? weightOf.Values.Max() : 0;
        var signals = new Dictionary<ContentKey, PathSignal>();
        foreach (var candidate in candidates)
        {
            if (done.Contains(candidate.Key) || signals.ContainsKey(candidate.Key))
            {
                continue;
            }
            // Most items have no prerequisites: nothing missing, nothing unlocked them.
            IReadOnlyList<ContentKey> missing = candidate.Prerequisites.Count == 0 ? NoneMissing : candidate.Prerequisites.Where(p => !done.Contains(p)).Distinct().ToList();
            var after = candidate.Prerequisites.Count == 0 ? null
                : candidate.Prerequisites.Where(done.Contains).OrderByDescending(p => weightOf.GetValueOrDefault(p)).Cast<ContentKey?>().FirstOrDefault();
            var score = 0.0;
            if (candidate.Topic is not null && topics.TryGetValue(candidate.Topic, out var topic))
            {
                var fit = (candidate.Level, topic.Level) switch
                {
                    (null, _) or (_, null) => LowerLevel,
                    var (c, l) when c == l => SameLevel,
                    var (c, l) when c == l + 1 => NextLevel,
                    var (c, l) when c < l => LowerLevel,
                    _ => FarLevel,
                };
                score = topic.Share * fit;
            }
            if (missing.Count == 0 && after is { } unlockedBy)
            {
                score = Math.Max(score, Unlocked * weightOf[unlockedBy] / Math.Max(1e-9, maxWeight) * topicShare(candidate));
            }
            signals[candidate.Key] = new PathSignal(Math.Clamp(score, 0, 1), missing.Count == 0, after, missing);
        }
        return signals;

        double topicShare(PathItem c) => c.Topic is not null && topics.TryGetValue(c.Topic, out var t) ? Math.Max(t.Share, 0.5) : 0.5;
    }
}
