using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Recommendations;

/// <summary>Where a blended pick's strongest score comes from; each names one kind of reason.</summary>
public enum RecommendationSource
{
    /// <summary>"Next step after X": the learning path.</summary>
    NextStep,

    /// <summary>"Learners who completed X often take this next": co-completion.</summary>
    CoCompletion,

    /// <summary>"Because you completed X": content similarity (diffusion over the item graph).</summary>
    Content,

    /// <summary>"Popular with learners starting out": popularity within the learner's topics.</summary>
    Popular,
}

/// <summary>How much each component counts in the blend (any non-negative scale; only the ratios matter).</summary>
public sealed record BlendWeights(double Content, double CoCompletion, double Path, double Popular)
{
    /// <summary>The weights chosen on the tuning split of the evaluation harness (docs/recommendations.md).</summary>
    public static BlendWeights Default { get; } = new(0.5, 2.0, 0.5, 0.0);
}

/// <summary>A candidate's score from one component, and the learner's item behind it (null when none applies).</summary>
public readonly record struct ComponentSignal(double Score, ContentKey? Driver);

/// <summary>Every component's view of one candidate, as handed to <see cref="Blend.Rank"/>.</summary>
public sealed record BlendCandidate(
    ContentKey Key, ComponentSignal Content, ComponentSignal CoCompletion, ComponentSignal Path, ComponentSignal Popular,
    bool Ready = true, IReadOnlyList<ContentKey>? Missing = null);

/// <summary>One component's weighted part of a pick's score, and the learner's item behind it (null when none).</summary>
public readonly record struct BlendPart(RecommendationSource Source, double Value, ContentKey? Driver);

/// <summary>The components' scores of a pick, each scaled to 0..1 over the candidates (before weighting).</summary>
public sealed record ComponentScores(double Content, double CoCompletion, double Path, double Popular);

/// <summary>
/// A blended pick: its score, each component's scaled score, the strongest source (the largest weighted part) with the
/// learner's item behind it, and, for an item held back, the prerequisites not done yet.
/// </summary>
public sealed record BlendedPick(
    ContentKey Key, double Score, ComponentScores Components, RecommendationSource Source, ContentKey? Driver, bool Ready, IReadOnlyList<ContentKey> Missing);

/// <summary>
/// The blend: each component's scores scaled to 0..1 by its best candidate, weighted and summed. Ready items come first;
/// items whose prerequisites are not done follow them (shown as "after X", not hidden), so they appear only when
/// nothing ready is left. Pure: the components are computed by the caller from their own candidates.
/// </summary>
public static class Blend
{
    public static IReadOnlyList<BlendedPick> Rank(IReadOnlyList<BlendCandidate> candidates, BlendWeights weights, int count)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Content < 0 || weights.CoCompletion < 0 || weights.Path < 0 || weights.Popular < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(weights), "Blend weights must not be negative.");
        }
        var picks = Picks(candidates, (c, scores) =>
        [
            new(RecommendationSource.NextStep, weights.Path * scores.Path, c.Path.Driver),
            new(RecommendationSource.CoCompletion, weights.CoCompletion * scores.CoCompletion, c.CoCompletion.Driver),
            new(RecommendationSource.Content, weights.Content * scores.Content, c.Content.Driver),
            new(RecommendationSource.Popular, weights.Popular * scores.Popular, c.Popular.Driver),
        ]);
        return [.. picks
            .OrderByDescending(p => p.Ready)
            .ThenByDescending(p => p.Score)
            .ThenBy(p => p.Key.ContentType, StringComparer.Ordinal).ThenBy(p => p.Key.ContentId, StringComparer.Ordinal)
            .Take(Math.Max(0, count))];
    }

    /// <summary>
    /// The pick loop every fusion shares: each candidate once (the first of a key), its components scaled to 0..1 by the
    /// best candidate of each (<see cref="ComponentScores"/>), its weighted parts from <paramref name="parts"/>, its score
    /// (the sum of the parts, or <paramref name="score"/> of the candidate and that sum), and its strongest source: the
    /// largest part, where a next step and a co-completion count only with a learner's item to name (content otherwise).
    /// </summary>
    public static List<BlendedPick> Picks(
        IReadOnlyList<BlendCandidate> candidates, Func<BlendCandidate, ComponentScores, BlendPart[]> parts, Func<BlendCandidate, double, double>? score = null)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(parts);
        static double Max(IEnumerable<double> values) => values.DefaultIfEmpty(0).Max();
        var maxContent = Max(candidates.Select(c => c.Content.Score));
        var maxCo = Max(candidates.Select(c => c.CoCompletion.Score));
        var maxPath = Max(candidates.Select(c => c.Path.Score));
        var maxPopular = Max(candidates.Select(c => c.Popular.Score));
        static double Scale(double value, double max) => max > 0 && value > 0 ? value / max : 0;

        var picks = new List<BlendedPick>(candidates.Count);
        var seen = new HashSet<ContentKey>();
        foreach (var c in candidates)
        {
            if (!seen.Add(c.Key))
            {
                continue;
            }
            var scores = new ComponentScores(Scale(c.Content.Score, maxContent), Scale(c.CoCompletion.Score, maxCo), Scale(c.Path.Score, maxPath), Scale(c.Popular.Score, maxPopular));
            var weighted = parts(c, scores);
            // "Next step after X" and "Learners who completed X ..." need an item X; without one the part still counts
            // in the score but cannot name the reason.
            var strongest = weighted.Where(p => p.Source is not (RecommendationSource.NextStep or RecommendationSource.CoCompletion) || p.Driver is not null)
                .DefaultIfEmpty(new BlendPart(RecommendationSource.Content, 0, c.Content.Driver)).MaxBy(p => p.Value);
            if (strongest.Value <= 0)
            {
                strongest = new BlendPart(RecommendationSource.Content, 0, c.Content.Driver);
            }
            var sum = weighted.Sum(p => p.Value);
            picks.Add(new BlendedPick(c.Key, score is null ? sum : score(c, sum), scores, strongest.Source, strongest.Driver, c.Ready, c.Missing ?? []));
        }
        return picks;
    }

    /// <summary>
    /// The reason shown for a pick, naming its strongest source; <paramref name="titleOf"/> gives an item's title.
    /// A held-back pick says what it comes after.
    /// </summary>
    public static string Reason(BlendedPick pick, Func<ContentKey, string> titleOf)
    {
        ArgumentNullException.ThrowIfNull(pick);
        ArgumentNullException.ThrowIfNull(titleOf);
        var reason = (pick.Source, pick.Driver) switch
        {
            (RecommendationSource.NextStep, { } x) => $"Next step after '{titleOf(x)}'",
            (RecommendationSource.CoCompletion, { } x) => $"Learners who completed '{titleOf(x)}' often take this next",
            (RecommendationSource.Content, { } x) => $"Because you completed '{titleOf(x)}'",
            (RecommendationSource.Popular, _) => "Popular with learners starting out",
            _ => "Close to what you have been learning",
        };
        return pick.Ready || pick.Missing.Count == 0 ? reason : $"{reason} (after '{titleOf(pick.Missing[0])}')";
    }
}
