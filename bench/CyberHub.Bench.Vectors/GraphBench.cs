using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberHub.Bench.Vectors;

/// <summary>
/// The item graph (k = 10 nearest neighbours per item) of both stores at one catalog size: the build from scratch, the
/// cost of a write that keeps the graph (insert, vector change, delete) beside the same write with the graph deferred,
/// the two-hop read a recommendation makes (10 items, then their neighbours), and sampled lists against brute force.
/// </summary>
public static class GraphBench
{
    public const string Usage = """
        Usage: dotnet run -c Release --project bench/CyberHub.Bench.Vectors -- graph [options]
          --size 100000        catalog size
          --dataset topics     uniform or topics
          --stores embedded,pgvector
          --writes 30          timed writes of each kind (insert, vector change, delete)
          --samples 200        lists checked against brute force, after the build and after the writes
          --pg CONNSTRING      PostgreSQL admin connection (as for the search benchmark)
        """;

    private const int K = ItemGraph.K;

    public static async Task<int> RunAsync(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }
        if (args.Length % 2 != 0 || values.Keys.Except(["size", "dataset", "stores", "writes", "samples", "pg"]).Any())
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        var size = int.Parse(values.GetValueOrDefault("size", "100000"), CultureInfo.InvariantCulture);
        var datasetName = values.GetValueOrDefault("dataset", "topics");
        var stores = values.GetValueOrDefault("stores", "embedded,pgvector").Split(',');
        var writes = int.Parse(values.GetValueOrDefault("writes", "30"), CultureInfo.InvariantCulture);
        var samples = int.Parse(values.GetValueOrDefault("samples", "200"), CultureInfo.InvariantCulture);
        var pgAdmin = values.GetValueOrDefault("pg") ?? (Environment.GetEnvironmentVariable("CYBERHUB_BENCH_POSTGRES") is { Length: > 0 } env ? env : BenchOptions.DefaultPostgres);

        var started = Stopwatch.StartNew();
        void Progress(string message) => Console.Error.WriteLine($"[{started.Elapsed:mm\\:ss}] {message}");
        var dataset = Dataset.Create(datasetName);
        var items = Enumerable.Range(0, size).Select(i => (Key: Dataset.KeyOf(i), Vector: dataset.Next())).ToArray();
        var extra = Enumerable.Range(0, 4 * writes).Select(_ => dataset.Next()).ToArray();
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Item graph, {size:N0} items ({dataset.Description}), k = {K}; {Environment.ProcessorCount} processors, {Environment.Version}.");
        report.AppendLine();
        report.AppendLine("| store | build from scratch | lists checked | exact | write | graph kept: p50 | p90 | graph deferred: p50 |");
        report.AppendLine("|---|---:|---:|---:|---|---:|---:|---:|");
        var reads = new StringBuilder();

