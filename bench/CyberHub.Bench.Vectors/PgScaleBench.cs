using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using CyberHub.Ai.VectorStore;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Pgvector;

namespace CyberHub.Bench.Vectors;

/// <summary>
/// pgvector's HNSW index at scale, the store's index against the previous release's, on one table in one run: recall@10
/// (or at <c>--top</c>) against the exact top 10 (brute force in this process), p50/p99 per beam (<c>hnsw.ef_search</c>) with the two indexes'
/// searches interleaved query by query, build time and size of each index, and the store's own search path.
/// <list type="bullet">
/// <item><c>half</c> (the store's): HNSW over <c>embedding::halfvec(384)</c>, <c>halfvec_cosine_ops</c>; a top 10 takes the
/// 40 nearest by half-precision distance and re-ranks them by the exact distance in the same statement;</item>
/// <item><c>vector</c> (the previous release's): HNSW over <c>embedding vector_cosine_ops</c>, m 16, ef_construction 64,
/// ordered by the exact distance.</item>
/// </list>
/// Data: <c>real</c> as <see cref="IndexBench"/> (real MiniLM embeddings, the rest mixes of two), or <c>topics</c> (1,000
/// seeded clusters, <see cref="Dataset"/>). Each size extends the table of the previous one and builds the indexes again.
/// </summary>
public static class PgScaleBench
{
    public const string Usage = """
        Usage: dotnet run -c Release --project bench/CyberHub.Bench.Vectors -- pg-scale [options]
          --sizes 100000,1000000   catalog sizes, ascending (each extends the previous table; indexes are rebuilt)
          --dataset real           real: MiniLM embeddings and their mixes (as `index`); topics: 1,000 seeded clusters
          --queries 300            measured searches per case (after 100 unmeasured ones)
          --ef-search 40,100,200   beams to measure
          --top 10                 how many nearest a search keeps (recall@top against the exact top). Above 10 (a
                                   recommendation's candidate pool asks 150) the half index's walk takes as many rows as
                                   its beam and keeps the top by exact distance: recall against the beam's cost
          --indexes half,vector    which indexes to build: half (the store's), vector (the previous release's)
          --m 24 --ef-construction 128  the half index's graph parameters (default: the store's)
          --store-ef 40,100        also search through PgVectorStore.SearchAsync with these VectorSearch:EfSearch values
          --pg CONNSTRING          admin connection (default: env CYBERHUB_BENCH_POSTGRES, else CYBERHUB_TEST_POSTGRES)
          --db-prefix bench_pgscale  name prefix of the throwaway database (dropped at the end)
          --attach DBNAME          measure the indexes of a database another run is building (the last size; nothing
                                   copied, built or dropped): the first index's figures while the second one builds
        """;

    private const int Warmup = 100;
    private const int RerankCandidates = 40;
    private const string OldIndex = "bench_vector_idx";

