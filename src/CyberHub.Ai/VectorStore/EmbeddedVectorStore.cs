using CyberHub.Contracts;
using System.Diagnostics;
using System.Globalization;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Idempotency;
using CyberHub.ServiceDefaults.Observability;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// The default store: an SQLite file (WAL) holds items and chunk vectors; the records live in memory and the float item
/// vectors in a memory-mapped file beside it (<see cref="VectorFile"/>, <c>{file}.vectors</c>, a copy of the
/// <c>content_vectors</c> table kept in step through the write log, like the index). In SQLite an item's vector has its
/// own table, one row a label, apart from its record in <c>content_items</c>: a start reads every record but no vector
/// (the vector file holds them), so its scan of <c>content_items</c> reads text pages only. A catalog of
/// <see cref="ExactScanBelow"/> items or more is searched through an approximate index (<see cref="EmbeddedVectorIndex"/>,
/// HNSW over int8 vectors) whose candidates are rescored exactly; a smaller one is scanned exactly. Writes go to SQLite
/// first, then to memory, the vector file and the index, one at a time. One instance per file: a second process writing
/// the same file would not be seen by this one's memory.
/// </summary>
public sealed partial class EmbeddedVectorStore : IVectorStore, IDisposable, INeighbourIndex
{
    private const int VectorBytes = ContentVectors.Dimensions * sizeof(float);
    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";
    private const string ItemColumns = "content_type, content_id, title, description, metadata, chunk_count, created_at, updated_at, created_by";

    private static readonly string Schema = ItemTable("content_items") + """
        CREATE TABLE IF NOT EXISTS content_chunks (
            id TEXT NOT NULL PRIMARY KEY,
            content_type TEXT NOT NULL,
            content_id TEXT NOT NULL,
            chunk_index INTEGER NOT NULL,
            embedding BLOB NOT NULL,
            FOREIGN KEY (content_type, content_id) REFERENCES content_items (content_type, content_id) ON DELETE CASCADE
        );
        CREATE INDEX IF NOT EXISTS ix_content_chunks_item ON content_chunks (content_type, content_id);
        CREATE TABLE IF NOT EXISTS content_vector_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            label INTEGER NOT NULL
        );
        """ + IdempotencyKeyTable.Sqlite.Schema;

    /// <summary>The item records' table under <paramref name="name"/> (the upgrade that moves the vectors out builds it anew).</summary>
    private static string ItemTable(string name) => $"""
        CREATE TABLE IF NOT EXISTS {name} (
            content_type TEXT NOT NULL,
            content_id TEXT NOT NULL,
            title TEXT NOT NULL,
            description TEXT NOT NULL,
            metadata TEXT NOT NULL,
            chunk_count INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            created_by TEXT,
            label INTEGER,
            PRIMARY KEY (content_type, content_id)
        );
        """;

    /// <summary>
    /// The item vectors, one row a label. Created by <see cref="UpgradeAsync"/> once <c>content_items</c> has its labels
    /// and their unique index, which the foreign key needs: with this table in place and foreign keys on, numbering the
    /// rows of a file from before the label would fail.
    /// </summary>
    private const string VectorSchema = """
        CREATE TABLE IF NOT EXISTS content_vectors (
            label INTEGER NOT NULL PRIMARY KEY REFERENCES content_items (label) ON DELETE CASCADE,
            embedding BLOB NOT NULL
        );
        """;

    /// <summary>The least number of items searched through the approximate index (<c>VectorSearch__ExactScanBelow</c>).</summary>
    public const int DefaultExactScanBelow = 5_000;

    /// <summary>The least number of candidates the index proposes for rescoring (<c>VectorSearch__Candidates</c>).</summary>
    public const int DefaultCandidates = 100;