        await using var database = await BenchDatabase.CreateAsync(pgAdmin);
        var directory = Path.Combine(Path.GetTempPath(), $"cyberhub-bench-graph-{Guid.NewGuid():N}");
        try
        {
            foreach (var name in stores)
            {
                IVectorStore store;
                string? pgConnection = null;
                if (name == "embedded")
                {
                    var embedded = new EmbeddedVectorStore(Path.Combine(directory, "vectors.db"), NullLogger.Instance);
                    embedded.Graph.BuildOnStart = false;
                    store = embedded;
                }
                else
                {
                    pgConnection = await database.CreateSchemaAsync("graph");
                    var pg = new PgVectorStore(pgConnection, NullLogger.Instance);
                    pg.Graph.BuildOnStart = false;
                    store = pg;
                }
                await store.InitializeAsync();
                var graph = ItemGraph.Of(store);
                await graph.DeferAsync();
                Progress($"{name}: loading {size:N0} items");
                if (store is PgVectorStore pgStore)
                {
                    await BenchDatabase.CopyAsync(pgConnection!, pgStore, items);
                    await BenchDatabase.AnalyzeAsync(pgConnection!);
                }
                else
                {
                    await Measure.LoadAsync(store, items, parallelism: 1);
                }
                var vectors = items.ToDictionary(i => i.Key, i => i.Vector);

                // Writes with the graph deferred: what the item write alone costs.
                Progress($"{name}: writes with the graph deferred");
                var baseline = await WritesAsync(store, vectors, extra[..(2 * writes)], writes, "base");

                Progress($"{name}: building the graph");
                var build = Stopwatch.StartNew();
                if (!await graph.RebuildAsync())
                {
                    throw new InvalidOperationException("The build did not run.");
                }
                build.Stop();
                var random = new Random(7);
                var (checkedAfterBuild, exactAfterBuild) = await CheckAsync(graph, vectors, vectors.Keys.OrderBy(_ => random.Next()).Take(samples).ToList());

                Progress($"{name}: writes keeping the graph");
                var kept = await WritesAsync(store, vectors, extra[(2 * writes)..], writes, "kept");
                var touched = kept.Touched.Where(vectors.ContainsKey).ToList();
                // The written items, their neighbours (most of which hold them in turn), and a random sample.
                var near = (await graph.NeighboursAsync(touched)).Values.SelectMany(l => l).Select(n => n.Item);
                var sample = vectors.Keys.OrderBy(_ => random.Next()).Take(samples).Concat(touched).Concat(near).Distinct().ToList();
                var (checkedAfterWrites, exactAfterWrites) = await CheckAsync(graph, vectors, sample);

                Progress($"{name}: two-hop reads");
                var (first, second, secondCount) = await ReadsAsync(graph, vectors.Keys.ToArray());

                var buildText = $"{build.Elapsed.TotalSeconds:F1} s";
                var checkText = $"{checkedAfterBuild} + {checkedAfterWrites}";
                var exactText = $"{exactAfterBuild + exactAfterWrites} / {checkedAfterBuild + checkedAfterWrites}";
                foreach (var kind in new[] { "insert", "vector change", "delete" })
                {
                    report.AppendLine(CultureInfo.InvariantCulture,
                        $"| {name} | {buildText} | {checkText} | {exactText} | {kind} | {Ms(kept.Latencies[kind], 50)} | {Ms(kept.Latencies[kind], 90)} | {Ms(baseline.Latencies[kind], 50)} |");
                    (buildText, checkText, exactText) = ("", "", "");
                }
                reads.AppendLine(CultureInfo.InvariantCulture,
                    $"| {name} | {Ms(first, 50)} | {Ms(first, 90)} | {secondCount:F0} | {Ms(second, 50)} | {Ms(second, 90)} |");

                switch (store)
                {
                    case IAsyncDisposable asyncDisposable: await asyncDisposable.DisposeAsync(); break;
                    case IDisposable disposable: disposable.Dispose(); break;
                }
            }
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        report.AppendLine();
        report.AppendLine("`NeighboursAsync`, one call for 10 random items, then one for their neighbours (50 rounds):");
        report.AppendLine();
        report.AppendLine("| store | 10 items p50 | p90 | neighbours asked (mean) | their lists p50 | p90 |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|");
        report.Append(reads);
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Run took {started.Elapsed.TotalMinutes:F1} min; {database.ServerVersion}.");
        Console.Out.Write(report);
        return 0;
    }

    private sealed record WriteTimes(Dictionary<string, double[]> Latencies, List<ContentKey> Touched);

