using CyberHub.Ai.Recommendations;
using CyberHub.Contracts;
using System.Diagnostics;
using CyberHub.ServiceDefaults.Data;
using CyberHub.ServiceDefaults.Idempotency;
using CyberHub.ServiceDefaults.Observability;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Pgvector;
using Pgvector.Npgsql;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// PostgreSQL with pgvector: items and chunk vectors in tables, item vectors under an HNSW index (cosine).
/// Filtered searches rely on pgvector 0.8's iterative index scans so that they still fill the requested limit.
/// </summary>
public sealed partial class PgVectorStore : IVectorStore, IAsyncDisposable
{
    // 100, not pgvector's 40: on real MiniLM embeddings and their mixes, 40 finds 0.88 of the exact top 10 at 100k items,
    // 100 finds 0.95 (docs/benchmarks.md, "pgvector at one million items").
    public const int DefaultEfSearch = 100;
    private const int MinEfSearch = 10;
    private const int MaxEfSearch = 1000;
    private const int FilteredEfSearch = 100;
    private readonly int _efSearch = DefaultEfSearch;
    private const string RecordColumns = "content_type, content_id, title, description, metadata::text, chunk_count, created_at, updated_at, created_by";

    /// <summary>
    /// The HNSW index searches walk: over <see cref="HalfEmbedding"/>, cosine distance, a graph of <see cref="GraphM"/>
    /// links per node built with a beam of <see cref="GraphEfConstruction"/>. A change of those is a new name, so that an
    /// existing install builds the new graph beside the one it searches (see <see cref="PreviousHalfIndex"/>).
    /// </summary>
    public const string HalfIndex = "content_items_embedding_half_m24_idx";

    /// <summary>
    /// Links per node of the search index's graph: 24, not pgvector's 16. On real MiniLM embeddings and their mixes, at
    /// the default beam, the denser graph finds 0.980 of the exact top 10 at 100k items (16: 0.953) and 0.874 at 1M
    /// (0.823) for the same search time, at 2.7 times the build (docs/benchmarks.md, "a denser graph").
    /// </summary>
    public const int GraphM = 24;

    /// <summary>The beam that builds the search index's graph (pgvector's default: 64).</summary>
    public const int GraphEfConstruction = 128;

    /// <summary>The indexed expression: an item's vector in half precision. A search orders by exactly this to walk the index.</summary>
    public static readonly string HalfEmbedding = $"(embedding::halfvec({ContentVectors.Dimensions}))";

    /// <summary>The query vector as the index compares it (parameter <c>$1</c>).</summary>
    private static readonly string HalfQuery = $"$1::halfvec({ContentVectors.Dimensions})";