    public static async Task<int> RunAsync(string[] args)
    {
        int[] sizes = [100_000, 1_000_000];
        var datasetName = "real";
        var queryCount = 300;
        int[] efs = [40, 100, 200];
        var top = 10;
        string[] indexes = ["half", "vector"];
        var m = PgVectorStore.GraphM;
        var efConstruction = PgVectorStore.GraphEfConstruction;
        int[] storeEfs = [40, 100];
        var prefix = "bench_pgscale";
        string? attach = null;
        var admin = Environment.GetEnvironmentVariable("CYBERHUB_BENCH_POSTGRES") is { Length: > 0 } bench ? bench
            : Environment.GetEnvironmentVariable("CYBERHUB_TEST_POSTGRES") ?? BenchOptions.DefaultPostgres;
        for (var i = 0; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length)
            {
                Console.Error.WriteLine(Usage);
                return 2;
            }
            var value = args[i + 1];
            int[] Ints() => [.. value.Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))];
            switch (args[i])
            {
                case "--sizes": sizes = Ints(); break;
                case "--dataset": datasetName = value; break;
                case "--queries": queryCount = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--ef-search": efs = Ints(); break;
                case "--top": top = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--indexes": indexes = value.Split(','); break;
                case "--m": m = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--ef-construction": efConstruction = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--store-ef": storeEfs = value == "none" ? [] : Ints(); break;
                case "--pg": admin = value; break;
                case "--db-prefix": prefix = value; break;
                case "--attach": attach = value; break;
                default: Console.Error.WriteLine(Usage); return 2;
            }
        }
        if (datasetName is not ("real" or "topics") || top is < 1 or > 1000 || indexes.Except(["half", "vector"]).Any() || !sizes.SequenceEqual(sizes.Order()))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var clock = Stopwatch.StartNew();
        var total = sizes[^1];
        float[][] vectors;
        float[][] queries;
        string description;
        if (datasetName == "real")
        {
            var (bases, queryTexts) = await IndexBench.RealEmbeddingsAsync(clock);
            var random = new Random(17);
            vectors = new float[total][];
            for (var i = 0; i < total; i++)
            {
                vectors[i] = i < bases.Length ? bases[i] : IndexBench.Mix(bases, random);
            }
            queries = new float[Warmup + queryCount][];
            for (var i = 0; i < queries.Length; i++)
            {
                queries[i] = i - Warmup is var q && q >= 0 && q < queryTexts.Length ? queryTexts[q] : IndexBench.Mix(bases, random);
            }
            description = $"{bases.Length:N0} real MiniLM embeddings, the rest mixes of two (as `index`); queries: " +
                $"{Math.Min(queryTexts.Length, queryCount)} real query texts, the rest mixes";
        }
        else
        {
            var dataset = Dataset.Create("topics");
            vectors = [.. Enumerable.Range(0, total).Select(_ => dataset.Next())];
            queries = [.. Enumerable.Range(0, Warmup + queryCount).Select(_ => dataset.Next())];
            description = dataset.Description;
        }
        Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] {total:N0} vectors, {queries.Length} queries");

        var name = attach ?? $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)];
        var connectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name, CommandTimeout = 0 }.ConnectionString;
        var report = new StringBuilder();
        if (attach is not null)
        {
            Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] exact top {top} of {queryCount} queries by brute force");
            var (allTruth, labTruth) = BruteForce(vectors, total, queries, top);
            var names = indexes.Select(i => i == "half" ? PgVectorStore.HalfIndex : OldIndex).ToArray();
            while (int.Parse(await ScalarAsync(connectionString,
                $"SELECT count(*)::text FROM pg_indexes WHERE indexname IN ({string.Join(", ", names.Select(n => $"'{n}'"))})"), CultureInfo.InvariantCulture) < names.Length)
            {
                // Built in another run's transaction: visible once it commits.
                Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] waiting for {string.Join(", ", names)}");
                await Task.Delay(TimeSpan.FromSeconds(10));
            }
            Emit(report, $"Attached to {attach} ({total:N0} items), load average {LoadAverage()}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
            await SweepAsync(report, connectionString, indexes, efs, storeEfs, queries, allTruth, labTruth, total, top, clock);
            return 0;
        }
        await ExecuteAsync(admin, $"CREATE DATABASE {name}");
        try
        {
            await ExecuteAsync(connectionString, "CREATE EXTENSION IF NOT EXISTS vector");
            // As BenchDatabase: an HNSW build whose graph outgrows maintenance_work_mem slows down many times over.
            await ExecuteAsync(connectionString, $"ALTER DATABASE {name} SET maintenance_work_mem = '4GB'");
            NpgsqlConnection.ClearAllPools();
            await using (var schema = new PgVectorStore(connectionString, NullLogger.Instance))
            {
                schema.Graph.BuildOnStart = false;
                await schema.InitializeAsync();
                await schema.Graph.DeferAsync();
            }
            var server = await ScalarAsync(connectionString,
                "SELECT 'PostgreSQL ' || current_setting('server_version') || ', pgvector ' || (SELECT extversion FROM pg_extension WHERE extname = 'vector') " +
                "|| ', shared_buffers ' || current_setting('shared_buffers') || ', maintenance_work_mem ' || current_setting('maintenance_work_mem') " +
                "|| ', max_parallel_maintenance_workers ' || current_setting('max_parallel_maintenance_workers')");
            Emit(report, $"pgvector at scale: dataset **{datasetName}** ({description}); {queryCount} measured top-{top} queries after {Warmup} unmeasured; " +
                $"{Environment.ProcessorCount} cores, {server}; load average at start {LoadAverage()}.");
            Emit(report, $"Command: `dotnet run -c Release --project bench/CyberHub.Bench.Vectors -- pg-scale {string.Join(' ', args)}`");
            Emit(report, "");

            var loaded = 0;
            foreach (var size in sizes)
            {
                Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] copying items {loaded:N0}..{size:N0}");
                await ExecuteAsync(connectionString, $"DROP INDEX IF EXISTS {PgVectorStore.HalfIndex}; DROP INDEX IF EXISTS {OldIndex}");
                var copyStarted = Stopwatch.GetTimestamp();
                await CopyAsync(connectionString, vectors, loaded, size);
                var copied = Stopwatch.GetElapsedTime(copyStarted);
                await ExecuteAsync(connectionString, "VACUUM ANALYZE content_items");
                loaded = size;

                Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] exact top {top} of {queryCount} queries by brute force");
                var (truth, labTruth) = BruteForce(vectors, size, queries, top);

                Emit(report, $"**{size:N0} items** ({size / copied.TotalSeconds:N0} rows/s copied; table {await SizeAsync(connectionString, "content_items")})");
                Emit(report, "");
                var built = new List<string>();
                foreach (var index in indexes)
                {
                    Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] {size:N0}: building {index}");
                    var ddl = index == "half"
                        ? $"CREATE INDEX {PgVectorStore.HalfIndex} ON content_items USING hnsw ({PgVectorStore.HalfEmbedding} halfvec_cosine_ops) WITH (m = {m}, ef_construction = {efConstruction})"
                        : $"CREATE INDEX {OldIndex} ON content_items USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)";
                    var load = LoadAverage();
                    var started = Stopwatch.GetTimestamp();
                    await ExecuteAsync(connectionString, ddl);
                    var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                    var indexName = index == "half" ? PgVectorStore.HalfIndex : OldIndex;
                    Emit(report, $"- index {Label(index, m, efConstruction)}: built in {seconds:N0} s (load average before {load}), {await SizeAsync(connectionString, indexName)}");
                    built.Add(index);
                }
                await ExecuteAsync(connectionString, "ANALYZE content_items");
                await SweepAsync(report, connectionString, built, efs, storeEfs, queries, truth, labTruth, size, top, clock);
                Emit(report, "");
                Emit(report, $"- {size:N0} done at {clock.Elapsed.TotalMinutes:N1} min, load average {LoadAverage()}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
                Emit(report, "");
            }
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(admin, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        }
        Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] done");
        return 0;
    }

    private static async Task SweepAsync(
        StringBuilder report, string connectionString, IReadOnlyList<string> built, int[] efs, int[] storeEfs, float[][] queries,
        ContentKey[][] truth, ContentKey[][] labTruth, int size, int top, Stopwatch clock)
    {
        Emit(report, "");
        foreach (var index in built)
        {
            Emit(report, $"- plan of a filtered (lab) search, {index}: {await FilteredPlanAsync(connectionString, index, queries[0])}");
        }
        Emit(report, "");
        Emit(report, "| filter | ef_search | " + string.Join(" | ", built.Select(b => $"{b}: recall@{top} | {b}: p50 ms | {b}: p99 ms")) + " |");
        Emit(report, "|---|---:|" + string.Concat(built.Select(_ => "---:|---:|---:|")));
        foreach (var filter in new string?[] { null, "lab" })
        {
            foreach (var ef in efs)
            {
                // A filtered search walks with a beam of at least 100, as the store's does.
                var beam = filter is null ? ef : Math.Max(ef, 100);
                if (filter is not null && ef < 100 && efs.Contains(100))
                {
                    continue;
                }
                Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] {size:N0}: filter {filter ?? "none"}, ef_search {beam}");
                var measured = await InterleavedAsync(connectionString, built, queries, beam, filter, top);
                var exact = filter is null ? truth : labTruth;
                Emit(report, $"| {filter ?? "none"} | {beam} | " + string.Join(" | ", built.Select(b =>
                    $"{Measure.Recall(exact, measured[b].Hits):F3} | {Measure.Percentile(measured[b].Ms, 50):F2} | {Measure.Percentile(measured[b].Ms, 99):F2}")) + " |");
            }
        }
        if (built.Contains("half") && storeEfs.Length > 0 && top == 10)
        {
            Emit(report, "");
            Emit(report, "Through `PgVectorStore.SearchAsync` (records, scores, its own beam and re-ranking; top 10):");
            Emit(report, "");
            Emit(report, "| VectorSearch:EfSearch | filter | recall@10 | p50 ms | p99 ms |");
            Emit(report, "|---:|---|---:|---:|---:|");
            foreach (var ef in storeEfs)
            {
                await using var store = new PgVectorStore(connectionString, NullLogger.Instance) { EfSearch = ef };
                foreach (var filter in new string?[] { null, "lab" })
                {
                    Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] {size:N0}: store, EfSearch {ef}, filter {filter ?? "none"}");
                    var (ms, hits) = await Measure.SearchAsync(store, queries, filter, Warmup);
                    Emit(report, $"| {ef} | {filter ?? "none"} | {Measure.Recall(filter is null ? truth : labTruth, hits):F3} | " +
                        $"{Measure.Percentile(ms, 50):F2} | {Measure.Percentile(ms, 99):F2} |");
                }
            }
        }
    }

    private static async Task<string> FilteredPlanAsync(string connectionString, string index, float[] query)
    {
        await using var dataSource = PgVectorStore.BuildDataSource(connectionString);
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var settings = new NpgsqlCommand("SET hnsw.ef_search = 100; SET hnsw.iterative_scan = relaxed_order", connection))
        {
            await settings.ExecuteNonQueryAsync();
        }
        await using var explain = new NpgsqlCommand("EXPLAIN " + SearchSql(index, "lab", 10, 100), connection)
        {
            Parameters = { new() { Value = new Vector(query) }, new() { Value = "lab", NpgsqlDbType = NpgsqlDbType.Text } },
        };
        var lines = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                lines.Add(reader.GetString(0).Trim());
            }
        }
        return string.Join(" / ", lines.Where(l => l.Contains("Scan", StringComparison.Ordinal) || l.StartsWith("->", StringComparison.Ordinal)).Select(l => l.Split("  (")[0]));
    }

    /// <summary>A top <paramref name="top"/>; above 10 the half index's walk takes <paramref name="efSearch"/> rows (at least the top) to re-rank.</summary>
    private static string SearchSql(string index, string? filter, int top, int efSearch)
    {
        var candidates = top == 10 ? RerankCandidates : Math.Max(top, efSearch);
        var where = filter is null ? "" : "WHERE content_type = $2";
        return index == "half"
            ? $"""
              WITH nearest AS MATERIALIZED (
                  SELECT content_type, content_id, embedding FROM content_items {where}
                  ORDER BY {PgVectorStore.HalfEmbedding} <=> $1::halfvec({ContentVectors.Dimensions}) LIMIT {candidates})
              SELECT content_type, content_id FROM nearest ORDER BY embedding <=> $1 LIMIT {top}
              """
            : $"SELECT content_type, content_id FROM content_items {where} ORDER BY embedding <=> $1 LIMIT {top}";
    }

    private static string Label(string index, int m, int efConstruction) => index == "half"
        ? $"half (halfvec, m {m}, ef_construction {efConstruction}, 40 re-ranked)"
        : "vector (previous release: vector, m 16, ef_construction 64)";

    private static void Emit(StringBuilder report, string line)
    {
        report.AppendLine(line);
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }

    /// <summary>Each query against every index in turn, at one beam: latencies and hits per index.</summary>
    private static async Task<Dictionary<string, (double[] Ms, ContentKey[][] Hits)>> InterleavedAsync(
        string connectionString, IReadOnlyList<string> indexes, float[][] queries, int efSearch, string? filter, int top)
    {
        await using var dataSource = PgVectorStore.BuildDataSource(connectionString);
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var settings = new NpgsqlCommand(
            $"SET hnsw.ef_search = {efSearch}; SET hnsw.iterative_scan = relaxed_order; SET plan_cache_mode = force_custom_plan", connection))
        {
            await settings.ExecuteNonQueryAsync();
        }
        var commands = indexes.ToDictionary(i => i, i => new NpgsqlCommand(SearchSql(i, filter, top, efSearch), connection));
        var results = indexes.ToDictionary(i => i, _ => (Ms: new double[queries.Length - Warmup], Hits: new ContentKey[queries.Length - Warmup][]));
        for (var q = 0; q < queries.Length; q++)
        {
            foreach (var index in q % 2 == 0 ? indexes : indexes.Reverse())
            {
                var command = commands[index];
                command.Parameters.Clear();
                command.Parameters.Add(new NpgsqlParameter { Value = new Vector(queries[q]) });
                if (filter is not null)
                {
                    command.Parameters.Add(new NpgsqlParameter { Value = filter, NpgsqlDbType = NpgsqlDbType.Text });
                }
                var found = new List<ContentKey>(top);
                var started = Stopwatch.GetTimestamp();
                await using (var reader = await command.ExecuteReaderAsync())
                {
                    while (await reader.ReadAsync())
                    {
                        found.Add(new ContentKey(reader.GetString(0), reader.GetString(1)));
                    }
                }
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (q >= Warmup)
                {
                    results[index].Ms[q - Warmup] = elapsed;
                    results[index].Hits[q - Warmup] = [.. found];
                }
            }
        }
        foreach (var command in commands.Values)
        {
            await command.DisposeAsync();
        }
        return results;
    }

    /// <summary>The exact top <paramref name="top"/> of every measured query over the first <paramref name="size"/> items: unfiltered and of type lab.</summary>
    private static (ContentKey[][] All, ContentKey[][] Lab) BruteForce(float[][] vectors, int size, float[][] queries, int top)
    {
        var all = new ContentKey[queries.Length - Warmup][];
        var lab = new ContentKey[queries.Length - Warmup][];
        Parallel.For(Warmup, queries.Length, q =>
        {
            var any = new PriorityQueue<int, float>();
            var labs = new PriorityQueue<int, float>();
            for (var i = 0; i < size; i++)
            {
                var score = TensorPrimitives.Dot(vectors[i], queries[q]);
                Offer(any, i, score, top);
                if (i % 10 == 0)
                {
                    Offer(labs, i, score, top);
                }
            }
            all[q - Warmup] = [.. any.UnorderedItems.Select(e => Dataset.KeyOf(e.Element))];
            lab[q - Warmup] = [.. labs.UnorderedItems.Select(e => Dataset.KeyOf(e.Element))];
        });
        return (all, lab);
    }

    private static void Offer(PriorityQueue<int, float> heap, int item, float score, int top)
    {
        if (heap.Count < top)
        {
            heap.Enqueue(item, score);
        }
        else if (heap.TryPeek(out _, out var floor) && score > floor)
        {
            heap.DequeueEnqueue(item, score);
        }
    }

    /// <summary>Rows as an upsert writes them (single-chunk items; no chunk rows: no search reads them), by binary COPY.</summary>
    private static async Task CopyAsync(string connectionString, float[][] vectors, int from, int to)
    {
        await using var dataSource = PgVectorStore.BuildDataSource(connectionString);
        await using var connection = await dataSource.OpenConnectionAsync();
        // The import is disposed before the connection runs anything else: until then the connection is in the COPY.
        await using (var rows = await connection.BeginBinaryImportAsync(BenchDatabase.CopyItems))
        {
            for (var i = from; i < to; i++)
            {
                await BenchDatabase.CopyRowAsync(rows, Dataset.KeyOf(i), vectors[i]);
            }
            await rows.CompleteAsync();
        }
        await BenchDatabase.ForgetVectorSumAsync(connection);
    }

    private static async Task<string> SizeAsync(string connectionString, string relation) =>
        await ScalarAsync(connectionString, $"SELECT pg_size_pretty(pg_relation_size('{relation}'))");

    private static async Task<string> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync();
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
