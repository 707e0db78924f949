using System.Globalization;
using System.Text;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.Embeddings;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Recommendations;

/// <summary>The product's lexical index alone (<see cref="ILexicalIndex"/>: SQLite FTS5 BM25 in the embedded store).</summary>
public sealed class StoreLexicalSearch(IVectorStore store) : ISearchStrategy
{
    public string Name => "lexical (store index)";

    public string ScoreKind => "FTS5 BM25";

    public async Task<IReadOnlyList<ScoredHit>> SearchAsync(string query, int limit, CancellationToken cancellationToken) =>
        [.. (await store.LexicalSearchAsync(query, limit, cancellationToken: cancellationToken)).Select(h => new ScoredHit(ContentVectors.KeyOf(h.Content), h.Score))];
}

/// <summary>The product's search (<c>POST /api/v1/content/search</c>): <see cref="HybridSearch"/> with the given options.</summary>
public sealed class ProductHybridSearch(IEmbeddingGenerator embeddings, IVectorStore store, HybridSearchOptions options, string name = "hybrid (product)") : ISearchStrategy
{
    public string Name => name;

    public string ScoreKind => "fused";

    public async Task<IReadOnlyList<ScoredHit>> SearchAsync(string query, int limit, CancellationToken cancellationToken)
    {
        var vector = (await embeddings.EmbedAsync([query], cancellationToken))[0];
        var answer = await new HybridSearch(store).SearchAsync(query, vector, limit, null, options, cancellationToken);
        return [.. answer.Hits.Select(h => new ScoredHit(ContentVectors.KeyOf(h.Content), h.Score))];
    }
}

/// <summary>
/// The search set's two halves and the choice of the hybrid's parameters on the tuning half: the fusion (RRF k, the
/// lexical weight) by NDCG@10, then the cosine floor between the nonsense and the real queries of that half.
/// </summary>
public static class SearchTuning
{
    public static readonly double[] RrfKs = [0.5, 1, 2, 5, 10, 20, 30, 60, 100];
    public static readonly double[] LexicalWeights = [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0];

    /// <summary>
    /// Real and nonsense queries each ordered by a hash of their text (FNV-1a over UTF-8, so the same on every
    /// machine and run) and dealt alternately to tuning and reporting.
    /// </summary>
    public static (IReadOnlyList<SearchQuery> Tuning, IReadOnlyList<SearchQuery> Reporting) Split(IReadOnlyList<SearchQuery> queries)
    {
        var tuning = new List<SearchQuery>();
        var reporting = new List<SearchQuery>();
        foreach (var group in new[] { queries.Where(q => !q.Nonsense), queries.Where(q => q.Nonsense) })
        {
            var i = 0;
            foreach (var query in group.OrderBy(q => Fnv1a(q.Query)).ThenBy(q => q.Query, StringComparer.Ordinal))
            {
                (i++ % 2 == 0 ? tuning : reporting).Add(query);
            }
        }
        return (tuning, reporting);
    }