    /// <summary>Inserts of new items, vector changes of existing ones and deletes, each timed alone; keeps <paramref name="vectors"/> in step.</summary>
    private static async Task<WriteTimes> WritesAsync(IVectorStore store, Dictionary<ContentKey, float[]> vectors, float[][] fresh, int count, string prefix)
    {
        var random = new Random(prefix.Length * 31 + count);
        var latencies = new Dictionary<string, double[]> { ["insert"] = new double[count], ["vector change"] = new double[count], ["delete"] = new double[count] };
        var touched = new List<ContentKey>();
        var existing = vectors.Keys.Where(k => k.ContentId.StartsWith("item-", StringComparison.Ordinal)).OrderBy(_ => random.Next()).Take(2 * count).ToArray();
        for (var i = 0; i < count; i++)
        {
            var key = new ContentKey("course", $"{prefix}-{i:D3}");
            var started = Stopwatch.GetTimestamp();
            await store.UpsertAsync(Measure.Item(key), [fresh[i]]);
            latencies["insert"][i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            vectors[key] = fresh[i];
            touched.Add(key);

            var moved = existing[i];
            started = Stopwatch.GetTimestamp();
            await store.UpsertAsync(Measure.Item(moved), [fresh[count + i]]);
            latencies["vector change"][i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            vectors[moved] = fresh[count + i];
            touched.Add(moved);

            var gone = existing[count + i];
            started = Stopwatch.GetTimestamp();
            await store.DeleteAsync(gone);
            latencies["delete"][i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            vectors.Remove(gone);
        }
        return new WriteTimes(latencies, touched);
    }

    /// <summary>
    /// Sampled lists against brute force over every vector: how many were checked and how many are exact (the same
    /// items, similarities within 1e-5; a tie within 1e-5 at the k-th place may go either way).
    /// </summary>
    private static async Task<(int Checked, int Exact)> CheckAsync(IMaintainedItemGraph graph, Dictionary<ContentKey, float[]> vectors, List<ContentKey> sample)
    {
        var lists = await graph.NeighboursAsync(sample);
        var all = vectors.ToArray();
        var exact = 0;
        foreach (var key in sample)
        {
            var query = vectors[key];
            var top = new List<(ContentKey Key, double Score)>(K + 2);
            foreach (var (other, vector) in all)
            {
                if (other == key)
                {
                    continue;
                }
                var score = (double)TensorPrimitives.Dot(query, vector);
                if (top.Count <= K || score > top[^1].Score)
                {
                    top.Add((other, score));
                    top.Sort((a, b) => b.Score.CompareTo(a.Score));
                    if (top.Count > K + 1)
                    {
                        top.RemoveAt(top.Count - 1);
                    }
                }
            }
            if (!lists.TryGetValue(key, out var stored) || stored.Count != K)
            {
                Console.Error.WriteLine($"  {key}: {(stored is null ? "no list" : $"{stored.Count} neighbours")}");
                continue;
            }
            var tie = top[K - 1].Score - top[K].Score < 1e-5;
            var same = tie || top.Take(K).Select(t => t.Key).ToHashSet().SetEquals(stored.Select(n => n.Item));
            var close = stored.Select((n, i) => Math.Abs(n.Similarity - top[i].Score)).Max() < 1e-5;
            if (same && close)
            {
                exact++;
            }
            else
            {
                Console.Error.WriteLine($"  {key}: stored {string.Join(", ", stored.Select(n => $"{n.Item.ContentId}:{n.Similarity:F6}"))}");
                Console.Error.WriteLine($"  {key}: exact  {string.Join(", ", top.Take(K).Select(t => $"{t.Key.ContentId}:{t.Score:F6}"))}");
            }
        }
        return (sample.Count, exact);
    }

    private static async Task<(double[] First, double[] Second, double SecondCount)> ReadsAsync(IMaintainedItemGraph graph, ContentKey[] keys)
    {
        var random = new Random(11);
        const int rounds = 55;
        const int warmup = 5;
        var first = new double[rounds - warmup];
        var second = new double[rounds - warmup];
        var asked = 0.0;
        for (var round = 0; round < rounds; round++)
        {
            var history = Enumerable.Range(0, 10).Select(_ => keys[random.Next(keys.Length)]).ToArray();
            var started = Stopwatch.GetTimestamp();
            var lists = await graph.NeighboursAsync(history);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var next = lists.Values.SelectMany(l => l).Select(n => n.Item).Distinct().ToArray();
            started = Stopwatch.GetTimestamp();
            await graph.NeighboursAsync(next);
            var elapsedSecond = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (round >= warmup)
            {
                first[round - warmup] = elapsed;
                second[round - warmup] = elapsedSecond;
                asked += next.Length;
            }
        }
        return (first, second, asked / (rounds - warmup));
    }

    private static string Ms(double[] values, double percentile)
    {
        var value = Measure.Percentile(values, percentile);
        return value.ToString(value < 10 ? "F2" : "F0", CultureInfo.InvariantCulture) + " ms";
    }
}
