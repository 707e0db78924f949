using System.Diagnostics;
using CyberHub.Ai.VectorStore;
using Npgsql;
using NpgsqlTypes;
using Pgvector;

namespace CyberHub.Bench.Vectors;

/// <summary>A fresh PostgreSQL database for one run, one schema per dataset, dropped at the end.</summary>
public sealed class BenchDatabase : IAsyncDisposable
{
    private readonly string _adminConnectionString;
    private readonly string _name = $"bench_vectors_{Guid.NewGuid():N}";

    private BenchDatabase(string adminConnectionString) => _adminConnectionString = adminConnectionString;

    public string ConnectionString => new NpgsqlConnectionStringBuilder(_adminConnectionString) { Database = _name }.ConnectionString;

    public string ServerVersion { get; private set; } = "";

    public static async Task<BenchDatabase> CreateAsync(string adminConnectionString)
    {
        var database = new BenchDatabase(adminConnectionString);
        await ExecuteAsync(adminConnectionString, $"CREATE DATABASE {database._name}");
        await ExecuteAsync(database.ConnectionString, "CREATE EXTENSION IF NOT EXISTS vector");
        // An HNSW build whose graph outgrows maintenance_work_mem slows down many times over; 1M items of 384
        // floats need about 2 GB. The setting is the database's default, so the store's own connections get it.
        await ExecuteAsync(database.ConnectionString, $"ALTER DATABASE {database._name} SET maintenance_work_mem = '4GB'");
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var version = new NpgsqlCommand(
            "SELECT 'PostgreSQL ' || current_setting('server_version') || ', pgvector ' || extversion FROM pg_extension WHERE extname = 'vector'", connection);
        database.ServerVersion = (string)(await version.ExecuteScalarAsync())!;
        return database;
    }

