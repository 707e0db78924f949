using CyberHub.Contracts;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Idempotency;
using CyberHub.ServiceDefaults.Observability;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// The default store: an SQLite file (WAL) holds items and chunk vectors, and the item vectors live in memory
/// for an exact scan. Writes go to SQLite first, then to memory, one at a time. One instance per file: a second
/// process writing the same file would not be seen by this one's memory.
/// </summary>
public sealed partial class EmbeddedVectorStore : IVectorStore, IDisposable
{
    private const int VectorBytes = ContentVectors.Dimensions * sizeof(float);
    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";
    private const string ItemColumns = "content_type, content_id, title, description, metadata, chunk_count, created_at, updated_at, embedding, created_by";

    private static readonly string Schema = """
        CREATE TABLE IF NOT EXISTS content_items (
            content_type TEXT NOT NULL,
            content_id TEXT NOT NULL,
            title TEXT NOT NULL,
            description TEXT NOT NULL,
            metadata TEXT NOT NULL,
            chunk_count INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            embedding BLOB NOT NULL,
            created_by TEXT,
            PRIMARY KEY (content_type, content_id)
        );
        CREATE TABLE IF NOT EXISTS content_chunks (
            id TEXT NOT NULL PRIMARY KEY,
            content_type TEXT NOT NULL,
            content_id TEXT NOT NULL,
            chunk_index INTEGER NOT NULL,
            embedding BLOB NOT NULL,
            FOREIGN KEY (content_type, content_id) REFERENCES content_items (content_type, content_id) ON DELETE CASCADE
        );
        CREATE INDEX IF NOT EXISTS ix_content_chunks_item ON content_chunks (content_type, content_id);
        """ + IdempotencyKeyTable.Sqlite.Schema;

    private readonly string _connectionString;
    private readonly ILogger _logger;
    private readonly InMemoryCatalog _catalog = new();
    private readonly SemaphoreSlim _writes = new(1, 1);
    private readonly KeyPurgeSchedule _keyPurge = new();
    private volatile bool _ready;

