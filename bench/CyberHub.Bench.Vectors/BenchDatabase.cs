using CyberHub.Ai.VectorStore;
using Npgsql;
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
        return new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = $"{schema},public" }.ConnectionString;
    }

    /// <summary>Fresh planner statistics, as autovacuum would have gathered them by the time a catalog is searched.</summary>
    public static Task AnalyzeAsync(string connectionString) => ExecuteAsync(connectionString, "ANALYZE content_items");

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
                new("EXPLAIN SELECT content_id FROM content_items WHERE content_type = $1 ORDER BY embedding <=> $2 LIMIT 10")
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
        return text.Contains("content_items_embedding_idx", StringComparison.Ordinal) ? "HNSW, iterative scan"
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
}
