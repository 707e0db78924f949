using System.Globalization;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Recommendations;

/// <summary>
/// Words as a content signal (docs/recommendations.md, "Words beside vectors for the content side"): a ranking by
/// meaning fused by weighted reciprocal rank with the store's own full-text search (<see cref="ILexicalIndex"/>, FTS5
/// BM25 in the embedded store), queried with the titles (and, optionally, descriptions) of the learner's latest
/// completions, as hybrid search fuses a query's two answers. No metadata and no other learners are used.
/// </summary>
public sealed class LexicalFusionRecommender(
    EvaluationContext context, IRecommender semantic, int latest, bool descriptions, double weight, double k) : IRecommender
{
    /// <summary>How many of each list take part in the fusion.</summary>
    private const int Depth = 100;

    public string Name => string.Create(CultureInfo.InvariantCulture,
        $"{semantic.Name} + words of the latest {latest} ({(descriptions ? "titles and descriptions" : "titles")}), weight {weight}, k {k}");

    public async Task<IReadOnlyList<ContentKey>> RecommendAsync(RecommendationRequest request, CancellationToken cancellationToken)
    {
        var done = request.History.Select(c => c.Item).ToHashSet();
        var score = new Dictionary<ContentKey, double>();
        var byMeaning = await semantic.RecommendAsync(request with { Count = Depth }, cancellationToken);
        for (var i = 0; i < byMeaning.Count; i++)
        {
            score[byMeaning[i]] = 1 / (k + i + 1);
        }
        var recent = request.History.Skip(Math.Max(0, request.History.Count - latest)).Select(c => c.Item).ToArray();
        var records = await context.Store.GetManyAsync(recent, cancellationToken);
        var words = string.Join(' ', records.Select(r => descriptions ? $"{r.Content.Title} {r.Content.Description}" : r.Content.Title));
        var rank = 0;
        foreach (var hit in await context.Store.LexicalSearchAsync(words, Depth + done.Count, null, cancellationToken))
        {
            var key = ContentVectors.KeyOf(hit.Content);
            if (!done.Contains(key) && ++rank <= Depth)
            {
                score[key] = score.GetValueOrDefault(key) + weight / (k + rank);
            }
        }
        return [.. score.OrderByDescending(s => s.Value)
            .ThenBy(s => s.Key.ContentType, StringComparer.Ordinal).ThenBy(s => s.Key.ContentId, StringComparer.Ordinal)
            .Take(request.Count).Select(s => s.Key)];
    }

    /// <summary>
    /// The grid, on the bare content-only set's tuning split only: P@10 over mean-embedding's, topic precision and time
    /// split, for the served ranking and mean-embedding each fused with the words of the latest 3 or 30 completions;
    /// "words alone" is the full-text ranking by itself (weight 1000 against a rank fusion's 1).
    /// </summary>
    public static async Task TuneAsync(
        EvaluationContext bare, IReadOnlyList<Learner> learners, IReadOnlyList<TopicProbe> probes, int seed, int hidden, Action<string> say,
        CancellationToken cancellationToken)
    {
        IRecommender[] baseline = [new MeanEmbeddingRecommender(bare)];
        var topicBase = (await Evaluation.TopicPrecisionAsync(bare, probes, Learner.Tuning, seed, baseline, cancellationToken)).Rows[0].Precision.Mean;
        var timeBase = (await Evaluation.TimeSplitAsync(bare, learners, Learner.Tuning, hidden, baseline, cancellationToken)).Rows[0].Precision.Mean;
        var grid = new List<(IRecommender Semantic, int Latest, bool Descriptions, double Weight, double K)>();
        foreach (IRecommender semantic in new IRecommender[] { new ServedRecommender(bare, Strategies.Served), new MeanEmbeddingRecommender(bare) })
        {
            var served = semantic is ServedRecommender;
            grid.Add((semantic, 3, false, 0, 10));
            foreach (var latest in served ? new[] { 3, 30 } : [3])
            foreach (var descriptions in new[] { false, true })
            foreach (var weight in new[] { 0.5, 1.0, 2.0 })
            foreach (var k in served ? new[] { 10.0, 60.0 } : [10.0])
            {
                grid.Add((semantic, latest, descriptions, weight, k));
            }
        }
        say("| by meaning | latest completions | words of | lexical weight | k | bare topic P@10 ratio | bare time split P@10 ratio |");
        say("|---|---:|---|---:|---:|---:|---:|");
        foreach (var (semantic, latest, descriptions, weight, k) in grid.Concat([(baseline[0], 3, true, 1000, 10), (baseline[0], 3, false, 1000, 10)]))
        {
            IRecommender[] fused = [new LexicalFusionRecommender(bare, semantic, latest, descriptions, weight, k)];
            var topic = (await Evaluation.TopicPrecisionAsync(bare, probes, Learner.Tuning, seed, fused, cancellationToken)).Rows[0].Precision.Mean;
            var time = (await Evaluation.TimeSplitAsync(bare, learners, Learner.Tuning, hidden, fused, cancellationToken)).Rows[0].Precision.Mean;
            var meaning = weight >= 1000 ? "– (words alone)" : semantic.Name;
            say(string.Create(CultureInfo.InvariantCulture,
                $"| {meaning} | {latest} | {(descriptions ? "titles, descriptions" : "titles")} | {(weight >= 1000 ? "–" : weight)} | {k} | {topic / topicBase:F3} | {time / timeBase:F3} |"));
        }
    }
}
