using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CyberHub.Ai.VectorStore;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Pgvector;

namespace CyberHub.Bench.Vectors;

/// <summary>
/// What the pgvector store's searches read: the previous statements, which carried every candidate's record (title,
/// description, metadata as text, ...) through the re-ranking or the scoring, against the store's own, which rank by key
/// and distance (or score) and read the records of the rows they keep only. Both run on one table of catalog-sized
/// records (a description of about 330 characters, two of its words from a vocabulary of 4,000 that lexical queries use and metadata as in the demo catalog), query by query interleaved,
/// each in the store's transaction with its settings; per case p50/p99 and the shared buffers one search touches.
/// </summary>
public static class PgReadBench
{
    public const string Usage = """
        Usage: dotnet run -c Release --project bench/CyberHub.Bench.Vectors -- pg-read [options]
          --size 100000            catalog size (topics dataset, 10% of type lab)
          --queries 200            measured searches per case and statement (after 20 unmeasured ones)
          --only catalog           only the cases whose name starts so (top, catalog, recommendation)
          --pg CONNSTRING          admin connection (default: env CYBERHUB_BENCH_POSTGRES, else CYBERHUB_TEST_POSTGRES)
        """;

    private const int Warmup = 20;
    private const int EfSearch = PgVectorStore.DefaultEfSearch;
    private const string RecordColumns = "content_type, content_id, title, description, metadata::text, chunk_count, created_at, updated_at, created_by";

    private static readonly string[] Words =
    [
        "network", "firewall", "packet", "exploit", "injection", "phishing", "malware", "forensics", "encryption", "certificate",
        "password", "token", "session", "cookie", "browser", "kernel", "memory", "overflow", "privilege", "escalation",
        "container", "cloud", "identity", "audit", "incident", "response", "threat", "hunting", "detection", "logging",
        "wireless", "protocol", "scanner", "payload", "reverse", "engineering", "binary", "script", "defence", "policy",
    ];

    // Words of a catalog's own vocabulary, each in a few dozen descriptions at 100k items: what a lexical query matches.
    private static readonly string[] RareWords = [.. Enumerable.Range(0, 4000).Select(i => "z" + (char)('a' + i % 26) + (char)('a' + i / 26 % 26) + (char)('a' + i / 676))];

    private static readonly string[] Topics = ["network-security", "web-security", "cryptography", "forensics", "cloud-security", "malware-analysis"];
    private static readonly string[] Levels = ["beginner", "intermediate", "advanced"];

    private sealed record Case(string Name, int Limit, string? Type, int Excluded, bool WithVectors, bool Lexical = false);