    private static readonly string Schema = $"""
        CREATE EXTENSION IF NOT EXISTS vector;
        CREATE TABLE IF NOT EXISTS content_items (
            content_type text COLLATE "C" NOT NULL,
            content_id text COLLATE "C" NOT NULL,
            title text NOT NULL,
            description text NOT NULL,
            metadata jsonb NOT NULL,
            chunk_count integer NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            embedding vector({ContentVectors.Dimensions}) NOT NULL,
            created_by text,
            PRIMARY KEY (content_type, content_id)
        );
        -- content_items may be under a concurrent index build (below): its DDL takes no lock on it when there is nothing to do.
        -- Items got owners after the first release: rows from before have none, so they belong to the platform.
        {PgSchema.AddColumnIfMissing("content_items", "created_by", "text")}
        CREATE TABLE IF NOT EXISTS content_chunks (
            id text PRIMARY KEY,
            content_type text COLLATE "C" NOT NULL,
            content_id text COLLATE "C" NOT NULL,
            chunk_index integer NOT NULL,
            embedding vector({ContentVectors.Dimensions}) NOT NULL,
            FOREIGN KEY (content_type, content_id) REFERENCES content_items (content_type, content_id) ON DELETE CASCADE
        );
        CREATE INDEX IF NOT EXISTS content_chunks_item_idx ON content_chunks (content_type, content_id);
        -- Searches walk an HNSW graph over half-precision copies of the item vectors (half the bytes per distance and
        -- per page) and re-rank what it finds by the full-precision vectors. An empty catalog gets the index here; one
        -- with rows (a database from before) gets it built concurrently after start (PgVectorStore.Index.cs).
        {SearchIndexOnEmptyCatalog}
        {PgSchema.CreateIndexIfMissing("content_items", "content_items_content_type_idx", "(content_type)")}
        {PgLexicalIndex.Schema}
        {IdempotencyKeyTable.Postgres.Schema}
        {PgItemGraph.Schema}
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly ILogger _logger;
    private readonly KeyPurgeSchedule _keyPurge = new();

    public PgVectorStore(string connectionString, ILogger logger)
        : this(BuildDataSource(connectionString), logger, ownsDataSource: true)
    {
    }

    /// <param name="dataSource">Built with <c>UseVector()</c>.</param>
    public PgVectorStore(NpgsqlDataSource dataSource, ILogger logger)
        : this(dataSource, logger, ownsDataSource: false)
    {
    }

    private PgVectorStore(NpgsqlDataSource dataSource, ILogger logger, bool ownsDataSource)
    {
        _dataSource = dataSource;
        _logger = logger;
        _ownsDataSource = ownsDataSource;
        Graph = new PgItemGraph(dataSource, logger);
    }

    /// <summary>The catalog's k-nearest-neighbour lists, kept with every write (see <see cref="PgItemGraph"/>).</summary>
    public PgItemGraph Graph { get; }

    /// <summary>
    /// The least <c>hnsw.ef_search</c> of an unfiltered search (<c>VectorSearch__EfSearch</c>); a filtered search
    /// takes at least 100, and one fetching many candidates twice what it fetches. A larger catalog needs a wider
    /// beam for the same recall: docs/benchmarks.md measures the trade at 10k, 100k and 1M items.
    /// </summary>
    public int EfSearch
    {
        get => _efSearch;
        init => _efSearch = CheckedEfSearch(value);
    }

    /// <summary>
    /// How many of the index's nearest (by half-precision distance) a search of <paramref name="fetch"/> items takes and
    /// re-ranks exactly: 30 more than the fetch (a top 10 re-ranks 40; docs/benchmarks.md, "pgvector at one million
    /// items"), never more than the widest beam. The walk's beam is no narrower, and a beam as wide as what it keeps
    /// already holds most of the exact nearest: a recommendation's pool of 150 at a beam of 180 holds 0.976 of the exact
    /// 150 at 100,000 items, 0.985 at twice that beam, which costs the walk twice the time ("A pgvector miss's pool").
    /// </summary>
    internal static int RerankCandidates(int fetch) => (int)Math.Min(MaxEfSearch, fetch + 30L);

    /// <summary>The value, if pgvector takes it as <see cref="EfSearch"/> and a top 10 can fill; else an error naming the setting.</summary>
    public static int CheckedEfSearch(int value) => value is >= MinEfSearch and <= MaxEfSearch
        ? value
        : throw new ArgumentOutOfRangeException(nameof(EfSearch), value, $"VectorSearch:EfSearch must be between {MinEfSearch} and {MaxEfSearch}.");

    public string Backend => "pgvector";

    public static NpgsqlDataSource BuildDataSource(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(PostgresConnections.Tuned(connectionString));
        builder.UseVector();
        return builder.Build();
    }

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await PgSchema.ApplyAsync(connection, Schema, cancellationToken);
        // The vector type may have been created just now, after the data source loaded its types.
        await connection.ReloadTypesAsync(cancellationToken);
        await Graph.InitializeAsync(connection, cancellationToken);
        await InitializeSearchIndexAsync(connection, cancellationToken);
        _logger.LogInformation("pgvector store ready on {Database}", connection.Database);
    }

    public Task<IReadOnlyList<string>> UpsertAsync(ContentRecord content, IReadOnlyList<float[]> chunkVectors, CancellationToken cancellationToken = default) =>
        WriteAsync(content, chunkVectors, ContentWriter.Platform, null, cancellationToken, null);

    public Task<IReadOnlyList<string>> UpsertAsync(
        ContentRecord content, IReadOnlyList<float[]> chunkVectors, ContentWriter writer, IdempotencyClaim? claim = null, IdempotentAnswer? answer = null,
        CancellationToken cancellationToken = default, WriteCheck? check = null) =>
        WriteAsync(content, chunkVectors, writer, claim is null ? null
            : (NpgsqlBatchCommand)IdempotencyKeyTable.Postgres.Answer(new NpgsqlBatchCommand(), claim, answer ?? throw new ArgumentNullException(nameof(answer))),
            cancellationToken, check);

    public async Task<IdempotencyClaim> ClaimKeyAsync(IdempotentRequest request, DateTime now, CancellationToken cancellationToken = default)
    {
        if (_keyPurge.Due(now))
        {
            await PurgeExpiredKeysAsync(now, cancellationToken);
        }
        return await PostgresConnections.RunAsync(_dataSource,
            connection => IdempotencyKeyTable.Postgres.ClaimAsync(connection.CreateCommand, request, now, cancellationToken), cancellationToken);
    }

    public Task ReleaseKeyAsync(IdempotencyClaim claim, CancellationToken cancellationToken = default) =>
        PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await IdempotencyKeyTable.Postgres.ReleaseAsync(connection.CreateCommand(), claim, cancellationToken);
            return true;
        }, cancellationToken);

    public Task<int> PurgeExpiredKeysAsync(DateTime now, CancellationToken cancellationToken = default) =>
        PostgresConnections.RunAsync(_dataSource, connection => IdempotencyKeyTable.Postgres.PurgeAsync(connection.CreateCommand(), now, cancellationToken), cancellationToken);

    private async Task<IReadOnlyList<string>> WriteAsync(
        ContentRecord content, IReadOnlyList<float[]> chunkVectors, ContentWriter writer, NpgsqlBatchCommand? answer, CancellationToken cancellationToken,
        WriteCheck? check)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var record = ContentVectors.Normalise(content, chunkVectors);
        var key = ContentVectors.KeyOf(record);
        var ids = Enumerable.Range(0, chunkVectors.Count).Select(i => ContentVectors.ChunkId(key, i)).ToArray();
        var vector = ContentVectors.ItemVector(chunkVectors);

        return await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var graph = await PgItemGraph.BeginWriteAsync(connection, transaction, key, cancellationToken);
        if (check is not null)
        {
            // After the write lock (BeginWriteAsync): each statement (read committed) sees every catalog write committed
            // before this one, and none commits until this one ends.
            await check((keys, ct) => ReadMetadataAsync(connection, transaction, keys, ct), cancellationToken);
        }
        await using var batch = new NpgsqlBatch(connection, transaction);
        // The owner is checked by the upsert itself (the row is locked by then): a row the writer may not replace is
        // left as it is and counts no row, and the transaction is rolled back. The owner of a row is never changed.
        var upsert = Command("""
            INSERT INTO content_items (content_type, content_id, title, description, metadata, chunk_count, created_at, updated_at, embedding, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (content_type, content_id) DO UPDATE SET title = EXCLUDED.title, description = EXCLUDED.description,
                metadata = EXCLUDED.metadata, chunk_count = EXCLUDED.chunk_count, created_at = EXCLUDED.created_at,
                updated_at = EXCLUDED.updated_at, embedding = EXCLUDED.embedding
                WHERE $11 OR content_items.created_by = $10
            """,
            record.ContentType, record.ContentId, record.Title, record.Description,
            new NpgsqlParameter { Value = record.Metadata, NpgsqlDbType = NpgsqlDbType.Jsonb },
            record.ChunkCount, record.CreatedAt, record.UpdatedAt, new Vector(vector),
            new NpgsqlParameter { Value = (object?)writer.Subject ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            writer.MayReplaceAny);
        batch.BatchCommands.Add(upsert);
        batch.BatchCommands.Add(Command("DELETE FROM content_chunks WHERE content_type = $1 AND content_id = $2", record.ContentType, record.ContentId));
        batch.BatchCommands.Add(Command("""
            INSERT INTO content_chunks (id, content_type, content_id, chunk_index, embedding)
            SELECT c.id, $2, $3, c.ordinal - 1, c.embedding FROM unnest($1::text[], $4::vector[]) WITH ORDINALITY AS c(id, embedding, ordinal)
            """,
            ids, record.ContentType, record.ContentId, chunkVectors.Select(v => new Vector(v)).ToArray()));
        if (answer is not null)
        {
            batch.BatchCommands.Add(answer);
        }
        await batch.ExecuteNonQueryAsync(cancellationToken);
        if (upsert.RecordsAffected == 0)
        {
            // The chunk statements ran against an item that is not the writer's: disposing the transaction undoes them.
            throw new ContentOwnedByAnotherException(key);
        }
        await PgItemGraph.EndWriteAsync(connection, transaction, graph, vector, ItemWords.Distinct(record.Title, record.Description), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        Graph.ForgetWordCounts();
        return (IReadOnlyList<string>)ids;
        }, cancellationToken);
    }

    public async Task<ContentRecord?> GetAsync(ContentKey key, CancellationToken cancellationToken = default)
    {
        return await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var command = new NpgsqlCommand($"SELECT {RecordColumns} FROM content_items WHERE content_type = $1 AND content_id = $2", connection);
            AddParameters(command.Parameters, key.ContentType, key.ContentId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadRecord(reader) : null;
        }, cancellationToken);
    }

    public async Task<float[]?> GetVectorAsync(ContentKey key, CancellationToken cancellationToken = default)
    {
        return await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var command = new NpgsqlCommand("SELECT embedding FROM content_items WHERE content_type = $1 AND content_id = $2", connection);
            AddParameters(command.Parameters, key.ContentType, key.ContentId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? reader.GetFieldValue<Vector>(0).ToArray() : null;
        }, cancellationToken);
    }

    /// <summary>The stored metadata of <paramref name="keys"/>, read in the write's transaction (<see cref="InTransactionReader"/>).</summary>
    private static async Task<IReadOnlyDictionary<ContentKey, string>> ReadMetadataAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyCollection<ContentKey> keys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<ContentKey, string>(keys.Count);
        if (keys.Count == 0)
        {
            return found;
        }
        await using var command = new NpgsqlCommand("""
            SELECT i.content_type, i.content_id, i.metadata::text FROM content_items AS i
            JOIN unnest($1::text[], $2::text[]) AS k(content_type, content_id) USING (content_type, content_id)
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.ContentType).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.ContentId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found[new ContentKey(reader.GetString(0), reader.GetString(1))] = reader.GetString(2);
        }
        return found;
    }

    public async Task<IReadOnlyList<ContentVector>> GetManyAsync(IReadOnlyCollection<ContentKey> keys, CancellationToken cancellationToken = default)
    {
        var found = new List<ContentVector>(keys.Count);
        if (keys.Count == 0)
        {
            return found;
        }
        return await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
        // Two parallel arrays unnested together: one statement whatever the number of keys.
        await using var command = new NpgsqlCommand($"""
            SELECT {RecordColumns}, embedding FROM content_items AS i
            JOIN unnest($1::text[], $2::text[]) AS k(content_type, content_id) USING (content_type, content_id)
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.ContentType).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.ContentId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(new ContentVector(ReadRecord(reader), reader.GetFieldValue<Vector>(9).ToArray()));
        }
        return (IReadOnlyList<ContentVector>)found;
        }, cancellationToken);
    }

    public async Task<(int Count, IReadOnlyList<ContentRecord> Items)> ListAsync(string? contentType, int skip, int take, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        ArgumentOutOfRangeException.ThrowIfNegative(take);
        const string filter = "WHERE ($1::text IS NULL OR content_type = $1)";
        return await CountAndPageAsync(
            $"SELECT count(*)::int FROM content_items {filter}",
            $"SELECT {RecordColumns} FROM content_items {filter} ORDER BY content_type, content_id OFFSET $2 LIMIT $3",
            () => [new() { Value = (object?)contentType ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text }], skip, take, cancellationToken);
    }

    /// <summary>
    /// A count and a page of records in one round trip and one snapshot: both statements take the filter's
    /// parameters, the page's also its offset and limit after them.
    /// </summary>
    private async Task<(int Count, IReadOnlyList<ContentRecord> Items)> CountAndPageAsync(
        string countSql, string pageSql, Func<NpgsqlParameter[]> parameters, int skip, int take, CancellationToken cancellationToken) =>
        await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
            await using var batch = new NpgsqlBatch(connection, transaction);
            batch.BatchCommands.Add(Command(countSql, parameters()));
            batch.BatchCommands.Add(Command(pageSql, [.. parameters(), (long)skip, (long)take]));
            var items = new List<ContentRecord>();
            int count;
            await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
            {
                await reader.ReadAsync(cancellationToken);
                count = reader.GetInt32(0);
                await reader.NextResultAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    items.Add(ReadRecord(reader));
                }
            }
            await transaction.CommitAsync(cancellationToken);
            return (count, (IReadOnlyList<ContentRecord>)items);
        }, cancellationToken);

    // The facts ContentFacts reads, in SQL: a string level (lower-case) or topic, trimmed; a duration given as a positive
    // number or as the text of one (a CSV import leaves text); anything else is no fact.
    private const string LevelSql = "(CASE WHEN jsonb_typeof(metadata->'level') = 'string' THEN NULLIF(lower(btrim(metadata->>'level')), '') END)";
    private const string TopicSql = "(CASE WHEN jsonb_typeof(metadata->'topic') = 'string' THEN NULLIF(btrim(metadata->>'topic'), '') END)";
    private const string DurationSql = """
        NULLIF(GREATEST(CASE jsonb_typeof(metadata->'duration_minutes')
            WHEN 'number' THEN (metadata->>'duration_minutes')::numeric
            WHEN 'string' THEN CASE WHEN btrim(metadata->>'duration_minutes') ~ '^[+]?[0-9]{1,15}(\.[0-9]{0,15})?$'
                THEN btrim(metadata->>'duration_minutes')::numeric END
            END, 0), 0)::float8
        """;

    public async Task<(int Count, IReadOnlyList<ContentRecord> Items)> QueryAsync(ContentListQuery query, int skip, int take, CancellationToken cancellationToken = default)
    {
        if (query.IsPlain)
        {
            return await ListAsync(query.ContentType, skip, take, cancellationToken);
        }
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        ArgumentOutOfRangeException.ThrowIfNegative(take);
        var filter = $"""
            WHERE ($1::text IS NULL OR content_type = $1)
              AND ($2::text IS NULL OR {LevelSql} = $2)
              AND ($3::text IS NULL OR lower({TopicSql}) = lower($3))
              AND ($4::float8 IS NULL OR {DurationSql} <= $4)
              AND ($5::text IS NULL OR (jsonb_typeof(metadata->'prerequisites') = 'array' AND metadata->'prerequisites' ? $5))
            """;
        const string title = "lower(title) COLLATE \"C\"";
        var order = query.Sort switch
        {
            ContentSort.Level => $"CASE {LevelSql} WHEN 'beginner' THEN 0 WHEN 'intermediate' THEN 1 WHEN 'advanced' THEN 2 ELSE 3 END, {title}, ",
            ContentSort.Duration => $"{DurationSql} IS NULL, {DurationSql}, {title}, ",
            ContentSort.Title => $"{title}, ",
            _ => "",
        } + "content_type COLLATE \"C\", content_id COLLATE \"C\"";
        NpgsqlParameter[] Parameters() =>
        [
            new() { Value = (object?)query.ContentType ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            new() { Value = (object?)query.Level ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            new() { Value = (object?)query.Topic ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            new() { Value = (object?)query.MaxDurationMinutes ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Double },
            new() { Value = query.Requires is { } requires ? Catalog.ContentFacts.Reference(requires) : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
        ];
        return await CountAndPageAsync(
            $"SELECT count(*)::int FROM content_items {filter}",
            $"SELECT {RecordColumns} FROM content_items {filter} ORDER BY {order} OFFSET $6 LIMIT $7",
            Parameters, skip, take, cancellationToken);
    }

    public async Task<ContentFacets> FacetsAsync(string? contentType, CancellationToken cancellationToken = default) =>
        await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var command = new NpgsqlCommand($"""
                SELECT 'level', {LevelSql}, count(*)::int FROM content_items WHERE ($1::text IS NULL OR content_type = $1) AND {LevelSql} IS NOT NULL GROUP BY 2
                UNION ALL
                SELECT 'topic', {TopicSql}, count(*)::int FROM content_items WHERE ($1::text IS NULL OR content_type = $1) AND {TopicSql} IS NOT NULL GROUP BY 2
                UNION ALL
                SELECT 'total', '', count(*)::int FROM content_items WHERE ($1::text IS NULL OR content_type = $1)
                """, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)contentType ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            var levels = new List<FacetCount>();
            var topics = new List<FacetCount>();
            var total = 0;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var facet = new FacetCount(reader.GetString(1), reader.GetInt32(2));
                switch (reader.GetString(0))
                {
                    case "level": levels.Add(facet); break;
                    case "topic": topics.Add(facet); break;
                    default: total = facet.Count; break;
                }
            }
            return new ContentFacets(
                [.. levels.OrderBy(f => ContentFacetCounts.LevelOrder(f.Value))], [.. topics.OrderBy(f => f.Value, StringComparer.Ordinal)], total);
        }, cancellationToken);

    public async Task<bool> DeleteAsync(ContentKey key, CancellationToken cancellationToken = default)
    {
        return await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var graph = await PgItemGraph.BeginWriteAsync(connection, transaction, key, cancellationToken);
            await using var command = new NpgsqlCommand("DELETE FROM content_items WHERE content_type = $1 AND content_id = $2", connection, transaction);
            AddParameters(command.Parameters, key.ContentType, key.ContentId);
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken) > 0;
            await PgItemGraph.EndWriteAsync(connection, transaction, graph, null, [], cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            Graph.ForgetWordCounts();
            return deleted;
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<SearchHit>> SearchAsync(
        float[] query, int limit, string? contentType = null, IReadOnlySet<ContentKey>? exclude = null, CancellationToken cancellationToken = default)
    {
        using var search = VectorSearchTelemetry.Start(Backend, limit, contentType, exclude?.Count ?? 0);
        IReadOnlyList<SearchHit> hits;
        try
        {
            hits = (await SearchCoreAsync(query, limit, contentType, exclude, withVectors: false, search.Activity, cancellationToken))
                .Select(h => h.Hit).ToList();
        }
        catch (Exception e)
        {
            search.Failed(e);
            throw;
        }
        search.Completed(hits.Count);
        return hits;
    }

    public async Task<IReadOnlyList<ContentVector>> SearchVectorsAsync(
        float[] query, int limit, string? contentType = null, IReadOnlySet<ContentKey>? exclude = null, CancellationToken cancellationToken = default)
    {
        using var search = VectorSearchTelemetry.Start(Backend, limit, contentType, exclude?.Count ?? 0);
        IReadOnlyList<ContentVector> found;
        try
        {
            // The records and vectors come with the search itself, in its statement: those of the rows it keeps only.
            found = (await SearchCoreAsync(query, limit, contentType, exclude, withVectors: true, search.Activity, cancellationToken))
                .Select(h => new ContentVector(h.Hit.Content, h.Vector!)).ToList();
        }
        catch (Exception e)
        {
            search.Failed(e);
            throw;
        }
        search.Completed(found.Count);
        return found;
    }

    private async Task<IReadOnlyList<(SearchHit Hit, float[]? Vector)>> SearchCoreAsync(
        float[] query, int limit, string? contentType, IReadOnlySet<ContentKey>? exclude, bool withVectors, Activity? activity, CancellationToken cancellationToken)
    {
        var unit = ContentVectors.UnitQuery(query);
        if (limit <= 0)
        {
            return [];
        }
        var excluded = exclude?.ToArray() ?? [];
        // Over-fetch by the exclusions: they may sit among the nearest candidates the index walks first.
        var fetch = (int)Math.Min(int.MaxValue, (long)limit + excluded.Length);
        var exactScan = fetch > MaxEfSearch;
        // The index ranks by half-precision distance: more candidates than asked for are taken from it and re-ranked
        // by the exact distance, so an item that half precision puts just below the cut still makes it.
        var candidates = exactScan ? fetch : RerankCandidates(fetch);
        // A filtered walk throws most candidates away; a wider beam wins back part of the recall at little cost
        // (type = 10% of the items: 0.86 -> 0.89 at 10k items, 0.94 -> 0.95 at 100k).
        var efSearch = Math.Clamp(candidates, contentType is null ? _efSearch : Math.Max(_efSearch, FilteredEfSearch), MaxEfSearch);
        // Until the half-precision index is valid (built after start over an existing catalog), the walk is ordered by the
        // exact distance: the previous index serves that, or else it is an exact scan. Either way the answer is right.
        var halfIndex = _searchIndexReady;
        activity?.SetTag("vector.ef_search", efSearch);
        activity?.SetTag("vector.candidates", candidates);
        activity?.SetTag("vector.exact_scan", exactScan);
        activity?.SetTag("vector.half_index", halfIndex);

        return await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(Command(SearchSettingsSql(exactScan), efSearch.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        batch.BatchCommands.Add(Command(NearestSql(contentType is not null, excluded.Length > 0, withVectors, halfIndex && !exactScan),
            new Vector(unit), (long)candidates,
            new NpgsqlParameter { Value = (object?)contentType ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            excluded.Select(k => k.ContentType).ToArray(), excluded.Select(k => k.ContentId).ToArray(), (long)limit));

        var hits = new List<(SearchHit, float[]?)>(Math.Min(limit, 1024));
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                hits.Add((new SearchHit(ReadRecord(reader), 1 - reader.GetDouble(9)), withVectors ? reader.GetFieldValue<Vector>(10).ToArray() : null));
            }
        }
        await transaction.CommitAsync(cancellationToken);
        return (IReadOnlyList<(SearchHit, float[]?)>)hits;
        }, cancellationToken);
    }

    /// <summary>
    /// The settings of a search's transaction ($1 the beam). Prepared, the search could settle on one generic plan for
    /// every query vector and limit: each is planned for its own. The walk is the index's: pgvector prices an HNSW scan
    /// by the beam, and a wide one (a recommendation miss walked with 310 when it re-ranked twice its fetch; a configured
    /// beam may be as wide) on a catalog of some thousands is priced as reading the whole index, so the planner preferred
    /// to convert every row to half precision and sort them all (10,000 items: 1.6 cores of PostgreSQL for 13
    /// recommendation misses a second). With sorting priced out, the only
    /// plan that yields rows in distance order without one is the walk; the price that puts on the plan would also
    /// have it compiled by the JIT (half a second per search, never repaid), so the JIT is off. Beyond what one walk
    /// yields comfortably (<paramref name="exactScan"/>) it is the other way round: an exact scan is the complete answer.
    /// </summary>
    internal static string SearchSettingsSql(bool exactScan) =>
        "SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true), " +
        "set_config('plan_cache_mode', 'force_custom_plan', true), set_config('jit', 'off', true), " +
        (exactScan ? "set_config('enable_indexscan', 'off', true)" : "set_config('enable_sort', 'off', true)");

    /// <summary>
    /// The search statement: $1 the query vector, $2 how many candidates the walk takes, $3 the type, $4/$5 the excluded
    /// keys' types and ids, $6 how many are kept. Columns: <see cref="RecordColumns"/>, the exact distance, and with
    /// <paramref name="withVectors"/> the vector.
    /// <para>
    /// The walk (the HNSW index over half precision when <paramref name="halfIndex"/>, else ordered by the exact distance:
    /// the previous index or an exact scan) yields each candidate's row address, key and exact distance only; the
    /// excluded keys are dropped from those, the best <c>$6</c> by exact distance (relaxed_order may also return them
    /// slightly out of order) are kept, and only their
    /// rows are read again, by address, for the record. The addresses are those of the row versions this statement's
    /// snapshot saw, so the second read finds the same versions.
    /// </para>
    /// </summary>
    internal static string NearestSql(bool filtered, bool excluding, bool withVectors, bool halfIndex)
    {
        // The exclusions are applied to what the walk yields, not inside it: a walk joined to them is a plan the planner
        // may price above a sequential scan that converts every row to half precision and sorts them all (at 10,000 items
        // and five exclusions it chose that scan).
        // The caller takes as many more candidates as there are exclusions, so as many are left.
        var where = filtered ? "WHERE content_type = $3" : "";
        var keep = excluding
            ? "WHERE NOT EXISTS (SELECT FROM unnest($4::text[], $5::text[]) AS x(content_type, content_id) " +
              "WHERE x.content_type = n.content_type AND x.content_id = n.content_id) "
            : "";
        return $"""
            WITH nearest AS MATERIALIZED (
                SELECT i.ctid AS row_id, i.content_type, i.content_id, embedding <=> $1 AS distance FROM content_items AS i
                {where}
                ORDER BY {(halfIndex ? $"{HalfEmbedding} <=> {HalfQuery}" : "embedding <=> $1")} LIMIT $2)
            SELECT {RecordColumns}, k.distance{(withVectors ? ", embedding" : "")}
            FROM (SELECT row_id, distance FROM nearest AS n {keep}ORDER BY distance LIMIT $6) AS k
            JOIN content_items ON content_items.ctid = k.row_id
            ORDER BY k.distance
            """;
    }

    public async Task<int> CountAsync(CancellationToken cancellationToken = default)
    {
        return await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var command = new NpgsqlCommand("SELECT count(*)::int FROM content_items", connection);
            return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
        }, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await StopSearchIndexAsync();
        await Graph.DisposeAsync();
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync();
        }
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        AddParameters(command.Parameters, values);
        return command;
    }

    private static void AddParameters(NpgsqlParameterCollection parameters, params object[] values)
    {
        foreach (var value in values)
        {
            parameters.Add(value as NpgsqlParameter ?? new NpgsqlParameter { Value = value });
        }
    }

    private static ContentRecord ReadRecord(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
        reader.GetInt32(5), reader.GetDateTime(6), reader.GetDateTime(7), reader.IsDBNull(8) ? null : reader.GetString(8));
}
