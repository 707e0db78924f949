using CyberHub.Ai.Catalog;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Recommendations;

/// <summary>A pick of the cold-start list and why it is there.</summary>
public sealed record StarterPick(SearchHit Hit, string Reason);

/// <summary>
/// The ranking of recommendations without HTTP, caching or stored profiles: candidate search, diversification and the
/// starter list. <see cref="RecommendationService"/> ranks with these and so does the evaluation bench
/// (bench/CyberHub.Bench.Recommendations), so the bench measures what the service serves.
/// </summary>
public static class RecommendationCore
{
    /// <summary>The longest list computed for a learner; requests slice it.</summary>
    public const int MaxPicks = 50;

    /// <summary>Enough candidates for diversity to choose among, few enough to rank in well under a millisecond.</summary>
    public const int CandidatePool = 3 * MaxPicks;

    /// <summary>
    /// How many items nearest the profile the served ranking searches for (<see cref="BlendSettings.Nearest"/>): within a
    /// thousandth of <see cref="CandidatePool"/> by every measure of the evaluation harness, for two thirds the walk; 50
    /// measured as well, but in a catalog dense with prerequisites it left too few ready items to fill a first page
    /// (docs/recommendations.md, "How many nearest items a miss searches for").
    /// </summary>
    public const int NearestPool = 2 * MaxPicks;

    /// <summary>The text whose neighbours make the cold-start list.</summary>
    public const string StarterQuery = "introduction to cybersecurity fundamentals for beginners";

    private static readonly HashSet<string> IntroductoryLevels = new(StringComparer.OrdinalIgnoreCase)
    {
        "beginner", "introductory", "intro", "foundation", "foundations", "basic",
    };

    /// <summary>
    /// The candidates for a learner with a profile: the <paramref name="count"/> items nearest the profile vector (at least
    /// <see cref="MaxPicks"/>), of <paramref name="type"/> when given, never one the learner has started (what the learner
    /// has started is theirs already: the dashboard continues it, recommendations look ahead).
    /// </summary>
    public static async Task<IReadOnlyList<ContentVector>> CandidatesAsync(
        IVectorStore catalog, float[] profile, string? type, IReadOnlySet<ContentKey> started, int count, CancellationToken cancellationToken)
    {
        // One profile vector measured best on the held-out quality catalog (recall@10 0.91): searching per
        // interest cluster, tried for learners of several topics, pulled in neighbours of single items instead.
        return await catalog.SearchVectorsAsync(profile, Math.Max(count, MaxPicks), type, started, cancellationToken);
    }

    /// <summary>The personal list: the candidates diversified (<see cref="Ranking.Diversify"/>), each with its reason.</summary>
    public static IReadOnlyList<(RankedItem Pick, string Reason)> Personal(
        float[] profile, IReadOnlyList<ContentVector> candidates, IReadOnlyList<WeightedItem> history, int count = MaxPicks) =>
        [.. Ranking.Diversify(profile, candidates, count).Select(r => (r, Ranking.Reason(r.Item, history)))];

    /// <summary>The hits the cold-start list is made from: the items nearest the embedded <see cref="StarterQuery"/>.</summary>
    public static Task<IReadOnlyList<SearchHit>> StarterHitsAsync(IVectorStore catalog, float[] starterQuery, string? type, CancellationToken cancellationToken) =>
        catalog.SearchAsync(starterQuery, 4 * MaxPicks, type, cancellationToken: cancellationToken);

    /// <summary>
    /// Cold start: introductory items first, then by content type and score, taking turns across topics so a newcomer
    /// sees the breadth of the catalog.
    /// </summary>
    public static IReadOnlyList<StarterPick> Starter(IReadOnlyList<SearchHit> hits)
    {
        var byTopic = hits
            .Select(h => (Hit: h, Facts: Facts(h.Content)))
            .OrderByDescending(x => x.Facts.Introductory)
            .ThenBy(x => StarterOrder(x.Hit.Content.ContentType))
            .ThenByDescending(x => x.Hit.Score)
            .GroupBy(x => x.Facts.Topic, StringComparer.OrdinalIgnoreCase)
            .Select(g => new Queue<(SearchHit Hit, (string Topic, bool Introductory) Facts)>(g))
            .ToList();
        var picks = new List<StarterPick>(MaxPicks);
        while (picks.Count < MaxPicks && byTopic.Any(q => q.Count > 0))
        {
            foreach (var topic in byTopic.Where(q => q.Count > 0))
            {
                var (hit, facts) = topic.Dequeue();
                var reason = facts.Introductory
                    ? $"An introductory {facts.Topic} item to get you started; picks become personal as you make progress"
                    : $"A starting point in {facts.Topic}; picks become personal as you make progress";
                picks.Add(new StarterPick(hit, reason));
                if (picks.Count == MaxPicks)
                {
                    break;
                }
            }
        }
        return picks;
    }

    /// <summary>A newcomer starts with an overview, then lessons, then practice; tests of knowledge come last.</summary>
    private static int StarterOrder(string contentType) => contentType switch
    {
        "course" => 0,
        "module" => 1,
        "lesson" or "video" or "article" => 2,
        "lab" => 3,
        _ => 4,
    };

    /// <summary>The item's topic (metadata <c>topic</c>, else its content type) and whether its level is introductory.</summary>
    private static (string Topic, bool Introductory) Facts(ContentRecord content)
    {
        var facts = ContentFacts.From(content);
        // Topics are often slugs ("web-security"); a reason reads better with words.
        var topic = (facts.Topic ?? content.ContentType).Replace('-', ' ').Replace('_', ' ');
        return (topic, facts.Level is { } level && IntroductoryLevels.Contains(level));
    }
}