    public EmbeddedVectorStore(string path, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _logger = logger;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = 30,
        }.ToString();
        Graph = new EmbeddedItemGraph(_catalog, _writes, OpenAsync, logger);
    }

    /// <summary>The catalog's k-nearest-neighbour lists, kept with every write (see <see cref="EmbeddedItemGraph"/>).</summary>
    public EmbeddedItemGraph Graph { get; }

    public string Path { get; }

    public string Backend => "embedded";

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await _writes.WaitAsync(cancellationToken);
        try
        {
            if (_ready)
            {
                return;
            }
            // 0700 directory, 0600 database (and its -wal/-shm), before SQLite first opens it.
            DataDirectory.PrepareSqliteFile(Path);
            var started = Stopwatch.GetTimestamp();
            await using var connection = await OpenAsync(cancellationToken);
            await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken);
            await using (var transaction = connection.BeginTransaction())
            {
                await ExecuteAsync(connection, transaction, Schema, cancellationToken);
                await UpgradeAsync(connection, transaction, cancellationToken);
                await EnsureLexicalIndexAsync(connection, transaction, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }
            await LoadAsync(connection, cancellationToken);
            await Graph.LoadAsync(connection, cancellationToken);
            _ready = true;
            _logger.LogInformation("Embedded vector store {Path}: {Count} items loaded in {Elapsed:F0} ms",
                Path, _catalog.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        finally
        {
            _writes.Release();
        }
    }

    public Task<IReadOnlyList<string>> UpsertAsync(ContentRecord content, IReadOnlyList<float[]> chunkVectors, CancellationToken cancellationToken = default) =>
        WriteAsync(content, chunkVectors, ContentWriter.Platform, null, cancellationToken);

    public Task<IReadOnlyList<string>> UpsertAsync(
        ContentRecord content, IReadOnlyList<float[]> chunkVectors, ContentWriter writer, IdempotencyClaim? claim = null, IdempotentAnswer? answer = null,
        CancellationToken cancellationToken = default) =>
        WriteAsync(content, chunkVectors, writer, claim is null ? null : (claim, answer ?? throw new ArgumentNullException(nameof(answer))), cancellationToken);

    public async Task<IdempotencyClaim> ClaimKeyAsync(IdempotentRequest request, DateTime now, CancellationToken cancellationToken = default)
    {
        EnsureReady();
        await using var connection = await OpenAsync(cancellationToken);
        if (_keyPurge.Due(now))
        {
            await IdempotencyKeyTable.Sqlite.PurgeAsync(connection.CreateCommand(), now, cancellationToken);
        }
        return await IdempotencyKeyTable.Sqlite.ClaimAsync(() => connection.CreateCommand(), request, now, cancellationToken);
    }

    public async Task ReleaseKeyAsync(IdempotencyClaim claim, CancellationToken cancellationToken = default)
    {
        EnsureReady();
        await using var connection = await OpenAsync(cancellationToken);
        await IdempotencyKeyTable.Sqlite.ReleaseAsync(connection.CreateCommand(), claim, cancellationToken);
    }

    public async Task<int> PurgeExpiredKeysAsync(DateTime now, CancellationToken cancellationToken = default)
    {
        EnsureReady();
        await using var connection = await OpenAsync(cancellationToken);
        return await IdempotencyKeyTable.Sqlite.PurgeAsync(connection.CreateCommand(), now, cancellationToken);
    }

    private async Task<IReadOnlyList<string>> WriteAsync(
        ContentRecord content, IReadOnlyList<float[]> chunkVectors, ContentWriter writer, (IdempotencyClaim Claim, IdempotentAnswer Answer)? idempotency,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var record = ContentVectors.Normalise(content, chunkVectors);
        var vector = ContentVectors.ItemVector(chunkVectors);
        var key = ContentVectors.KeyOf(record);
        var ids = Enumerable.Range(0, chunkVectors.Count).Select(i => ContentVectors.ChunkId(key, i)).ToArray();
        EnsureReady();
        await _writes.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var transaction = connection.BeginTransaction();
            string? owner;
            // The owner is checked by the upsert itself: a row the writer may not replace is left as it is, and
            // returns nothing. The owner of an existing row is never changed.
            await using (var item = Command(connection, transaction, $"""
                INSERT INTO content_items ({ItemColumns}) VALUES ($type, $id, $title, $description, $metadata, $chunks, $created, $updated, $embedding, $writer)
                ON CONFLICT (content_type, content_id) DO UPDATE SET title = excluded.title, description = excluded.description,
                    metadata = excluded.metadata, chunk_count = excluded.chunk_count, created_at = excluded.created_at,
                    updated_at = excluded.updated_at, embedding = excluded.embedding
                    WHERE $any OR content_items.created_by = $writer
                RETURNING created_by;
                """))
            {
                item.Parameters.AddWithValue("$type", record.ContentType);
                item.Parameters.AddWithValue("$id", record.ContentId);
                item.Parameters.AddWithValue("$title", record.Title);
                item.Parameters.AddWithValue("$description", record.Description);
                item.Parameters.AddWithValue("$metadata", record.Metadata);
                item.Parameters.AddWithValue("$chunks", record.ChunkCount);
                item.Parameters.AddWithValue("$created", record.CreatedAt.ToString(TimestampFormat, CultureInfo.InvariantCulture));
                item.Parameters.AddWithValue("$updated", record.UpdatedAt.ToString(TimestampFormat, CultureInfo.InvariantCulture));
                item.Parameters.AddWithValue("$embedding", ToBlob(vector));
                item.Parameters.AddWithValue("$writer", (object?)writer.Subject ?? DBNull.Value);
                item.Parameters.AddWithValue("$any", writer.MayReplaceAny);
                await using var returned = await item.ExecuteReaderAsync(cancellationToken);
                if (!await returned.ReadAsync(cancellationToken))
                {
                    throw new ContentOwnedByAnotherException(key);
                }
                owner = returned.IsDBNull(0) ? null : returned.GetString(0);
            }
            await using (var clear = Command(connection, transaction, "DELETE FROM content_chunks WHERE content_type = $type AND content_id = $id"))
            {
                clear.Parameters.AddWithValue("$type", record.ContentType);
                clear.Parameters.AddWithValue("$id", record.ContentId);
                await clear.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var chunk = Command(connection, transaction,
                "INSERT INTO content_chunks (id, content_type, content_id, chunk_index, embedding) VALUES ($chunk, $type, $id, $index, $embedding)"))
            {
                var chunkId = chunk.Parameters.Add("$chunk", SqliteType.Text);
                chunk.Parameters.AddWithValue("$type", record.ContentType);
                chunk.Parameters.AddWithValue("$id", record.ContentId);
                var index = chunk.Parameters.Add("$index", SqliteType.Integer);
                var embedding = chunk.Parameters.Add("$embedding", SqliteType.Blob);
                for (var i = 0; i < ids.Length; i++)
                {
                    chunkId.Value = ids[i];
                    index.Value = i;
                    embedding.Value = ToBlob(chunkVectors[i]);
                    await chunk.ExecuteNonQueryAsync(cancellationToken);
                }
            }
            if (idempotency is { } answered)
            {
                var command = connection.CreateCommand();
                command.Transaction = transaction;
                await using var answer = IdempotencyKeyTable.Sqlite.Answer(command, answered.Claim, answered.Answer);
                await answer.ExecuteNonQueryAsync(cancellationToken);
            }
            var graph = await Graph.WritingAsync(connection, transaction, key, vector, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            _catalog.Upsert(record with { CreatedBy = owner }, vector);
            graph();
            return ids;
        }
        finally
        {
            _writes.Release();
        }
    }

    public Task<ContentRecord?> GetAsync(ContentKey key, CancellationToken cancellationToken = default)
    {
        EnsureReady();
        return Task.FromResult(_catalog.Get(key));
    }

    public Task<float[]?> GetVectorAsync(ContentKey key, CancellationToken cancellationToken = default)
    {
        EnsureReady();
        return Task.FromResult(_catalog.GetVector(key));
    }

    public Task<IReadOnlyList<ContentVector>> GetManyAsync(IReadOnlyCollection<ContentKey> keys, CancellationToken cancellationToken = default)
    {
        EnsureReady();
        return Task.FromResult(_catalog.GetMany(keys));
    }

    public Task<(int Count, IReadOnlyList<ContentRecord> Items)> ListAsync(string? contentType, int skip, int take, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        ArgumentOutOfRangeException.ThrowIfNegative(take);
        EnsureReady();
        return Task.FromResult(_catalog.List(contentType, skip, take));
    }

    public Task<(int Count, IReadOnlyList<ContentRecord> Items)> QueryAsync(ContentListQuery query, int skip, int take, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        ArgumentOutOfRangeException.ThrowIfNegative(take);
        EnsureReady();
        return Task.FromResult(query.IsPlain ? _catalog.List(query.ContentType, skip, take) : query.Apply(_catalog.Records(), skip, take));
    }

    public Task<ContentFacets> FacetsAsync(string? contentType, CancellationToken cancellationToken = default)
    {
        EnsureReady();
        return Task.FromResult(ContentFacetCounts.Of(_catalog.Records(), contentType));
    }

    public async Task<bool> DeleteAsync(ContentKey key, CancellationToken cancellationToken = default)
    {
        EnsureReady();
        await _writes.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var transaction = connection.BeginTransaction();
            await using var delete = Command(connection, transaction, """
                DELETE FROM content_chunks WHERE content_type = $type AND content_id = $id;
                DELETE FROM content_items WHERE content_type = $type AND content_id = $id;
                """);
            delete.Parameters.AddWithValue("$type", key.ContentType);
            delete.Parameters.AddWithValue("$id", key.ContentId);
            var deleted = await delete.ExecuteNonQueryAsync(cancellationToken) > 0;
            var graph = await Graph.WritingAsync(connection, transaction, key, null, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            var removed = _catalog.Remove(key) || deleted;
            graph();
            return removed;
        }
        finally
        {
            _writes.Release();
        }
    }

    public Task<IReadOnlyList<SearchHit>> SearchAsync(
        float[] query, int limit, string? contentType = null, IReadOnlySet<ContentKey>? exclude = null, CancellationToken cancellationToken = default)
    {
        using var search = VectorSearchTelemetry.Start(Backend, limit, contentType, exclude?.Count ?? 0);
        IReadOnlyList<SearchHit> hits;
        try
        {
            var unit = ContentVectors.UnitQuery(query);
            EnsureReady();
            hits = _catalog.Search(unit, limit, contentType, exclude);
        }
        catch (Exception e)
        {
            search.Failed(e);
            throw;
        }
        search.Completed(hits.Count);
        return Task.FromResult(hits);
    }

    public Task<int> CountAsync(CancellationToken cancellationToken = default)
    {
        EnsureReady();
        return Task.FromResult(_catalog.Count);
    }

    public void Dispose()
    {
        Graph.Dispose();
        _catalog.Dispose();
        // Pooled connections keep the file open; release them so the file can be moved or deleted.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    private async Task LoadAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using (var count = Command(connection, null, "SELECT count(*) FROM content_items"))
        {
            _catalog.Reserve(Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture));
        }
        await using var select = Command(connection, null, $"SELECT {ItemColumns} FROM content_items");
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var blob = new byte[VectorBytes];
        var vector = new float[ContentVectors.Dimensions];
        while (await reader.ReadAsync(cancellationToken))
        {
            var record = new ContentRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), reader.GetInt32(5), ParseTimestamp(reader.GetString(6)), ParseTimestamp(reader.GetString(7)),
                reader.IsDBNull(9) ? null : reader.GetString(9));
            if (reader.GetBytes(8, 0, null, 0, 0) != VectorBytes)
            {
                throw new InvalidDataException($"{Path}: the vector of {record.ContentType}:{record.ContentId} is not {ContentVectors.Dimensions} floats.");
            }
            reader.GetBytes(8, 0, blob, 0, VectorBytes);
            FromBlob(blob, vector);
            _catalog.Upsert(record, vector);
        }
    }

    /// <summary>
    /// Brings a file made by an earlier version up to the current schema: <c>created_by</c> was added when items got
    /// owners; the rows that predate it have none, so they belong to the platform.
    /// </summary>
    private static async Task UpgradeAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        await using var columns = Command(connection, transaction, "SELECT count(*) FROM pragma_table_info('content_items') WHERE name = 'created_by'");
        if (Convert.ToInt64(await columns.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0)
        {
            await ExecuteAsync(connection, transaction, "ALTER TABLE content_items ADD COLUMN created_by TEXT", cancellationToken);
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        // WAL makes NORMAL safe from corruption; only the last commits may be lost on power failure.
        await ExecuteAsync(connection, null, "PRAGMA synchronous = NORMAL;", cancellationToken);
        return connection;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private void EnsureReady()
    {
        if (!_ready)
        {
            throw new InvalidOperationException("The embedded vector store is not initialised: call InitializeAsync first.");
        }
    }

    private static DateTime ParseTimestamp(string value) =>
        DateTime.ParseExact(value, TimestampFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    private static byte[] ToBlob(ReadOnlySpan<float> vector)
    {
        var blob = new byte[vector.Length * sizeof(float)];
        for (var i = 0; i < vector.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(blob.AsSpan(i * sizeof(float)), vector[i]);
        }
        return blob;
    }

    private static void FromBlob(ReadOnlySpan<byte> blob, Span<float> vector)
    {
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = BinaryPrimitives.ReadSingleLittleEndian(blob[(i * sizeof(float))..]);
        }
    }
}