    public static async Task<int> RunAsync(string[] args)
    {
        var size = 100_000;
        var queryCount = 200;
        string? only = null;
        var admin = Environment.GetEnvironmentVariable("CYBERHUB_BENCH_POSTGRES") is { Length: > 0 } bench ? bench
            : Environment.GetEnvironmentVariable("CYBERHUB_TEST_POSTGRES") ?? BenchOptions.DefaultPostgres;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--size": size = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--queries": queryCount = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--pg": admin = args[i + 1]; break;
                case "--only": only = args[i + 1]; break;
                default: Console.Error.WriteLine(Usage); return 2;
            }
        }
        if (args.Length % 2 != 0)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var clock = Stopwatch.StartNew();
        var name = $"bench_pgread_{Guid.NewGuid():N}";
        var connectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name, CommandTimeout = 0 }.ConnectionString;
        await ExecuteAsync(admin, $"CREATE DATABASE {name}");
        try
        {
            await ExecuteAsync(connectionString, "CREATE EXTENSION IF NOT EXISTS vector");
            await ExecuteAsync(connectionString, $"ALTER DATABASE {name} SET maintenance_work_mem = '1GB'");
            NpgsqlConnection.ClearAllPools();
            var dataset = Dataset.Create("topics");
            var random = new Random(41);
            await using var store = new PgVectorStore(connectionString, NullLogger.Instance);
            store.Graph.BuildOnStart = false;
            await store.InitializeAsync();
            await store.Graph.DeferAsync();

            Progress(clock, $"copying {size:N0} items");
            await ExecuteAsync(connectionString, $"DROP INDEX {PgVectorStore.HalfIndex}");
            await using (var dataSource = PgVectorStore.BuildDataSource(connectionString))
            await using (var connection = await dataSource.OpenConnectionAsync())
            await using (var rows = await connection.BeginBinaryImportAsync(BenchDatabase.CopyItems))
            {
                for (var i = 0; i < size; i++)
                {
                    await CopyRowAsync(rows, Dataset.KeyOf(i), dataset.Next(), random);
                }
                await rows.CompleteAsync();
            }
            await using (var dataSource = PgVectorStore.BuildDataSource(connectionString))
            await using (var connection = await dataSource.OpenConnectionAsync())
            {
                await BenchDatabase.ForgetVectorSumAsync(connection);
            }
            // The store's own start over a catalog without its index: the concurrent build after start.
            Progress(clock, "building the index (the store's start, concurrently)");
            var started = Stopwatch.GetTimestamp();
            await store.InitializeAsync();
            await store.IndexBuilding;
            var build = Stopwatch.GetElapsedTime(started);
            await ExecuteAsync(connectionString, "VACUUM ANALYZE content_items");

            var server = await ScalarAsync(connectionString,
                "SELECT 'PostgreSQL ' || current_setting('server_version') || ', pgvector ' || (SELECT extversion FROM pg_extension WHERE extname = 'vector') " +
                "|| ', shared_buffers ' || current_setting('shared_buffers')");
            var table = await ScalarAsync(connectionString,
                "SELECT pg_size_pretty(pg_relation_size('content_items')) || ' heap, ' || pg_size_pretty(pg_total_relation_size('content_items') - pg_relation_size('content_items') - pg_indexes_size('content_items')) || ' TOAST, ' " +
                "|| (SELECT round(avg(pg_column_size(c.*)))::text FROM (SELECT * FROM content_items LIMIT 1000) AS c) || ' bytes a row'");
            Console.Out.WriteLine($"pg-read: {size:N0} items (topics dataset, records of catalog size), table {table}; {Environment.ProcessorCount} cores, {server}; " +
                $"load average at start {LoadAverage()}; index built concurrently by the store's start in {build.TotalSeconds:N0} s.");
            Console.Out.WriteLine($"Command: `dotnet run -c Release --project bench/CyberHub.Bench.Vectors -- pg-read {string.Join(' ', args)}`");
            Console.Out.WriteLine();
            Console.Out.WriteLine("| search | statement | p50 ms | p99 ms | mean ms | shared buffers per search | same answers |");
            Console.Out.WriteLine("|---|---|---:|---:|---:|---:|---:|");

            Case[] cases =
            [
                new("top 10", 10, null, 0, false),
                new("catalog search (50)", 50, null, 0, false),
                new("catalog search (50), lab", 50, "lab", 0, false),
                new("recommendation pool (150 with vectors, 10 excluded)", 150, null, 10, true),
            ];
            if (only is not null)
            {
                cases = [.. cases.Where(c => c.Name.StartsWith(only, StringComparison.Ordinal))];
            }
            await using var searchSource = PgVectorStore.BuildDataSource(connectionString);
            foreach (var searchCase in cases)
            {
                Progress(clock, searchCase.Name);
                var queries = Enumerable.Range(0, Warmup + queryCount).Select(_ => dataset.Next()).ToArray();
                var words = Enumerable.Range(0, queries.Length).Select(_ => new[] { RareWords[random.Next(RareWords.Length)], RareWords[random.Next(RareWords.Length)] }).ToArray();
                var excluded = Enumerable.Range(0, queries.Length)
                    .Select(_ => Enumerable.Range(0, searchCase.Excluded).Select(_ => Dataset.KeyOf(random.Next(size))).Distinct().ToArray()).ToArray();
                var statements = new[] { ("previous", Statement(searchCase, previous: true)), ("store's", Statement(searchCase, previous: false)) };
                var ms = statements.ToDictionary(s => s.Item1, _ => new double[queryCount]);
                var answers = statements.ToDictionary(s => s.Item1, _ => new string[queryCount]);
                var buffers = statements.ToDictionary(s => s.Item1, _ => 0L);
                await using var connection = await searchSource.OpenConnectionAsync();
                for (var q = 0; q < queries.Length; q++)
                {
                    foreach (var (label, sql) in q % 2 == 0 ? statements : Enumerable.Reverse(statements))
                    {
                        var begun = Stopwatch.GetTimestamp();
                        var answer = await RunAsync(connection, searchCase, sql, queries[q], words[q], excluded[q]);
                        var elapsed = Stopwatch.GetElapsedTime(begun).TotalMilliseconds;
                        if (q >= Warmup)
                        {
                            ms[label][q - Warmup] = elapsed;
                            answers[label][q - Warmup] = answer;
                        }
                    }
                }
                // Buffers: EXPLAIN (ANALYZE, BUFFERS) of the first 20 measured queries, averaged.
                const int explained = 20;
                foreach (var (label, sql) in statements)
                {
                    for (var q = Warmup; q < Warmup + explained; q++)
                    {
                        buffers[label] += await BuffersAsync(connection, searchCase, sql, queries[q], words[q], excluded[q]);
                    }
                }
                foreach (var (label, _) in statements)
                {
                    var same = Enumerable.Range(0, queryCount).Count(q => answers[label][q] == answers["previous"][q]);
                    Console.Out.WriteLine($"| {searchCase.Name} | {label} | {Measure.Percentile(ms[label], 50):F2} | {Measure.Percentile(ms[label], 99):F2} | " +
                        $"{ms[label].Average():F2} | {buffers[label] / (double)explained:N0} | {same}/{queryCount} |");
                }
            }
            Console.Out.WriteLine();
            Console.Out.WriteLine($"Done in {clock.Elapsed.TotalMinutes:N1} min, load average {LoadAverage()}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(admin, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        }
        return 0;
    }

    /// <summary>The store's statement for the case, or the previous release's (records carried through the re-ranking or the scoring).</summary>
    private static string Statement(Case searchCase, bool previous)
    {
        if (searchCase.Lexical)
        {
            return previous ? PreviousLexicalSql : PgLexicalIndex.Search(RecordColumns);
        }
        if (!previous)
        {
            return PgVectorStore.NearestSql(searchCase.Type is not null, searchCase.Excluded > 0, searchCase.WithVectors, halfIndex: true);
        }
        var conditions = new List<string>();
        if (searchCase.Type is not null)
        {
            conditions.Add("content_type = $3");
        }
        if (searchCase.Excluded > 0)
        {
            conditions.Add("NOT EXISTS (SELECT FROM unnest($4::text[], $5::text[]) AS x(content_type, content_id) " +
                "WHERE x.content_type = i.content_type AND x.content_id = i.content_id)");
        }
        var where = conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions);
        return $"""
            WITH nearest AS MATERIALIZED (
                SELECT {RecordColumns}, embedding <=> $1 AS distance{(searchCase.WithVectors ? ", embedding" : "")} FROM content_items AS i
                {where}
                ORDER BY {PgVectorStore.HalfEmbedding} <=> $1::halfvec({ContentVectors.Dimensions}) LIMIT $2)
            SELECT * FROM nearest ORDER BY distance LIMIT $6
            """;
    }

    /// <summary>The lexical search before this change: the records grouped with every match.</summary>
    private static readonly string PreviousLexicalSql = $"""
        WITH words AS (
            SELECT p.q FROM unnest($1::text[]) AS t(word), LATERAL plainto_tsquery('english'::regconfig, t.word) AS p(q) WHERE numnode(p.q) > 0),
        weighted AS (
            SELECT w.q, d.df FROM words AS w,
                LATERAL (SELECT count(*) AS df FROM (SELECT 1 FROM content_items WHERE search_document @@ w.q LIMIT {PgLexicalIndex.MaxDocumentFrequency}) AS m) AS d
            WHERE d.df > 0),
        items AS (SELECT CASE WHEN count(*) < {PgLexicalIndex.MaxDocumentFrequency} THEN count(*)::float8
                              ELSE greatest(count(*), (SELECT reltuples FROM pg_class WHERE oid = 'content_items'::regclass))::float8 END AS n
                  FROM (SELECT 1 FROM content_items LIMIT {PgLexicalIndex.MaxDocumentFrequency}) AS c),
        terms AS (SELECT w.q, ln(1.0 + (c.n - w.df + 0.5) / (w.df + 0.5))::float8 AS idf FROM weighted AS w, items AS c)
        SELECT {RecordColumns}, sum(t.idf * ts_rank(i.search_document, t.q, 1)::float8) AS score,
               count(*) = (SELECT count(*) FROM words) AS all_terms
        FROM content_items AS i JOIN terms AS t ON i.search_document @@ t.q
        WHERE ($2::text IS NULL OR i.content_type = $2)
        GROUP BY i.content_type, i.content_id
        ORDER BY score DESC, i.content_type, i.content_id
        LIMIT $3
        """;

    /// <summary>One search as the store runs it (its transaction and settings); the answer's keys, in order.</summary>
    private static async Task<string> RunAsync(NpgsqlConnection connection, Case searchCase, string sql, float[] query, string[] words, ContentKey[] excluded)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        await using var batch = Batch(connection, transaction, searchCase, sql, query, words, excluded);
        var keys = new List<string>();
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            if (!searchCase.Lexical)
            {
                await reader.NextResultAsync();
            }
            while (await reader.ReadAsync())
            {
                keys.Add(reader.GetString(0) + ":" + reader.GetString(1));
                if (searchCase.WithVectors)
                {
                    _ = reader.GetFieldValue<Vector>(10);
                }
            }
        }
        await transaction.CommitAsync();
        return string.Join(',', keys);
    }

    /// <summary>The shared buffers (hit and read) the search's plan touched, from EXPLAIN (ANALYZE, BUFFERS).</summary>
    private static async Task<long> BuffersAsync(NpgsqlConnection connection, Case searchCase, string sql, float[] query, string[] words, ContentKey[] excluded)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        await using var batch = Batch(connection, transaction, searchCase, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, query, words, excluded);
        string json;
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            if (!searchCase.Lexical)
            {
                await reader.NextResultAsync();
            }
            await reader.ReadAsync();
            json = reader.GetString(0);
        }
        await transaction.RollbackAsync();
        var plan = JsonDocument.Parse(json).RootElement[0].GetProperty("Plan");
        return plan.GetProperty("Shared Hit Blocks").GetInt64() + plan.GetProperty("Shared Read Blocks").GetInt64();
    }

    private static NpgsqlBatch Batch(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Case searchCase, string sql, float[] query, string[] words, ContentKey[] excluded)
    {
        var batch = new NpgsqlBatch(connection, transaction);
        if (searchCase.Lexical)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(sql)
            {
                Parameters =
                {
                    new() { Value = words, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
                    new() { Value = (object?)searchCase.Type ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                    new() { Value = (long)searchCase.Limit },
                },
            });
            return batch;
        }
        var fetch = searchCase.Limit + excluded.Length;
        var candidates = PgVectorStore.RerankCandidates(fetch);
        var efSearch = Math.Clamp(Math.Max(fetch * 2, candidates), EfSearch, 1000);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(PgVectorStore.SearchSettingsSql(exactScan: false))
        {
            Parameters = { new() { Value = efSearch.ToString(CultureInfo.InvariantCulture) } },
        });
        batch.BatchCommands.Add(new NpgsqlBatchCommand(sql)
        {
            Parameters =
            {
                new() { Value = new Vector(query) },
                new() { Value = (long)candidates },
                new() { Value = (object?)searchCase.Type ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = excluded.Select(k => k.ContentType).ToArray() },
                new() { Value = excluded.Select(k => k.ContentId).ToArray() },
                new() { Value = (long)searchCase.Limit },
            },
        });
        return batch;
    }

    /// <summary>A row of catalog size: a title of a few words, a description of about 330 characters, two of its words from a vocabulary of 4,000 that lexical queries use, metadata as the demo catalog's.</summary>
    private static async Task CopyRowAsync(NpgsqlBinaryImporter rows, ContentKey key, float[] vector, Random random)
    {
        string Sentence(int count) => string.Join(' ', Enumerable.Range(0, count).Select(_ => Words[random.Next(Words.Length)]));
        var title = $"{char.ToUpperInvariant(Words[random.Next(Words.Length)][0])}{Sentence(4)[1..]}";
        var description = "";
        while (description.Length < 300)
        {
            description += Sentence(8) + ". ";
        }
        description += $"Covers {RareWords[random.Next(RareWords.Length)]} and {RareWords[random.Next(RareWords.Length)]}.";
        var metadata = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["topic"] = Topics[random.Next(Topics.Length)],
            ["level"] = Levels[random.Next(Levels.Length)],
            ["prerequisites"] = random.Next(3) == 0 ? new[] { $"course:{Dataset.KeyOf(random.Next(1000)).ContentId}" } : Array.Empty<string>(),
            ["duration_minutes"] = 30 * random.Next(1, 20),
        });
        var now = DateTime.UtcNow;
        await rows.StartRowAsync();
        await rows.WriteAsync(key.ContentType, NpgsqlDbType.Text);
        await rows.WriteAsync(key.ContentId, NpgsqlDbType.Text);
        await rows.WriteAsync(title, NpgsqlDbType.Text);
        await rows.WriteAsync(description.TrimEnd(), NpgsqlDbType.Text);
        await rows.WriteAsync(metadata, NpgsqlDbType.Jsonb);
        await rows.WriteAsync(1, NpgsqlDbType.Integer);
        await rows.WriteAsync(now, NpgsqlDbType.TimestampTz);
        await rows.WriteAsync(now, NpgsqlDbType.TimestampTz);
        await rows.WriteAsync(new Vector(vector));
    }

    private static void Progress(Stopwatch clock, string message) => Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] {message}");

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

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
}
