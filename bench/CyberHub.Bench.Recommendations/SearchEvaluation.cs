using System.Text.Json;
using CyberHub.Ai.Embeddings;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Recommendations;

/// <summary>A learner-phrased query and its judged items (content id → grade 1 or 2); none for a query that must match nothing.</summary>
public sealed record SearchQuery(string Query, IReadOnlyDictionary<string, int> Relevant)
{
    public bool Nonsense => Relevant.Count == 0;

    public static IReadOnlyList<SearchQuery> Load(string path)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        return [.. json.RootElement.GetProperty("queries").EnumerateArray().Select(q => new SearchQuery(
            q.GetProperty("query").GetString()!,
            q.GetProperty("relevant").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32())))];
    }
}

public sealed record ScoredHit(ContentKey Key, double Score);

/// <summary>
/// A search strategy under evaluation: semantic today; lexical and hybrid search plug in here when they exist, and are
/// added to the list in Program.cs.
/// </summary>
public interface ISearchStrategy
{
    string Name { get; }

    /// <summary>What the score means, for the report (cosine, BM25, ...).</summary>
    string ScoreKind { get; }

    Task<IReadOnlyList<ScoredHit>> SearchAsync(string query, int limit, CancellationToken cancellationToken);
}

/// <summary>Today's search (<c>POST /api/v1/search</c>): the query embedded by MiniLM, the vector store's cosine ranking.</summary>
public sealed class SemanticSearch(IEmbeddingGenerator embeddings, IVectorStore store) : ISearchStrategy
{
    public string Name => "semantic (today)";

    public string ScoreKind => "cosine";

    public async Task<IReadOnlyList<ScoredHit>> SearchAsync(string query, int limit, CancellationToken cancellationToken)
    {
        var vector = (await embeddings.EmbedAsync([query], cancellationToken))[0];
        var hits = await store.SearchAsync(vector, limit, cancellationToken: cancellationToken);
        return [.. hits.Select(h => new ScoredHit(ContentVectors.KeyOf(h.Content), h.Score))];
    }
}

/// <summary>
/// A plain lexical baseline computed inside the harness: Okapi BM25 (k1 = 1.2, b = 0.75) over title + description,
/// lower-cased alphanumeric tokens, a short English stop-word list, no stemming. Items without a query term are not returned.
/// </summary>
public sealed class Bm25Search : ISearchStrategy
{
    private const double K1 = 1.2;
    private const double B = 0.75;

    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "an", "and", "are", "as", "at", "be", "best", "by", "do", "does", "for", "from", "get", "how", "i", "in", "is", "it", "my",
        "of", "on", "or", "the", "to", "vs", "way", "we", "what", "when", "where", "which", "who", "why", "with", "you", "your",
    };

    private readonly IReadOnlyList<(ContentKey Key, Dictionary<string, int> Terms, int Length)> _documents;
    private readonly Dictionary<string, int> _documentFrequency = new(StringComparer.Ordinal);
    private readonly double _meanLength;

    public Bm25Search(IReadOnlyList<(ContentKey Key, string Text)> documents)
    {
        _documents = [.. documents.Select(d =>
        {
            var tokens = Tokens(d.Text);
            return (d.Key, tokens.GroupBy(t => t, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal), tokens.Count);
        })];
        foreach (var term in _documents.SelectMany(d => d.Terms.Keys))
        {
            _documentFrequency[term] = _documentFrequency.GetValueOrDefault(term) + 1;
        }
        _meanLength = _documents.Count == 0 ? 0 : _documents.Average(d => d.Length);
    }

    public string Name => "lexical (BM25 baseline)";

    public string ScoreKind => "BM25";

    public Task<IReadOnlyList<ScoredHit>> SearchAsync(string query, int limit, CancellationToken cancellationToken)
    {
        var terms = Tokens(query).Distinct(StringComparer.Ordinal).ToList();
        var n = _documents.Count;
        var hits = new List<ScoredHit>();
        foreach (var document in _documents)
        {
            var score = 0.0;
            foreach (var term in terms)
            {
                if (!document.Terms.TryGetValue(term, out var frequency))
                {
                    continue;
                }
                var df = _documentFrequency[term];
                var idf = Math.Log(1 + (n - df + 0.5) / (df + 0.5));
                score += idf * frequency * (K1 + 1) / (frequency + K1 * (1 - B + B * document.Length / _meanLength));
            }
            if (score > 0)
            {
                hits.Add(new ScoredHit(document.Key, score));
            }
        }
        return Task.FromResult<IReadOnlyList<ScoredHit>>([.. hits
            .OrderByDescending(h => h.Score).ThenBy(h => h.Key.ContentType, StringComparer.Ordinal).ThenBy(h => h.Key.ContentId, StringComparer.Ordinal)
            .Take(limit)]);
    }

    public static List<string> Tokens(string text)
    {
        var tokens = new List<string>();
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var inWord = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (inWord && start < 0)
            {
                start = i;
            }
            else if (!inWord && start >= 0)
            {
                var token = text[start..i].ToLowerInvariant();
                if (!StopWords.Contains(token))
                {
                    tokens.Add(token);
                }
                start = -1;
            }
        }
        return tokens;
    }
}

/// <summary>One search strategy's figures: NDCG@10 and MRR over the real queries, and the top score on every query.</summary>
public sealed record SearchResult(
    string Strategy,
    string ScoreKind,
    Estimate Ndcg,
    Estimate Mrr,
    int Queries,
    double MedianTopScore,
    double LowestTopScore,
    IReadOnlyList<(string Query, double? TopScore, string? TopItem)> Nonsense);

public static class SearchEvaluation
{
    public static async Task<SearchResult> RunAsync(ISearchStrategy strategy, IReadOnlyList<SearchQuery> queries, CancellationToken cancellationToken)
    {
        var ndcg = new List<double>();
        var mrr = new List<double>();
        var topScores = new List<double>();
        var nonsense = new List<(string, double?, string?)>();
        foreach (var query in queries)
        {
            var hits = await strategy.SearchAsync(query.Query, Evaluation.Cutoff, cancellationToken);
            if (query.Nonsense)
            {
                nonsense.Add((query.Query, hits.Count == 0 ? null : hits[0].Score, hits.Count == 0 ? null : hits[0].Key.ContentId));
                continue;
            }
            var ranked = hits.Select(h => h.Key.ContentId).ToList();
            ndcg.Add(Metrics.NdcgAt(ranked, query.Relevant, Evaluation.Cutoff));
            mrr.Add(Metrics.ReciprocalRankAt(ranked, query.Relevant, Evaluation.Cutoff));
            topScores.Add(hits.Count == 0 ? 0 : hits[0].Score);
        }
        topScores.Sort();
        return new SearchResult(strategy.Name, strategy.ScoreKind, Confidence.Normal(ndcg), Confidence.Normal(mrr), ndcg.Count,
            Confidence.Percentile(topScores, 0.5), topScores[0], nonsense);
    }
}
