using System.Numerics.Tensors;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Catalog;

/// <summary>
/// How the catalog search fuses its two lists (docs/recommendations.md, "Hybrid search" gives how they were chosen).
/// <paramref name="Candidates"/>: how deep each list is read. <paramref name="RrfK"/> and <paramref name="LexicalWeight"/>:
/// reciprocal rank fusion, an item scoring 1/(k + semantic rank) + w/(k + lexical rank). <paramref name="Floor"/>: the
/// cosine below which an item is not similar enough to the query to be shown for its meaning alone.
/// </summary>
public sealed record HybridSearchOptions(int Candidates = 50, double RrfK = 1, double LexicalWeight = 3.0, double Floor = 0.26)
{
    /// <summary>
    /// The product's settings, chosen on the tuning half of the search set (bench/CyberHub.Bench.Recommendations,
    /// <c>--only search</c>): the best NDCG@10 of the fusion grid, and the floor halfway between the best cosine of a
    /// nonsense query (0.189) and the least best cosine of a real one (0.325).
    /// </summary>
    public static readonly HybridSearchOptions Default = new();
}

/// <summary>
/// One result: <paramref name="Score"/> the fused relevance in 0..1 (1: first in both lists), the order of the answer;
/// <paramref name="Similarity"/> the cosine of query and item; <paramref name="LexicalMatch"/> when the item has a word
/// of the query.
/// </summary>
public sealed record HybridHit(ContentRecord Content, double Score, double Similarity, bool LexicalMatch);

/// <summary>The answer: <paramref name="Matched"/> false (and no hits) when nothing in the catalog is relevant.</summary>
public sealed record HybridAnswer(IReadOnlyList<HybridHit> Hits, bool Matched);

/// <summary>
/// Catalog search by meaning and by words: the store's nearest items by cosine and its full-text matches, fused by
/// reciprocal rank. Nothing matched when no item reaches the cosine floor and no item has every word of the query;
/// otherwise an item is shown when it reaches the floor or has a word of the query.
/// </summary>
public sealed class HybridSearch(IVectorStore store)
{
    public async Task<HybridAnswer> SearchAsync(
        string query, float[] queryVector, int limit, string? contentType, HybridSearchOptions options, CancellationToken cancellationToken)
    {
        var unit = ContentVectors.UnitQuery(queryVector);
        var depth = Math.Max(limit, options.Candidates);
        var semanticTask = store.SearchAsync(unit, depth, contentType, cancellationToken: cancellationToken);
        var lexicalTask = store.LexicalSearchAsync(query, depth, contentType, cancellationToken);
        var semantic = await semanticTask;
        var lexical = await lexicalTask;
        // Words found items the vectors did not rank: their cosine decides whether they are similar at all.
        var known = semantic.Select(h => ContentVectors.KeyOf(h.Content)).ToHashSet();
        var missing = lexical.Select(h => ContentVectors.KeyOf(h.Content)).Where(k => !known.Contains(k)).ToList();
        var similarities = semantic.ToDictionary(h => ContentVectors.KeyOf(h.Content), h => h.Score);
        if (missing.Count > 0)
        {
            foreach (var item in await store.GetManyAsync(missing, cancellationToken))
            {
                similarities[item.Key] = TensorPrimitives.Dot(item.Vector, unit);
            }
        }
        return Fuse(semantic, lexical, similarities, limit, options);
    }

    /// <summary>The fusion itself, on the two ranked lists and every candidate's cosine.</summary>
    public static HybridAnswer Fuse(
        IReadOnlyList<SearchHit> semantic, IReadOnlyList<LexicalHit> lexical, IReadOnlyDictionary<ContentKey, double> similarities,
        int limit, HybridSearchOptions options)
    {
        var best = semantic.Count == 0 ? double.NegativeInfinity : semantic.Max(h => h.Score);
        if (best < options.Floor && !lexical.Any(h => h.AllTerms))
        {
            return new HybridAnswer([], false);
        }
        var candidates = new Dictionary<ContentKey, (ContentRecord Content, double Fused, bool Lexical)>();
        var semanticRanks = SharedRanks(semantic.Select(h => h.Score).ToList());
        for (var i = 0; i < semantic.Count; i++)
        {
            var key = ContentVectors.KeyOf(semantic[i].Content);
            candidates[key] = (semantic[i].Content, 1.0 / (options.RrfK + semanticRanks[i]), false);
        }
        var lexicalRanks = SharedRanks(lexical.Select(h => h.Score).ToList());
        for (var i = 0; i < lexical.Count; i++)
        {
            var key = ContentVectors.KeyOf(lexical[i].Content);
            var part = options.LexicalWeight / (options.RrfK + lexicalRanks[i]);
            candidates[key] = candidates.TryGetValue(key, out var c) ? (c.Content, c.Fused + part, true) : (lexical[i].Content, part, true);
        }
        var top = (1.0 + options.LexicalWeight) / (options.RrfK + 1);
        var hits = candidates
            // An item without a cosine was deleted between the two reads.
            .Where(p => similarities.ContainsKey(p.Key))
            .Select(p => new HybridHit(p.Value.Content, p.Value.Fused / top, similarities[p.Key], p.Value.Lexical))
            .Where(h => h.LexicalMatch || h.Similarity >= options.Floor)
            .OrderByDescending(h => h.Score).ThenByDescending(h => h.Similarity)
            .ThenBy(h => h.Content.ContentType, StringComparer.Ordinal).ThenBy(h => h.Content.ContentId, StringComparer.Ordinal)
            .Take(limit)
            .ToList();
        return new HybridAnswer(hits, hits.Count > 0);
    }

    /// <summary>
    /// The 1-based rank of each score in a list ordered best first, equal scores sharing the best rank among them
    /// ("1, 2, 2, 4"): how a store happens to order a tie must not decide the fusion.
    /// </summary>
    public static int[] SharedRanks(IReadOnlyList<double> scores)
    {
        var ranks = new int[scores.Count];
        for (var i = 0; i < scores.Count; i++)
        {
            ranks[i] = i > 0 && Math.Abs(scores[i] - scores[i - 1]) <= TieTolerance ? ranks[i - 1] : i + 1;
        }
        return ranks;
    }

    /// <summary>Scores closer than this are a tie (cosines and ranks computed in single precision differ by less).</summary>
    private const double TieTolerance = 1e-6;
}