    public async Task<string> CreateSchemaAsync(string schema)
    {
        await ExecuteAsync(ConnectionString, $"CREATE SCHEMA {schema}");
        // Building an HNSW index over a million rows takes minutes, far past the default 30 s command timeout.
        return new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = $"{schema},public", CommandTimeout = 3600 }.ConnectionString;
    }

    /// <summary>Fresh planner statistics, as autovacuum would have gathered them by the time a catalog is searched.</summary>
    public static Task AnalyzeAsync(string connectionString) => ExecuteAsync(connectionString, "ANALYZE content_items");

    /// <summary>
    /// Bulk load: the HNSW index is dropped, the rows an upsert would write are copied in (binary COPY), and the
    /// store's start builds the index again over the whole table (concurrently, waited for here), as one would load a large catalog.
    /// </summary>
    public static async Task<PgLoad> CopyAsync(
        string connectionString, PgVectorStore store, (ContentKey Key, float[] Vector)[] items)
    {
        await using var dataSource = PgVectorStore.BuildDataSource(connectionString);
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var drop = new NpgsqlCommand($"DROP INDEX IF EXISTS {PgVectorStore.HalfIndex}", connection))
        {
            await drop.ExecuteNonQueryAsync();
        }
        var started = Stopwatch.GetTimestamp();
        await using (var rows = await connection.BeginBinaryImportAsync(CopyItems))
        {
            foreach (var (key, vector) in items)
            {
                await CopyRowAsync(rows, key, vector);
            }
            await rows.CompleteAsync();
        }
        await using (var chunks = await connection.BeginBinaryImportAsync(
            "COPY content_chunks (id, content_type, content_id, chunk_index, embedding) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var (key, vector) in items)
            {
                await chunks.StartRowAsync();
                await chunks.WriteAsync(ContentVectors.ChunkId(key, 0), NpgsqlDbType.Text);
                await chunks.WriteAsync(key.ContentType, NpgsqlDbType.Text);
                await chunks.WriteAsync(key.ContentId, NpgsqlDbType.Text);
                await chunks.WriteAsync(0, NpgsqlDbType.Integer);
                await chunks.WriteAsync(new Vector(vector));
            }
            await chunks.CompleteAsync();
        }
        await ForgetVectorSumAsync(connection);
        var copied = Stopwatch.GetElapsedTime(started);
        started = Stopwatch.GetTimestamp();
        await store.InitializeAsync();
        // Over rows, the store builds its index concurrently after start.
        await store.IndexBuilding;
        return new PgLoad(items.Length / copied.TotalSeconds, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>
    /// Unfiltered top-10 searches at a given <c>hnsw.ef_search</c> (the store walks with at least VectorSearch:EfSearch, 100 by default): how recall
    /// and latency trade at this size. Returns latencies in milliseconds and the keys found.
    /// </summary>
    public static async Task<(double[] LatenciesMs, ContentKey[][] Hits)> SearchAtEfAsync(string connectionString, float[][] queries, int efSearch, int warmup)
    {
        await using var dataSource = PgVectorStore.BuildDataSource(connectionString);
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var settings = new NpgsqlCommand(
            $"SET hnsw.ef_search = {efSearch}; SET hnsw.iterative_scan = relaxed_order", connection))
        {
            await settings.ExecuteNonQueryAsync();
        }
        // The store's statement: 40 candidates by half-precision distance through the index, re-ranked exactly.
        await using var search = new NpgsqlCommand($"""
            WITH nearest AS MATERIALIZED (
                SELECT content_type, content_id, embedding FROM content_items
                ORDER BY {PgVectorStore.HalfEmbedding} <=> $1::halfvec({ContentVectors.Dimensions}) LIMIT 40)
            SELECT content_type, content_id FROM nearest ORDER BY embedding <=> $1 LIMIT 10
            """, connection);
        var parameter = new NpgsqlParameter { Value = new Vector(queries[0]) };
        search.Parameters.Add(parameter);
        var latencies = new double[queries.Length - warmup];
        var hits = new ContentKey[queries.Length - warmup][];
        for (var i = 0; i < queries.Length; i++)
        {
            parameter.Value = new Vector(queries[i]);
            var started = Stopwatch.GetTimestamp();
            var found = new List<ContentKey>(10);
            await using (var reader = await search.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    found.Add(new ContentKey(reader.GetString(0), reader.GetString(1)));
                }
            }
            if (i >= warmup)
            {
                latencies[i - warmup] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                hits[i - warmup] = [.. found];
            }
        }
        return (latencies, hits);
    }

    /// <summary>Which access path PostgreSQL picks for a filtered top-10 under the store's settings.</summary>
    public static async Task<string> FilteredPlanAsync(string connectionString, float[] query, string contentType)
    {
        await using var dataSource = PgVectorStore.BuildDataSource(connectionString);
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new("SELECT set_config('hnsw.ef_search', '100', true), set_config('hnsw.iterative_scan', 'relaxed_order', true)"),
                new($"EXPLAIN SELECT content_id FROM content_items WHERE content_type = $1 ORDER BY {PgVectorStore.HalfEmbedding} <=> $2::halfvec({ContentVectors.Dimensions}) LIMIT 40")
                {
                    Parameters = { new() { Value = contentType }, new() { Value = new Vector(query) } },
                },
            },
        };
        var plan = new List<string>();
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            await reader.NextResultAsync();
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }
        }
        var text = string.Join('\n', plan);
        return text.Contains(PgVectorStore.HalfIndex, StringComparison.Ordinal) ? "HNSW, iterative scan"
            : text.Contains("Index Scan", StringComparison.Ordinal) || text.Contains("Bitmap", StringComparison.Ordinal) ? "btree on type + exact sort"
            : "sequential scan + exact sort";
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(_adminConnectionString, $"DROP DATABASE IF EXISTS {_name} WITH (FORCE)");
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// After rows were copied around the store: its sum of the item vectors (<c>item_vector_sum</c>) no longer holds them,
    /// so it is dropped, and the store's next start computes it again from the rows.
    /// </summary>
    internal static async Task ForgetVectorSumAsync(NpgsqlConnection connection)
    {
        await using var forget = new NpgsqlCommand("DO $$ BEGIN IF to_regclass('item_vector_sum') IS NOT NULL THEN DELETE FROM item_vector_sum; END IF; END $$", connection);
        await forget.ExecuteNonQueryAsync();
    }

    /// <summary>The COPY that writes bench items straight into <c>content_items</c> (<see cref="CopyRowAsync"/> writes each row).</summary>
    internal const string CopyItems =
        "COPY content_items (content_type, content_id, title, description, metadata, chunk_count, created_at, updated_at, embedding) FROM STDIN (FORMAT BINARY)";

    /// <summary>One bench item's row of <see cref="CopyItems"/>: the benches' short record for the key, and its vector.</summary>
    internal static async Task CopyRowAsync(NpgsqlBinaryImporter rows, ContentKey key, float[] vector)
    {
        var item = Measure.Item(key);
        await rows.StartRowAsync();
        await rows.WriteAsync(item.ContentType, NpgsqlDbType.Text);
        await rows.WriteAsync(item.ContentId, NpgsqlDbType.Text);
        await rows.WriteAsync(item.Title, NpgsqlDbType.Text);
        await rows.WriteAsync(item.Description, NpgsqlDbType.Text);
        await rows.WriteAsync(item.Metadata, NpgsqlDbType.Jsonb);
        await rows.WriteAsync(item.ChunkCount, NpgsqlDbType.Integer);
        await rows.WriteAsync(item.CreatedAt, NpgsqlDbType.TimestampTz);
        await rows.WriteAsync(item.UpdatedAt, NpgsqlDbType.TimestampTz);
        await rows.WriteAsync(new Vector(vector));
    }
}