    private readonly string _connectionString;
    private readonly ILogger _logger;
    private readonly InMemoryCatalog _catalog = new();
    private readonly SemaphoreSlim _writes = new(1, 1);
    private readonly KeyPurgeSchedule _keyPurge = new();
    private readonly CancellationTokenSource _stopping = new();
    private EmbeddedVectorIndex? _index;
    private Task _indexBuild = Task.CompletedTask;
    private Task _indexTried = Task.CompletedTask;
    private long _lastSeq;
    private int _disposed;
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
        Graph = new EmbeddedItemGraph(_catalog, this, _writes, OpenAsync, logger);
    }

    /// <summary>The catalog's k-nearest-neighbour lists, kept with every write (see <see cref="EmbeddedItemGraph"/>).</summary>
    public EmbeddedItemGraph Graph { get; }

    public string Path { get; }

    public string Backend => "embedded";

    /// <summary>A catalog this large or larger is searched through the approximate index; a smaller one is scanned exactly.</summary>
    public int ExactScanBelow { get; init => field = CheckedExactScanBelow(value); } = DefaultExactScanBelow;

    /// <summary>The value, if valid for <see cref="ExactScanBelow"/>; else an error naming the setting.</summary>
    public static int CheckedExactScanBelow(int value) => value >= 0
        ? value
        : throw new ArgumentOutOfRangeException(nameof(ExactScanBelow), value, "VectorSearch:ExactScanBelow must be 0 or more.");

    /// <summary>The value, if valid for <see cref="Candidates"/>; else an error naming the setting.</summary>
    public static int CheckedCandidates(int value) => value is >= 10 and <= 10_000
        ? value
        : throw new ArgumentOutOfRangeException(nameof(Candidates), value, "VectorSearch:Candidates must be between 10 and 10000.");

    /// <summary>
    /// The least number of candidates the index proposes for exact rescoring (more when the limit and exclusions call for
    /// it, and in proportion for a type filter). More raises recall at more cost per search.
    /// </summary>
    public int Candidates { get; init => field = CheckedCandidates(value); } = DefaultCandidates;

    /// <summary>True once the approximate index holds the whole catalog (it is built in the background when missing).</summary>
    public bool IndexComplete => _index?.Complete == true;

    /// <summary>
    /// Waits for the background build of the approximate index, if one runs (tests and benchmarks): it ends once the
    /// index is built and saved, tried again after each failure (<see cref="IndexRetry"/>), or when the store stops. It
    /// never faults.
    /// </summary>
    public Task IndexBuilt => _indexBuild;

    /// <summary>
    /// How long the background build of the index waits after a failure before it tries again (default
    /// <see cref="RetrySchedule.Default"/>: 30 s, doubling with each further failure up to 15 min; each wait between three
    /// quarters and all of that at random).
    /// </summary>
    public RetrySchedule IndexRetry
    {
        get;
        init => field = value ?? throw new ArgumentNullException(nameof(value));
    } = RetrySchedule.Default;

    /// <summary>
    /// Called after each batch the background build adds to the index, on the build's thread (tests: writes during a
    /// build, a build that fails part way).
    /// </summary>
    internal Action? IndexBatchAdded { get; init; }

    /// <summary>
    /// How the index was brought up at start: "loaded", "rebuilt", "not needed" (a catalog below
    /// <see cref="ExactScanBelow"/> without a saved index: it is built once a write brings the catalog to the
    /// threshold), or null before start.
    /// </summary>
    public string? IndexStart { get; private set; }

    /// <summary>
    /// How the vector file was brought up at start: "mapped" (trusted, the logged writes replayed into it), "rewritten"
    /// (from SQLite's <c>content_vectors</c>: a file from before it, lost, damaged or behind the index), or null before start.
    /// </summary>
    public string? VectorsStart { get; private set; }

    /// <summary>How long the start took to open the saved index and replay the log (or to find it unusable).</summary>
    public TimeSpan IndexOpenTime { get; private set; }

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
            await PrepareSchemaAsync(connection, cancellationToken);
            await OpenCatalogAsync(connection, cancellationToken);
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

    /// <summary>
    /// Creates the schema, or brings a file of an earlier version up to it (<see cref="UpgradeAsync"/>), and the full-text
    /// index, in one transaction.
    /// </summary>
    private async Task PrepareSchemaAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        // Moving the vectors out of content_items rebuilds the table, which needs foreign keys off (see
        // MoveVectorsOutAsync); SQLite ignores the setting inside a transaction.
        var moving = await HasColumnAsync(connection, null, "embedding", cancellationToken);
        if (moving)
        {
            await ExecuteAsync(connection, null, "PRAGMA foreign_keys = OFF;", cancellationToken);
        }
        try
        {
            await using var transaction = connection.BeginTransaction();
            await ExecuteAsync(connection, transaction, Schema, cancellationToken);
            await UpgradeAsync(connection, transaction, cancellationToken);
            await EnsureLexicalIndexAsync(connection, transaction, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            if (moving)
            {
                await ExecuteAsync(connection, null, "PRAGMA foreign_keys = ON;", CancellationToken.None);
            }
        }
        if (moving)
        {
            // The move grew the write-ahead log to about the vectors' size; SQLite reuses that file but shortens it
            // only when the last connection closes.
            await ExecuteAsync(connection, null, "PRAGMA wal_checkpoint(TRUNCATE);", cancellationToken);
        }
    }

    public Task<IReadOnlyList<string>> UpsertAsync(ContentRecord content, IReadOnlyList<float[]> chunkVectors, CancellationToken cancellationToken = default) =>
        WriteAsync(content, chunkVectors, ContentWriter.Platform, null, cancellationToken, null);

    public Task<IReadOnlyList<string>> UpsertAsync(
        ContentRecord content, IReadOnlyList<float[]> chunkVectors, ContentWriter writer, IdempotencyClaim? claim = null, IdempotentAnswer? answer = null,
        CancellationToken cancellationToken = default, WriteCheck? check = null) =>
        WriteAsync(content, chunkVectors, writer, claim is null ? null : (claim, answer ?? throw new ArgumentNullException(nameof(answer))), cancellationToken, check);

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
        CancellationToken cancellationToken, WriteCheck? check)
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
            if (check is not null)
            {
                // Under the write semaphore: every earlier write has committed, no later one has begun.
                await check((keys, ct) => ReadMetadataAsync(connection, transaction, keys, ct), cancellationToken);
            }
            string? owner;
            long label;
            // The owner is checked by the upsert itself: a row the writer may not replace is left as it is, and
            // returns nothing. The owner of an existing row is never changed.
            await using (var item = Command(connection, transaction, $"""
                INSERT INTO content_items ({ItemColumns}, label) VALUES ($type, $id, $title, $description, $metadata, $chunks, $created, $updated, $writer,
                    coalesce((SELECT max(label) FROM content_items), 0) + 1)
                ON CONFLICT (content_type, content_id) DO UPDATE SET title = excluded.title, description = excluded.description,
                    metadata = excluded.metadata, chunk_count = excluded.chunk_count, created_at = excluded.created_at,
                    updated_at = excluded.updated_at
                    WHERE $any OR content_items.created_by = $writer
                RETURNING created_by, label;
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
                item.Parameters.AddWithValue("$writer", (object?)writer.Subject ?? DBNull.Value);
                item.Parameters.AddWithValue("$any", writer.MayReplaceAny);
                await using var returned = await item.ExecuteReaderAsync(cancellationToken);
                if (!await returned.ReadAsync(cancellationToken))
                {
                    throw new ContentOwnedByAnotherException(key);
                }
                owner = returned.IsDBNull(0) ? null : returned.GetString(0);
                label = returned.GetInt64(1);
            }
            await using (var itemVector = Command(connection, transaction, """
                INSERT INTO content_vectors (label, embedding) VALUES ($label, $embedding)
                ON CONFLICT (label) DO UPDATE SET embedding = excluded.embedding
                """))
            {
                itemVector.Parameters.AddWithValue("$label", label);
                itemVector.Parameters.AddWithValue("$embedding", ContentVectors.ToBlob(vector));
                await itemVector.ExecuteNonQueryAsync(cancellationToken);
            }
            var seq = await LogAsync(connection, transaction, label, cancellationToken);
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
                    embedding.Value = ContentVectors.ToBlob(chunkVectors[i]);
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
            var graph = await Graph.WritingAsync(connection, transaction, key, label, record, vector, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            _catalog.Upsert(record with { CreatedBy = owner }, vector, label);
            _index?.Upsert(label, vector);
            _lastSeq = seq;
            if (_index is null && _catalog.Count >= ExactScanBelow && !_stopping.IsCancellationRequested)
            {
                StartIndexBuild();
            }
            graph();
            await SaveIndexIfDueAsync(cancellationToken);
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
            await using (var chunks = Command(connection, transaction, "DELETE FROM content_chunks WHERE content_type = $type AND content_id = $id"))
            {
                chunks.Parameters.AddWithValue("$type", key.ContentType);
                chunks.Parameters.AddWithValue("$id", key.ContentId);
                await chunks.ExecuteNonQueryAsync(cancellationToken);
            }
            long? label = null;
            // The item's row in content_vectors goes with it (ON DELETE CASCADE).
            await using (var delete = Command(connection, transaction, "DELETE FROM content_items WHERE content_type = $type AND content_id = $id RETURNING label"))
            {
                delete.Parameters.AddWithValue("$type", key.ContentType);
                delete.Parameters.AddWithValue("$id", key.ContentId);
                await using var returned = await delete.ExecuteReaderAsync(cancellationToken);
                if (await returned.ReadAsync(cancellationToken))
                {
                    label = returned.GetInt64(0);
                }
            }
            var deleted = label is not null;
            var seq = label is { } logged ? await LogAsync(connection, transaction, logged, cancellationToken) : _lastSeq;
            var graph = await Graph.WritingAsync(connection, transaction, key, label ?? 0, null, null, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            var removed = _catalog.Remove(key) || deleted;
            if (label is { } gone)
            {
                _index?.Remove(gone);
            }
            _lastSeq = seq;
            graph();
            await SaveIndexIfDueAsync(cancellationToken);
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
            hits = Search(unit, limit, contentType, exclude, search.Activity);
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

    public Task<IReadOnlyList<ContentVector>> SearchVectorsAsync(
        float[] query, int limit, string? contentType = null, IReadOnlySet<ContentKey>? exclude = null, CancellationToken cancellationToken = default)
    {
        using var search = VectorSearchTelemetry.Start(Backend, limit, contentType, exclude?.Count ?? 0);
        IReadOnlyList<ContentVector> found;
        try
        {
            var unit = ContentVectors.UnitQuery(query);
            EnsureReady();
            var hits = Search(unit, limit, contentType, exclude, search.Activity);
            found = _catalog.GetMany([.. hits.Select(h => ContentVectors.KeyOf(h.Content))]);
        }
        catch (Exception e)
        {
            search.Failed(e);
            throw;
        }
        search.Completed(found.Count);
        return Task.FromResult(found);
    }

    /// <summary>
    /// The exact top <paramref name="limit"/> among the index's candidates (the exact scan for a small catalog, while
    /// the index is built, or when a filter leaves too few candidates to fill the limit).
    /// </summary>
    private IReadOnlyList<SearchHit> Search(float[] unit, int limit, string? contentType, IReadOnlySet<ContentKey>? exclude, Activity? activity)
    {
        var index = _index;
        var total = _catalog.Count;
        if (limit <= 0 || index is not { Complete: true } || total < ExactScanBelow)
        {
            activity?.SetTag("vector.exact_scan", true);
            return _catalog.Search(unit, limit, contentType, exclude);
        }
        var matching = contentType is null ? total : _catalog.CountOf(contentType);
        if (matching == 0)
        {
            return [];
        }
        if (matching < ExactScanBelow)
        {
            // A type this small: its scan reads only its own vectors, less than the index walk its share would take.
            activity?.SetTag("vector.exact_scan", true);
            return _catalog.Search(unit, limit, contentType, exclude);
        }
        // Enough candidates that, after the type filter and the exclusions, the limit is likely filled at once: the
        // floor, twice the limit and exclusions, and when filtered three times them over the type's share of the catalog.
        var wanted = limit + (long)(exclude?.Count ?? 0);
        var candidates = Math.Max(Candidates, Math.Max(2 * wanted, contentType is null ? 0 : 3 * wanted * total / matching));
        while (true)
        {
            if (candidates > total / 8)
            {
                // As costly as a scan: scan, and be complete.
                activity?.SetTag("vector.exact_scan", true);
                return _catalog.Search(unit, limit, contentType, exclude);
            }
            var labels = index.Search(unit, (int)candidates);
            var hits = _catalog.Rescore(labels, unit, limit, contentType, exclude);
            if (hits.Count >= limit)
            {
                activity?.SetTag("vector.candidates", candidates);
                return hits;
            }
            candidates *= 4;
        }
    }

    bool INeighbourIndex.Usable => _index is { Complete: true } && _catalog.Count >= ExactScanBelow;

    Task INeighbourIndex.Ready => _indexTried;

    List<(ContentKey Key, float Similarity)>? INeighbourIndex.Nearest(float[] unitVector, int count)
    {
        if (_index is not { Complete: true } index || _catalog.Count < ExactScanBelow)
        {
            return null;
        }
        var scored = _catalog.Score(index.Search(unitVector, Math.Max(count, Candidates)), unitVector);
        scored.Sort(static (a, b) => b.Similarity.CompareTo(a.Similarity));
        return scored;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        _stopping.Cancel();
        // Stopping ends the build's wait before its next try, or the try itself; the task never faults.
        _indexBuild.Wait(TimeSpan.FromSeconds(30));
        if (_ready && _writes.Wait(TimeSpan.FromSeconds(30)))
        {
            try
            {
                // A clean stop leaves the index and the vector rows as they are, so the next start has nothing to replay.
                if (_index is { Complete: true } index && index.SavedSeq < _lastSeq)
                {
                    SaveIndex(index, _lastSeq);
                }
                else if (_catalog.VectorsFlushedSeq < _lastSeq)
                {
                    _catalog.FlushVectors(_lastSeq);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or Cloud.Unum.USearch.USearchException)
            {
                _logger.LogWarning(e, "Vector index of {Path} not saved: the next start replays or rebuilds it", Path);
            }
            finally
            {
                _writes.Release();
            }
        }
        _index?.Dispose();
        Graph.Dispose();
        _catalog.Dispose();
        // Pooled connections keep the file open; release them so the file can be moved or deleted.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    /// <summary>Appends <paramref name="label"/> to the write log in the write's transaction; returns its position.</summary>
    private static async Task<long> LogAsync(SqliteConnection connection, SqliteTransaction transaction, long label, CancellationToken cancellationToken)
    {
        await using var log = Command(connection, transaction, "INSERT INTO content_vector_log (label) VALUES ($label) RETURNING seq");
        log.Parameters.AddWithValue("$label", label);
        return Convert.ToInt64(await log.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Opens the saved index (mapped read-only) and the vector file, reads the records, and replays the writes logged
    /// since the index was saved into both. The vector file is trusted when the index is and it was flushed at or after
    /// the index's save; otherwise it is rewritten from <c>content_vectors</c> (a file from a version before it, or
    /// a lost one). When the index is missing, cannot be read, the log no longer reaches back to it, or it disagrees with
    /// the catalog, a new one is built in the background (searches scan exactly meanwhile).
    /// </summary>
    private async Task OpenCatalogAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using (var last = Command(connection, null, "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'content_vector_log'), 0)"))
        {
            _lastSeq = Convert.ToInt64(await last.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }
        long maxLabel;
        await using (var max = Command(connection, null, "SELECT coalesce(max(label), 0) FROM content_items"))
        {
            maxLabel = Convert.ToInt64(await max.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }
        var vectors = VectorFile.Open(Path + ".vectors");
        _catalog.UseVectors(vectors);

        var indexStarted = Stopwatch.GetTimestamp();
        var index = EmbeddedVectorIndex.Load(Path, _logger);
        var labels = new List<long>();
        var intact = false;
        if (index is not null)
        {
            await using (var log = Command(connection, null, "SELECT label FROM content_vector_log WHERE seq > $seq ORDER BY seq"))
            {
                log.Parameters.AddWithValue("$seq", index.SavedSeq);
                await using var reader = await log.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    labels.Add(reader.GetInt64(0));
                }
            }
            // The log is gapless: the writes since the file was saved are all there, or it was pruned past it.
            intact = index.SavedSeq <= _lastSeq && labels.Count == _lastSeq - index.SavedSeq;
        }
        var vectorsTrusted = intact && _catalog.VectorsFlushedSeq >= index!.SavedSeq && maxLabel < _catalog.VectorRows;
        IndexOpenTime = Stopwatch.GetElapsedTime(indexStarted);

        if (!vectorsTrusted)
        {
            _catalog.InvalidateVectors();
        }
        await LoadAsync(connection, readVectors: !vectorsTrusted, cancellationToken);
        VectorsStart = vectorsTrusted ? "mapped" : "rewritten";
        if (!vectorsTrusted)
        {
            _catalog.FlushVectors(_lastSeq);
            _logger.LogInformation("Vector file of {Path} written from SQLite: {Count} items", Path, _catalog.Count);
        }
        else if (labels.Count > 0)
        {
            await ReplayVectorsAsync(connection, index!.SavedSeq, cancellationToken);
        }

        indexStarted = Stopwatch.GetTimestamp();
        if (index is not null)
        {
            if (intact)
            {
                var buffer = new float[ContentVectors.Dimensions];
                foreach (var label in labels.Distinct())
                {
                    index.Refresh(label, _catalog, buffer);
                }
            }
            if (intact && index.Size == _catalog.Count)
            {
                _index = index;
                IndexStart = "loaded";
                IndexOpenTime += Stopwatch.GetElapsedTime(indexStarted);
                _logger.LogInformation("Vector index of {Path} opened: {Count} items, {Replayed} writes replayed", Path, index.Size, labels.Count);
                await PruneLogAsync(connection, index.SavedSeq, cancellationToken);
                return;
            }
            _logger.LogWarning("Vector index of {Path} is stale ({Size} items, catalog {Count}): rebuilding it", Path, index.Size, _catalog.Count);
            index.Dispose();
            EmbeddedVectorIndex.DeleteSaved(Path);
        }
        IndexOpenTime += Stopwatch.GetElapsedTime(indexStarted);
        if (_catalog.Count < ExactScanBelow)
        {
            // Searched by exact scan: no index to keep on every write until the catalog reaches the threshold.
            IndexStart = "not needed";
            return;
        }
        IndexStart = "rebuilt";
        if (_catalog.Count == 0)
        {
            _index = EmbeddedVectorIndex.Empty(Path, _logger);
            _index.Build(_catalog, cancellationToken);
            return;
        }
        StartIndexBuild();
    }

    /// <summary>
    /// Builds a new index in the background (searches scan exactly meanwhile), then saves it. A try that fails is logged
    /// with its number and the wait before the next, and the build is tried again as <see cref="IndexRetry"/> goes,
    /// until it is saved or the store stops; the task never faults. Under the write lock.
    /// </summary>
    private void StartIndexBuild()
    {
        _index = EmbeddedVectorIndex.Empty(Path, _logger);
        var stopping = _stopping.Token;
        var tried = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _indexTried = tried.Task;
        _indexBuild = Task.Run(async () =>
        {
            var started = Stopwatch.GetTimestamp();
            var built = await BackgroundRetry.UntilDoneAsync(BuildIndexAsync, IndexRetry, (attempt, e, delay) =>
            {
                _logger.LogError(e, "Building the vector index of {Path} failed (attempt {Attempt}); {Searches}; next try in {RetrySeconds:F1} s",
                    Path, attempt,
                    IndexComplete ? "searches walk the index meanwhile, which the next try saves" : "searches scan exactly until it is built",
                    delay.TotalSeconds);
                tried.TrySetResult();
            }, stopping);
            tried.TrySetResult();
            if (built)
            {
                _logger.LogInformation("Vector index of {Path} built: {Count} items in {Elapsed:F0} ms",
                    Path, _index?.Size, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            else
            {
                _logger.LogInformation("Vector index build of {Path} stopped with the service; the next start builds it", Path);
            }
        }, CancellationToken.None);
        _logger.LogInformation("Vector index of {Path} missing for {Count} items: building it in the background", Path, _catalog.Count);
    }

    /// <summary>
    /// One try of the background build: fills the index unless a try before completed it (and only its save failed),
    /// then saves it and prunes the log. Writes reach <see cref="_index"/> under the write lock all along, so it holds
    /// each write made since it took its place, and the fill adds every other item of the catalog. When the fill fails,
    /// what it added may be partial: a fresh empty index takes the failed one's place at once, under the write lock, so
    /// the next try starts from it with every write made since (the catalog holds all earlier ones).
    /// </summary>
    private async Task BuildIndexAsync(CancellationToken stopping)
    {
        var index = _index!;
        if (!index.Complete)
        {
            try
            {
                index.Build(_catalog, stopping, IndexBatchAdded);
            }
            catch (Exception) when (!stopping.IsCancellationRequested)
            {
                await _writes.WaitAsync(stopping);
                try
                {
                    _index = EmbeddedVectorIndex.Empty(Path, _logger);
                }
                finally
                {
                    _writes.Release();
                }
                // No search or neighbour look-up walks an incomplete index, and no write reaches it any more.
                index.Dispose();
                throw;
            }
        }
        await _writes.WaitAsync(stopping);
        try
        {
            SaveIndex(index, _lastSeq);
            await using var connection = await OpenAsync(stopping);
            await PruneLogAsync(connection, index.SavedSeq, stopping);
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>Rewrites the vector rows of the items written since <paramref name="savedSeq"/> from SQLite.</summary>
    private async Task ReplayVectorsAsync(SqliteConnection connection, long savedSeq, CancellationToken cancellationToken)
    {
        await using var select = Command(connection, null,
            "SELECT label, embedding FROM content_vectors WHERE label IN (SELECT label FROM content_vector_log WHERE seq > $seq)");
        select.Parameters.AddWithValue("$seq", savedSeq);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var blob = new byte[VectorBytes];
        var vector = new float[ContentVectors.Dimensions];
        while (await reader.ReadAsync(cancellationToken))
        {
            ReadVector(reader, 1, blob, vector, $"label {reader.GetInt64(0)}");
            _catalog.WriteVector(reader.GetInt64(0), vector);
        }
    }

    /// <summary>
    /// Saves the index as of <paramref name="seq"/>, the vector rows first (so the file a start trusts is never behind
    /// the index it trusts). The caller holds the write lock.
    /// </summary>
    private void SaveIndex(EmbeddedVectorIndex index, long seq)
    {
        _catalog.FlushVectors(seq);
        index.Save(seq);
    }

    /// <summary>
    /// Saves the index once the writes since its last save reach a tenth of the catalog (at least 1,000): a crash then
    /// replays at most that many at the next start. The caller holds the write lock.
    /// </summary>
    private async Task SaveIndexIfDueAsync(CancellationToken cancellationToken)
    {
        if (_index is not { Complete: true } index || _lastSeq - index.SavedSeq < Math.Max(1_000, _catalog.Count / 10))
        {
            return;
        }
        try
        {
            SaveIndex(index, _lastSeq);
            await using var connection = await OpenAsync(cancellationToken);
            await PruneLogAsync(connection, index.SavedSeq, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Cloud.Unum.USearch.USearchException)
        {
            // The write is stored; the log keeps what the index file lacks.
            _logger.LogWarning(e, "Vector index of {Path} not saved", Path);
        }
    }

    private static async Task PruneLogAsync(SqliteConnection connection, long savedSeq, CancellationToken cancellationToken)
    {
        await using var prune = Command(connection, null, "DELETE FROM content_vector_log WHERE seq <= $seq");
        prune.Parameters.AddWithValue("$seq", savedSeq);
        await prune.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Reads every record into memory, and with <paramref name="readVectors"/> their vectors into the vector file too
    /// (otherwise the file already holds them: a start reads no vector).
    /// </summary>
    private async Task LoadAsync(SqliteConnection connection, bool readVectors, CancellationToken cancellationToken)
    {
        int expected;
        await using (var count = Command(connection, null, "SELECT count(*) FROM content_items"))
        {
            expected = Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
            _catalog.Reserve(expected);
        }
        await using var select = Command(connection, null, readVectors
            ? $"SELECT {ItemColumns}, i.label, v.embedding FROM content_items AS i LEFT JOIN content_vectors AS v ON v.label = i.label"
            : $"SELECT {ItemColumns}, label FROM content_items");
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var blob = new byte[VectorBytes];
        var vector = new float[ContentVectors.Dimensions];
        var items = new List<InMemoryCatalog.StoredItem>(readVectors ? 0 : expected);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (readVectors)
            {
                var record = new ContentRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                    reader.GetString(4), reader.GetInt32(5), ParseTimestamp(reader.GetString(6)), ParseTimestamp(reader.GetString(7)),
                    reader.IsDBNull(8) ? null : reader.GetString(8));
                ReadVector(reader, 10, blob, vector, $"{record.ContentType}:{record.ContentId}");
                _catalog.Upsert(record, vector, reader.GetInt64(9));
            }
            else
            {
                // The texts as SQLite holds them, UTF-8, straight into the catalog's packed form: no string for them.
                var texts = InMemoryCatalog.PackTexts(reader.GetFieldValue<byte[]>(2), reader.GetFieldValue<byte[]>(3), reader.GetFieldValue<byte[]>(4),
                    reader.IsDBNull(8) ? null : reader.GetFieldValue<byte[]>(8));
                items.Add(new InMemoryCatalog.StoredItem(reader.GetString(0), reader.GetString(1), texts, reader.GetInt32(5),
                    ParseTimestamp(reader.GetString(6)), ParseTimestamp(reader.GetString(7)), reader.GetInt64(9)));
            }
        }
        if (!readVectors)
        {
            _catalog.AttachAll(items);
        }
    }

    private void ReadVector(SqliteDataReader reader, int ordinal, byte[] blob, float[] vector, string item)
    {
        if (reader.IsDBNull(ordinal))
        {
            throw new InvalidDataException($"{Path}: {item} has no vector in content_vectors.");
        }
        if (reader.GetBytes(ordinal, 0, null, 0, 0) != VectorBytes)
        {
            throw new InvalidDataException($"{Path}: the vector of {item} is not {ContentVectors.Dimensions} floats.");
        }
        reader.GetBytes(ordinal, 0, blob, 0, VectorBytes);
        ContentVectors.FromBlob(blob, vector);
    }

    /// <summary>
    /// Brings a file made by an earlier version up to the current schema: <c>created_by</c> was added when items got
    /// owners; the rows that predate it have none, so they belong to the platform. <c>label</c> (the approximate
    /// index's key, stable across a VACUUM unlike the rowid) was added with the index; the rows that predate it are
    /// numbered in rowid order (before the vectors move, which keys them by label). The item vector was a column of
    /// <c>content_items</c>, <c>embedding</c>; it moves to <c>content_vectors</c> (<see cref="MoveVectorsOutAsync"/>).
    /// </summary>
    private async Task UpgradeAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        if (!await HasColumnAsync(connection, transaction, "created_by", cancellationToken))
        {
            await ExecuteAsync(connection, transaction, "ALTER TABLE content_items ADD COLUMN created_by TEXT", cancellationToken);
        }
        if (!await HasColumnAsync(connection, transaction, "label", cancellationToken))
        {
            await ExecuteAsync(connection, transaction, "ALTER TABLE content_items ADD COLUMN label INTEGER", cancellationToken);
            await ExecuteAsync(connection, transaction, "UPDATE content_items SET label = rowid", cancellationToken);
        }
        if (await HasColumnAsync(connection, transaction, "embedding", cancellationToken))
        {
            await MoveVectorsOutAsync(connection, transaction, cancellationToken);
        }
        await ExecuteAsync(connection, transaction, "CREATE UNIQUE INDEX IF NOT EXISTS ix_content_items_label ON content_items (label)", cancellationToken);
        await ExecuteAsync(connection, transaction, VectorSchema, cancellationToken);
    }

    /// <summary>
    /// Moves the item vectors of a file from before <c>content_vectors</c> out of <c>content_items</c>: copies them by
    /// label, then rebuilds <c>content_items</c> without the column the documented way (a new table, every row copied
    /// under its rowid, the old table dropped and the new one renamed; <see cref="UpgradeAsync"/> makes the label index
    /// again and <see cref="SqliteLexicalIndex"/> the full-text triggers, right after). The full-text index is keyed by
    /// rowid, so it stays in step. <c>DROP COLUMN</c> alone would leave each shortened row on its page: the table would
    /// keep all its pages, most of each empty, and a start would read as many as before. The caller turns foreign keys
    /// off: dropping a table with them on deletes its rows first, which would cascade to the chunks and the vectors.
    /// The pages freed stay in the file for later writes: no VACUUM, which would copy the whole file at start.
    /// </summary>
    private async Task MoveVectorsOutAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await ExecuteAsync(connection, transaction, VectorSchema, cancellationToken);
        await using var move = Command(connection, transaction, "INSERT INTO content_vectors (label, embedding) SELECT label, embedding FROM content_items");
        var moved = await move.ExecuteNonQueryAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, $"""
            {ItemTable("content_items_rebuilt")}
            INSERT INTO content_items_rebuilt (rowid, {ItemColumns}, label) SELECT rowid, {ItemColumns}, label FROM content_items ORDER BY rowid;
            DROP TABLE content_items;
            ALTER TABLE content_items_rebuilt RENAME TO content_items;
            """, cancellationToken);
        _logger.LogInformation("Embedded vector store {Path}: the vectors of {Count} items moved to their own table in {Elapsed:F0} ms",
            Path, moved, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private static async Task<bool> HasColumnAsync(SqliteConnection connection, SqliteTransaction? transaction, string column, CancellationToken cancellationToken)
    {
        await using var columns = Command(connection, transaction, "SELECT count(*) FROM pragma_table_info('content_items') WHERE name = $column");
        columns.Parameters.AddWithValue("$column", column);
        return Convert.ToInt64(await columns.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) > 0;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        // WAL makes NORMAL safe from corruption; only the last commits may be lost on power failure.
        await ExecuteAsync(connection, null, "PRAGMA synchronous = NORMAL;", cancellationToken);
        return connection;
    }

    /// <summary>The stored metadata of <paramref name="keys"/>, read in the write's transaction (<see cref="InTransactionReader"/>).</summary>
    private static async Task<IReadOnlyDictionary<ContentKey, string>> ReadMetadataAsync(
        SqliteConnection connection, SqliteTransaction transaction, IReadOnlyCollection<ContentKey> keys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<ContentKey, string>(keys.Count);
        await using var command = Command(connection, transaction, "SELECT metadata FROM content_items WHERE content_type = $type AND content_id = $id");
        var type = command.Parameters.Add("$type", SqliteType.Text);
        var id = command.Parameters.Add("$id", SqliteType.Text);
        foreach (var key in keys)
        {
            type.Value = key.ContentType;
            id.Value = key.ContentId;
            if (await command.ExecuteScalarAsync(cancellationToken) is string metadata)
            {
                found[key] = metadata;
            }
        }
        return found;
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

}