    public static uint Fnv1a(string text)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash = (hash ^ b) * 16777619u;
        }
        return hash;
    }

    /// <summary>What one query's candidates are, computed once so that every grid point only re-fuses them.</summary>
    private sealed record Candidates(SearchQuery Query, IReadOnlyList<SearchHit> Semantic, IReadOnlyList<LexicalHit> Lexical, Dictionary<ContentKey, double> Similarities);

    public static async Task<(HybridSearchOptions Options, string Log)> TuneAsync(
        IEmbeddingGenerator embeddings, IVectorStore store, IReadOnlyList<SearchQuery> tuning, CancellationToken cancellationToken)
    {
        var depth = HybridSearchOptions.Default.Candidates;
        var prepared = new List<Candidates>();
        foreach (var query in tuning)
        {
            var unit = ContentVectors.UnitQuery((await embeddings.EmbedAsync([query.Query], cancellationToken))[0]);
            var semantic = await store.SearchAsync(unit, depth, cancellationToken: cancellationToken);
            var lexical = await store.LexicalSearchAsync(query.Query, depth, cancellationToken: cancellationToken);
            var similarities = semantic.ToDictionary(h => ContentVectors.KeyOf(h.Content), h => h.Score);
            foreach (var item in await store.GetManyAsync([.. lexical.Select(h => ContentVectors.KeyOf(h.Content)).Where(k => !similarities.ContainsKey(k))], cancellationToken))
            {
                similarities[item.Key] = System.Numerics.Tensors.TensorPrimitives.Dot(item.Vector, unit);
            }
            prepared.Add(new Candidates(query, semantic, lexical, similarities));
        }
        var real = prepared.Where(p => !p.Query.Nonsense).ToList();
        var nonsense = prepared.Where(p => p.Query.Nonsense).ToList();

        // The floor: halfway between the best cosine any nonsense query reaches and the least best cosine of a real query.
        var nonsenseTop = nonsense.Count == 0 ? 0 : nonsense.Max(p => p.Semantic.Count == 0 ? 0 : p.Semantic[0].Score);
        var realTop = real.Min(p => p.Semantic.Count == 0 ? 0 : p.Semantic[0].Score);
        var floor = Math.Round((nonsenseTop + realTop) / 2, 2);
        var log = new StringBuilder();
        log.AppendLine(CultureInfo.InvariantCulture,
            $"- floor: best cosine of a tuning nonsense query {nonsenseTop:F3}, least best cosine of a tuning real query {realTop:F3}: floor {floor:F2}");

        var grid = new List<(HybridSearchOptions Options, double Ndcg, double Mrr)>();
        foreach (var k in RrfKs)
        {
            foreach (var weight in LexicalWeights)
            {
                var options = HybridSearchOptions.Default with { RrfK = k, LexicalWeight = weight, Floor = floor };
                var ndcg = new List<double>();
                var mrr = new List<double>();
                foreach (var p in real)
                {
                    var ranked = HybridSearch.Fuse(p.Semantic, p.Lexical, p.Similarities, Evaluation.Cutoff, options).Hits
                        .Select(h => h.Content.ContentId).ToList();
                    ndcg.Add(Metrics.NdcgAt(ranked, p.Query.Relevant, Evaluation.Cutoff));
                    mrr.Add(Metrics.ReciprocalRankAt(ranked, p.Query.Relevant, Evaluation.Cutoff));
                }
                grid.Add((options, ndcg.Average(), mrr.Average()));
            }
        }
        // Best NDCG@10, then MRR; among equals the most conventional fusion (k nearest 60, weight nearest 1).
        var ordered = grid.OrderByDescending(g => Math.Round(g.Ndcg, 4)).ThenByDescending(g => Math.Round(g.Mrr, 4))
            .ThenBy(g => Math.Abs(Math.Log(g.Options.RrfK / 60))).ThenBy(g => Math.Abs(Math.Log(g.Options.LexicalWeight))).ToList();
        log.AppendLine(CultureInfo.InvariantCulture, $"- fusion grid on the tuning half ({real.Count} real queries), best 5 of {grid.Count} (NDCG@10, MRR@10):");
        foreach (var g in ordered.Take(5))
        {
            log.AppendLine(CultureInfo.InvariantCulture, $"  - k {g.Options.RrfK}, lexical weight {g.Options.LexicalWeight}: {g.Ndcg:F3}, {g.Mrr:F3}");
        }
        var conventional = grid.Single(g => g.Options.RrfK == 60 && g.Options.LexicalWeight == 1.0);
        log.AppendLine(CultureInfo.InvariantCulture, $"  - (k 60, weight 1, the textbook RRF: {conventional.Ndcg:F3}, {conventional.Mrr:F3})");
        return (ordered[0].Options, log.ToString());
    }
}

