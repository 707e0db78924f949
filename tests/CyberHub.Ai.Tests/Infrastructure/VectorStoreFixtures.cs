using System.Collections.Concurrent;
using CyberHub.Ai.VectorStore;
using CyberHub.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace CyberHub.Ai.Tests.Infrastructure;

/// <summary>Hands out fresh, initialised, empty stores of one backend and cleans them all up at the end.</summary>
public abstract class VectorStoreFixture : IAsyncLifetime
{
    protected static async Task<IReadOnlyList<string>> FirstColumnAsync(System.Data.Common.DbCommand command)
    {
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetString(0));
        }
        return values;
    }

    private readonly ConcurrentBag<IVectorStore> _stores = [];

    /// <summary>A new empty store with storage of its own.</summary>
    public abstract Task<IVectorStore> CreateStoreAsync();

    /// <summary>A second instance over the same storage as <paramref name="store"/>, initialised.</summary>
    public abstract Task<IVectorStore> ReopenAsync(IVectorStore store);

    /// <summary>The chunk ids stored for an item, read straight from the backing tables.</summary>
    public abstract Task<IReadOnlyList<string>> StoredChunkIdsAsync(IVectorStore store, ContentKey key);

    /// <summary>Runs <paramref name="sql"/> straight on the store's storage (to give it the shape an earlier version left).</summary>
    public abstract Task ExecuteSqlAsync(IVectorStore store, string sql);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await Release(store);
        }
    }

    protected async Task<T> Track<T>(T store) where T : IVectorStore
    {
        _stores.Add(store);
        await store.InitializeAsync();
        return store;
    }

    protected static async ValueTask Release(IVectorStore store)
    {
        switch (store)
        {
            case IAsyncDisposable asyncDisposable: await asyncDisposable.DisposeAsync(); break;
            case IDisposable disposable: disposable.Dispose(); break;
        }
    }
}

/// <summary>
/// Embedded stores that search every catalog, however small, through the approximate index (the service only from
/// <see cref="EmbeddedVectorStore.DefaultExactScanBelow"/> items): the shared suite then checks the index's answers.
/// </summary>
public sealed class EmbeddedIndexedStoreFixture : EmbeddedStoreFixture
{
    public EmbeddedIndexedStoreFixture() : base(exactScanBelow: 0)
    {
    }
}

public class EmbeddedStoreFixture : VectorStoreFixture
{
    private readonly int _exactScanBelow;

    public EmbeddedStoreFixture() : this(EmbeddedVectorStore.DefaultExactScanBelow)
    {
    }

    protected EmbeddedStoreFixture(int exactScanBelow) => _exactScanBelow = exactScanBelow;

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", "vectors-" + Guid.NewGuid().ToString("N"));

    public override Task<IVectorStore> CreateStoreAsync() =>
        Open(Path.Combine(_directory, Guid.NewGuid().ToString("N"), "vectors.db"));

    public override Task<IVectorStore> ReopenAsync(IVectorStore store) => Open(((EmbeddedVectorStore)store).Path);

    public override async Task<IReadOnlyList<string>> StoredChunkIdsAsync(IVectorStore store, ContentKey key)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = ((EmbeddedVectorStore)store).Path, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM content_chunks WHERE content_type = $type AND content_id = $id ORDER BY chunk_index";
        command.Parameters.AddWithValue("$type", key.ContentType);
        command.Parameters.AddWithValue("$id", key.ContentId);
        return await FirstColumnAsync(command);
    }

    public override async Task ExecuteSqlAsync(IVectorStore store, string sql)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = ((EmbeddedVectorStore)store).Path, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private async Task<IVectorStore> Open(string path) =>
        await Track(new EmbeddedVectorStore(path, NullLogger.Instance) { ExactScanBelow = _exactScanBelow });
}

/// <summary>
/// PostgreSQL from <c>CYBERHUB_TEST_POSTGRES</c> (set by scripts/test.sh): one fresh database per fixture, one
/// schema per store, the database dropped at the end. Without the variable these tests fail with a message
/// saying how to provide it: they never pass silently without the database.
/// </summary>
public sealed class PgVectorStoreFixture : VectorStoreFixture
{
    private readonly ConcurrentDictionary<IVectorStore, string> _connectionStrings = new();
    private readonly ThrowawayDatabase _database = new("ai_test");
    private string _databaseConnectionString = "";
    private int _schemas;

    public override async Task InitializeAsync()
    {
        _databaseConnectionString = await _database.CreateAsync();
        // In public, so that every store's schema sees the type through its search path.
        await ExecuteAsync(_databaseConnectionString, "CREATE EXTENSION IF NOT EXISTS vector");
    }

    public override async Task<IVectorStore> CreateStoreAsync() => await Open(await NewSchemaAsync());

    /// <summary>A store in a schema of its own whose searches walk the HNSW index with at least this beam.</summary>
    public async Task<PgVectorStore> CreateStoreAsync(int efSearch)
    {
        var connectionString = await NewSchemaAsync();
        var store = await Track(new PgVectorStore(connectionString, NullLogger.Instance) { EfSearch = efSearch });
        _connectionStrings[store] = connectionString;
        return store;
    }

    /// <summary>A store with a single pooled connection: every call uses the connection the previous one used.</summary>
    public async Task<PgVectorStore> CreateSingleConnectionStoreAsync()
    {
        var connectionString = await NewSchemaAsync() + ";Maximum Pool Size=1";
        var store = await Track(new PgVectorStore(connectionString, NullLogger.Instance));
        _connectionStrings[store] = connectionString;
        return store;
    }