/// <summary>The search part of the harness: the strategies on both halves of the search set, the hybrid tuned on one.</summary>
public static class SearchBench
{
    public static async Task<string> RunAsync(
        IEmbeddingGenerator embeddings, LoadedCatalog demo, IReadOnlyList<(ContentKey, string)> texts, IReadOnlyList<SearchQuery> queries,
        string directory, CancellationToken cancellationToken)
    {
        var (tuning, reporting) = SearchTuning.Split(queries);
        var (tuned, log) = await SearchTuning.TuneAsync(embeddings, demo.Store, tuning, cancellationToken);
        var product = HybridSearchOptions.Default;
        ISearchStrategy[] strategies =
        [
            new SemanticSearch(embeddings, demo.Store),
            new Bm25Search(texts),
            new StoreLexicalSearch(demo.Store),
            new ProductHybridSearch(embeddings, demo.Store, product),
        ];
        if (tuned != product)
        {
            strategies = [.. strategies, new ProductHybridSearch(embeddings, demo.Store, tuned, "hybrid (tuned now)")];
        }
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"- search set split by query hash: tuning {tuning.Count(q => !q.Nonsense)} real + {tuning.Count(q => q.Nonsense)} nonsense, reporting {reporting.Count(q => !q.Nonsense)} real + {reporting.Count(q => q.Nonsense)} nonsense");
        text.Append(log);
        text.AppendLine(CultureInfo.InvariantCulture,
            $"- chosen on tuning: k {tuned.RrfK}, lexical weight {tuned.LexicalWeight}, floor {tuned.Floor}; the product's (HybridSearchOptions.Default): k {product.RrfK}, lexical weight {product.LexicalWeight}, floor {product.Floor}, {product.Candidates} candidates per list{(tuned == product ? " (the same)" : " (DIFFERENT: update the product)")}");
        foreach (var (half, set) in new[] { ("tuning", tuning), ("reporting", reporting) })
        {
            var results = new List<SearchResult>();
            var perQuery = new List<IReadOnlyList<double>>();
            var empty = new List<int>();
            foreach (var strategy in strategies)
            {
                results.Add(await SearchEvaluation.RunAsync(strategy, set, cancellationToken));
                var ndcg = new List<double>();
                var none = 0;
                foreach (var query in set.Where(q => !q.Nonsense))
                {
                    var hits = await strategy.SearchAsync(query.Query, Evaluation.Cutoff, cancellationToken);
                    none += hits.Count == 0 ? 1 : 0;
                    ndcg.Add(Metrics.NdcgAt([.. hits.Select(h => h.Key.ContentId)], query.Relevant, Evaluation.Cutoff));
                }
                perQuery.Add(ndcg);
                empty.Add(none);
            }
            text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"### search, {half} half").AppendLine();
            text.Append(Report.Markdown(results, set.Count(q => !q.Nonsense), set.Count(q => q.Nonsense)));
            text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"#### search, {half} half: real queries answered with nothing, and paired NDCG@10 difference of the product's hybrid").AppendLine()
                .AppendLine("| Strategy | real queries with no answer | hybrid − this strategy, NDCG@10 (paired, 95%) |")
                .AppendLine("|---|---:|---:|");
            var hybrid = perQuery[3];
            for (var s = 0; s < strategies.Length; s++)
            {
                var delta = Confidence.Normal([.. hybrid.Zip(perQuery[s], (a, b) => a - b)]);
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {strategies[s].Name} | {empty[s]} of {hybrid.Count} | {(s == 3 ? "–" : FormattableString.Invariant($"{delta.Mean:+0.000;−0.000;0.000} ± {delta.HalfWidth:F3}"))} |");
            }
        }
        text.Append(await ItemVectorsAsync(embeddings, tuning, reporting, directory, cancellationToken));
        return text.ToString();
    }

    /// <summary>
    /// What an item's vector should be made of. The importer embeds "title. description" as the one chunk. An item
    /// stored through the API is embedded from the texts it is given (in the studio, its body text) and its title and
    /// description may not be in its vector at all; the demo catalog has no body texts, so the description alone stands
    /// in for one. Compared: that, the same plus a "title. description" chunk (the item vector is the mean of its
    /// chunks), title and description as two chunks, and today's single chunk.
    /// </summary>
    private static async Task<string> ItemVectorsAsync(
        IEmbeddingGenerator embeddings, IReadOnlyList<SearchQuery> tuning, IReadOnlyList<SearchQuery> reporting, string directory,
        CancellationToken cancellationToken)
    {
        (string Name, Func<CatalogEntry, string[]> Chunks)[] variants =
        [
            ("\"title. description\" (the importer, today)", e => [$"{e.Title}. {e.Description}"]),
            ("description only (a body text without title)", e => [e.Description]),
            ("description + \"title. description\"", e => [e.Description, $"{e.Title}. {e.Description}"]),
            ("title + description", e => [e.Title, e.Description]),
        ];
        var entries = CatalogImporter.DemoCatalog();
        var text = new StringBuilder();
        text.AppendLine().AppendLine("### search: what item vectors are made of (NDCG@10, tuning half · reporting half)").AppendLine()
            .AppendLine("| Item chunks | semantic | hybrid (product options) |")
            .AppendLine("|---|---:|---:|");
        for (var v = 0; v < variants.Length; v++)
        {
            using var store = new EmbeddedVectorStore(Path.Combine(directory, $"search-variant-{v}.db"), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            await store.InitializeAsync(cancellationToken);
            foreach (var e in entries)
            {
                // Stored as the importer stores (CatalogImporter.ImportAsync), only the chunks differ.
                var chunks = variants[v].Chunks(e);
                var vectors = await embeddings.EmbedAsync(chunks, cancellationToken);
                var now = DateTime.UtcNow;
                await store.UpsertAsync(new ContentRecord(e.ContentType, e.ContentId, e.Title, e.Description, e.Metadata.ToJsonString(), chunks.Length, now, now),
                    vectors, cancellationToken);
            }
            ISearchStrategy[] strategies = [new SemanticSearch(embeddings, store), new ProductHybridSearch(embeddings, store, HybridSearchOptions.Default)];
            var cells = new List<string>();
            foreach (var strategy in strategies)
            {
                var halves = new List<string>();
                foreach (var set in new[] { tuning, reporting })
                {
                    halves.Add((await SearchEvaluation.RunAsync(strategy, set, cancellationToken)).Ndcg.ToString());
                }
                cells.Add(string.Join(" · ", halves));
            }
            text.AppendLine(CultureInfo.InvariantCulture, $"| {variants[v].Name} | {cells[0]} | {cells[1]} |");
        }
        return text.ToString();
    }
}