    private async Task<string> NewSchemaAsync()
    {
        var schema = $"store_{Interlocked.Increment(ref _schemas)}";
        await ExecuteAsync(_databaseConnectionString, $"CREATE SCHEMA {schema}");
        return new NpgsqlConnectionStringBuilder(_databaseConnectionString) { SearchPath = $"{schema},public" }.ConnectionString;
    }

    public override Task<IVectorStore> ReopenAsync(IVectorStore store) => Open(_connectionStrings[store]);

    /// <summary>A second instance over the same schema as <paramref name="store"/>, made by <paramref name="open"/> from its connection string, initialised.</summary>
    public async Task<PgVectorStore> ReopenAsync(IVectorStore store, Func<string, PgVectorStore> open)
    {
        var connectionString = _connectionStrings[store];
        var reopened = await Track(open(connectionString));
        _connectionStrings[reopened] = connectionString;
        return reopened;
    }

    public override async Task<IReadOnlyList<string>> StoredChunkIdsAsync(IVectorStore store, ContentKey key)
    {
        await using var connection = new NpgsqlConnection(_connectionStrings[store]);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT id FROM content_chunks WHERE content_type = $1 AND content_id = $2 ORDER BY chunk_index", connection)
        {
            Parameters = { new() { Value = key.ContentType }, new() { Value = key.ContentId } },
        };
        return await FirstColumnAsync(command);
    }

    public override Task ExecuteSqlAsync(IVectorStore store, string sql) => ExecuteAsync(_connectionStrings[store], sql);

    /// <summary>A new connection (open, not pooled with the store's) to the store's schema.</summary>
    public async Task<NpgsqlConnection> OpenConnectionAsync(IVectorStore store)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_connectionStrings[store]) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>The first column (as text) of <paramref name="sql"/>'s rows, run straight on the store's schema.</summary>
    public async Task<IReadOnlyList<string>> QueryAsync(IVectorStore store, string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionStrings[store]);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await FirstColumnAsync(command);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _database.DropAsync();
    }

    private async Task<IVectorStore> Open(string connectionString)
    {
        var store = await Track(new PgVectorStore(connectionString, NullLogger.Instance));
        _connectionStrings[store] = connectionString;
        return store;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>Seeded synthetic vectors and catalog records for vector store tests.</summary>
public static class SyntheticContent
{
    public static readonly DateTime Created = new DateTime(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc).AddTicks(1_234_567);

    /// <summary>A direction uniform on the unit sphere.</summary>
    public static float[] UnitVector(Random random) => Normalise(Gaussian(random));

    public static float[][] Chunks(Random random, int count) => Enumerable.Range(0, count).Select(_ => UnitVector(random)).ToArray();

    public static ContentRecord Record(string type, string id, string? title = null, string metadata = """{"level":"beginner","tags":["web"]}""") =>
        new(type, id, title ?? $"{type} {id}", $"About {id}", metadata, 1, Created, Created.AddHours(1));

    /// <summary>Upserts one single-chunk item per (type, id), several at a time; returns the item vectors.</summary>
    public static async Task<Dictionary<ContentKey, float[]>> SeedAsync(IVectorStore store, IEnumerable<ContentKey> keys, Topics topics)
    {
        var items = keys.ToDictionary(k => k, _ => topics.Next());
        await SeedAsync(store, items);
        return items;
    }

    /// <summary>
    /// As <see cref="SeedAsync(IVectorStore, IEnumerable{ContentKey}, Topics)"/>. A thousand items or more go in as a bulk
    /// import does: the item graph deferred, then built once.
    /// </summary>
    public static async Task SeedAsync(IVectorStore store, IReadOnlyDictionary<ContentKey, float[]> items)
    {
        var graph = items.Count >= 1000 ? ItemGraph.TryOf(store) : null;
        if (graph is not null)
        {
            await graph.DeferAsync();
        }
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (item, ct) => await store.UpsertAsync(Record(item.Key.ContentType, item.Key.ContentId), [item.Value], ct));
        if (graph is not null)
        {
            await graph.RebuildAsync();
        }
    }

    /// <summary>The exact top-k by cosine over <paramref name="vectors"/>, best first.</summary>
    public static List<ContentKey> ExactTop(IReadOnlyDictionary<ContentKey, float[]> vectors, float[] query, int k, Func<ContentKey, bool>? where = null) =>
        vectors.Where(p => where?.Invoke(p.Key) ?? true)
            .OrderByDescending(p => Dot(p.Value, query))
            .Take(k).Select(p => p.Key).ToList();

    public static double Dot(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum();

    internal static float[] Gaussian(Random random) => Enumerable.Range(0, ContentVectors.Dimensions)
        .Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))
        .ToArray();

    internal static float[] Normalise(float[] vector)
    {
        var norm = (float)Math.Sqrt(vector.Sum(v => (double)v * v));
        return vector.Select(v => v / norm).ToArray();
    }
}

/// <summary>
/// Unit vectors scattered around seeded topic centres, the way sentence embeddings cluster by subject (nearest
/// neighbours at a cosine near 0.65). Uniform random directions in 384 dimensions are all nearly orthogonal, so
/// they have no meaningful neighbours and are a poor stand-in for an approximate index.
/// </summary>
public sealed class Topics
{
    private readonly Random _random;
    private readonly float[][] _centres;

    public Topics(int seed, int count = 50)
    {
        _random = new Random(seed);
        _centres = Enumerable.Range(0, count).Select(_ => SyntheticContent.UnitVector(_random)).ToArray();
    }

    public float[] Next()
    {
        var centre = _centres[_random.Next(_centres.Length)];
        var noise = SyntheticContent.UnitVector(_random);
        return SyntheticContent.Normalise(centre.Zip(noise, (c, n) => c + 0.8f * n).ToArray());
    }
}
