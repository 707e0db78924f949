using System.Collections.Concurrent;
using System.Diagnostics;
using CyberHub.Ai.Recommendations;
using CyberHub.ServiceDefaults.Data;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Pgvector;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// The pgvector store's item graph, in two tables beside the catalog:
/// <list type="bullet">
/// <item><c>item_neighbours</c>: one row per edge (item → neighbour, similarity), keyed by the item and indexed by the
/// neighbour, so both "the list of x" and "the lists that hold x" are index look-ups;</item>
/// <item><c>item_neighbour_floors</c>: the k-th similarity of every full list, the bar a newcomer must clear to enter it;</item>
/// <item><c>item_hubness</c>: the mean similarity of every list, recomputed with the list, so a recommendation reads one row
/// per candidate instead of aggregating its list;</item>
/// <item><c>item_vector_sum</c>: one row, the sum of every item's vector and their count, changed by every write whatever
/// the graph's state (<see cref="CatalogMeanAsync"/>), and whether <c>item_word_items</c> has been counted;</item>
/// <item><c>item_word_items</c>: for every word of the items' titles and descriptions (<see cref="ItemWords"/>), how many
/// items hold it, changed by every write whatever the graph's state (<see cref="TermItemsAsync"/>).</item>
/// </list>
/// Every catalog write takes a per-schema advisory lock first and keeps the graph exact in its own transaction:
/// <list type="bullet">
/// <item>an upsert with a new vector runs one sequential scan of <c>content_items</c> computing every item's similarity to
/// it: the top k become its list, and it enters (ON CONFLICT DO NOTHING) every list whose floor it beats or that has no
/// floor (not full); the lists it entered are cut back to k and their floors recomputed;</item>
/// <item>a delete, or a vector that changed, removes the item from every list that held it (the reverse index) and refills
/// those lists exactly: one scan per list, all in one statement.</item>
/// </list>
/// The scans are exact, not the HNSW index: an index walk can miss a neighbour, and a list must equal the exact one. The
/// lock serialises catalog writes (a few per second at 100k items), which is what makes concurrent writers see each
/// other. A graph found unbuilt at start (an earlier version's database, or after <see cref="DeferAsync"/>) is built in
/// the background, in memory, all pairs, by one instance at a time; writes meanwhile are noted in
/// <c>item_graph_pending</c> and redone when the build is stored.
/// </summary>
public sealed class PgItemGraph : IMaintainedItemGraph, IAsyncDisposable
{
    internal static readonly string Schema = $"""
        CREATE TABLE IF NOT EXISTS item_neighbours (
            content_type text COLLATE "C" NOT NULL,
            content_id text COLLATE "C" NOT NULL,
            neighbour_type text COLLATE "C" NOT NULL,
            neighbour_id text COLLATE "C" NOT NULL,
            similarity double precision NOT NULL,
            PRIMARY KEY (content_type, content_id, neighbour_type, neighbour_id)
        );
        CREATE INDEX IF NOT EXISTS item_neighbours_neighbour_idx ON item_neighbours (neighbour_type, neighbour_id);
        CREATE TABLE IF NOT EXISTS item_neighbour_floors (
            content_type text COLLATE "C" NOT NULL,
            content_id text COLLATE "C" NOT NULL,
            floor double precision NOT NULL,
            PRIMARY KEY (content_type, content_id)
        );
        CREATE TABLE IF NOT EXISTS item_hubness (
            content_type text COLLATE "C" NOT NULL,
            content_id text COLLATE "C" NOT NULL,
            hubness double precision NOT NULL,
            PRIMARY KEY (content_type, content_id)
        );
        CREATE TABLE IF NOT EXISTS item_graph_state (
            id integer PRIMARY KEY CHECK (id = 1),
            state text NOT NULL CHECK (state IN ('stale', 'building', 'built'))
        );
        CREATE TABLE IF NOT EXISTS item_vector_sum (
            id integer PRIMARY KEY CHECK (id = 1),
            total double precision[] NOT NULL,
            items bigint NOT NULL
        );
        {PgSchema.AddColumnIfMissing("item_vector_sum", "words_counted", "boolean NOT NULL DEFAULT false")}
        CREATE TABLE IF NOT EXISTS item_word_items (
            word text COLLATE "C" PRIMARY KEY,
            items bigint NOT NULL
        );
        CREATE TABLE IF NOT EXISTS item_graph_pending (
            content_type text COLLATE "C" NOT NULL,
            content_id text COLLATE "C" NOT NULL,
            PRIMARY KEY (content_type, content_id)
        );
        """;

    private const int K = ItemGraph.K;
    // Two-key advisory locks, the second key the schema: stores in different schemas of one database do not wait on each other.
    private const int WriteLockKey = 0x4b4e4e31;
    private const int BuildLockKey = 0x4b4e4e32;
    private static readonly string WriteLock = $"SELECT pg_advisory_xact_lock({WriteLockKey}, hashtext(current_schema()))";

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();

    internal PgItemGraph(NpgsqlDataSource dataSource, ILogger logger)
    {
        _dataSource = dataSource;
        _logger = logger;
    }

    public bool BuildOnStart { get; set; } = true;

    public RetrySchedule BuildRetry
    {
        get;
        set => field = value ?? throw new ArgumentNullException(nameof(value));
    } = RetrySchedule.Default;

    public Task Building { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// What a write found when it took the lock: the graph's state, the item's vector and words before the write (none:
    /// a new item) and the catalog's vector sum.
    /// </summary>
    internal readonly record struct Write(ContentKey Key, string State, float[]? Before, IReadOnlyCollection<string> WordsBefore, CatalogVectorSum? Sum);

    public async Task<IReadOnlyDictionary<ContentKey, IReadOnlyList<Neighbour>>> NeighboursAsync(
        IReadOnlyCollection<ContentKey> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var found = new Dictionary<ContentKey, IReadOnlyList<Neighbour>>();
        if (items.Count == 0)
        {
            return found;
        }
        var keys = items.Distinct().ToArray();
        return await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT n.content_type, n.content_id, n.neighbour_type, n.neighbour_id, n.similarity FROM item_neighbours AS n
                JOIN unnest($1::text[], $2::text[]) AS k(content_type, content_id) USING (content_type, content_id)
                ORDER BY n.content_type, n.content_id, n.similarity DESC, n.neighbour_type, n.neighbour_id
                """, connection);
            command.Parameters.Add(TextArray(keys.Select(k => k.ContentType)));
            command.Parameters.Add(TextArray(keys.Select(k => k.ContentId)));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            List<Neighbour>? list = null;
            var current = default(ContentKey);
            while (await reader.ReadAsync(cancellationToken))
            {
                var item = new ContentKey(reader.GetString(0), reader.GetString(1));
                if (list is null || item != current)
                {
                    found[item] = list = new List<Neighbour>(K);
                    current = item;
                }
                list.Add(new Neighbour(new ContentKey(reader.GetString(2), reader.GetString(3)), reader.GetDouble(4)));
            }
            return (IReadOnlyDictionary<ContentKey, IReadOnlyList<Neighbour>>)found;
        }, cancellationToken);
    }

    public async Task<IReadOnlyDictionary<ContentKey, double>> HubnessAsync(
        IReadOnlyCollection<ContentKey> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var found = new Dictionary<ContentKey, double>();
        if (items.Count == 0)
        {
            return found;
        }
        var keys = items.Distinct().ToArray();
        return await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            // Kept with the lists: one row per item, where averaging each list here read ten (a fifth of a pgvector miss's
            // database time, docs/benchmarks.md).
            await using var command = new NpgsqlCommand("""
                SELECT h.content_type, h.content_id, h.hubness FROM item_hubness AS h
                JOIN unnest($1::text[], $2::text[]) AS k(content_type, content_id) USING (content_type, content_id)
                """, connection);
            command.Parameters.Add(TextArray(keys.Select(k => k.ContentType)));
            command.Parameters.Add(TextArray(keys.Select(k => k.ContentId)));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                found[new ContentKey(reader.GetString(0), reader.GetString(1))] = reader.GetDouble(2);
            }
            return (IReadOnlyDictionary<ContentKey, double>)found;
        }, cancellationToken);
    }

    /// <summary>
    /// How long word counts read from <c>item_word_items</c> are answered from memory: a word's weight moves slowly with
    /// the catalog, and the catalog's vocabulary is shared by every learner, so most misses read no word at all. A catalog
    /// write through this instance forgets them at once; another instance's write shows within this time.
    /// </summary>
    public static readonly TimeSpan WordCountsKept = TimeSpan.FromMinutes(5);

    /// <summary>The most words held in memory before the counts are read afresh.</summary>
    private const int MostWordsKept = 200_000;

    private sealed class WordCounts
    {
        public readonly ConcurrentDictionary<string, long> PerWord = new(StringComparer.Ordinal);
        public readonly long Born = Stopwatch.GetTimestamp();
        public long Items = -1;
    }

    private volatile WordCounts _wordCounts = new();

    /// <summary>Forgets the word counts held in memory: called after a catalog write through this instance commits.</summary>
    internal void ForgetWordCounts() => _wordCounts = new();

    public async Task<TermItems> TermItemsAsync(IReadOnlyCollection<string> words, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(words);
        var kept = _wordCounts;
        if (Stopwatch.GetElapsedTime(kept.Born) > WordCountsKept || kept.PerWord.Count > MostWordsKept)
        {
            _wordCounts = kept = new WordCounts();
        }
        var missing = words.Where(w => !kept.PerWord.ContainsKey(w)).Distinct(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0 || Interlocked.Read(ref kept.Items) < 0)
        {
            await PostgresConnections.RunAsync(_dataSource, async connection =>
            {
                await using var batch = new NpgsqlBatch(connection)
                {
                    BatchCommands =
                    {
                        new("SELECT items FROM item_vector_sum WHERE id = 1"),
                        // One index probe a word, whatever the plan would make of a long array (a seq scan, a hash of the table).
                        Command("""
                            SELECT u.word, (SELECT w.items FROM item_word_items AS w WHERE w.word = u.word COLLATE "C") FROM unnest($1::text[]) AS u(word)
                            """, TextArray(missing)),
                    },
                };
                await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
                Interlocked.Exchange(ref kept.Items, await reader.ReadAsync(cancellationToken) ? reader.GetInt64(0) : 0);
                await reader.NextResultAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    // A word no item holds is kept as 0, so it is not asked for again.
                    kept.PerWord[reader.GetString(0)] = reader.IsDBNull(1) ? 0 : reader.GetInt64(1);
                }
                return true;
            }, cancellationToken);
        }
        var found = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var word in words)
        {
            if (kept.PerWord.TryGetValue(word, out var items) && items > 0)
            {
                found[word] = items;
            }
        }
        return new TermItems(Interlocked.Read(ref kept.Items), found);
    }

    public async Task<float[]?> CatalogMeanAsync(CancellationToken cancellationToken = default) =>
        await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var command = new NpgsqlCommand("SELECT total, items FROM item_vector_sum WHERE id = 1", connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? SumOf(reader).Mean() : null;
        }, cancellationToken);

    public async Task<bool> IsBuiltAsync(CancellationToken cancellationToken = default) =>
        await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var command = new NpgsqlCommand("SELECT state FROM item_graph_state WHERE id = 1", connection);
            return await command.ExecuteScalarAsync(cancellationToken) is "built";
        }, cancellationToken);

    public async Task DeferAsync(CancellationToken cancellationToken = default) =>
        await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await ExecuteAsync(connection, transaction, WriteLock, cancellationToken);
            await SetStateAsync(connection, transaction, "stale", cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return true;
        }, cancellationToken);

    public Task<bool> RebuildAsync(CancellationToken cancellationToken = default) => BuildAsync(force: true, cancellationToken);

    /// <summary>After the schema: marks an empty catalog's graph built, or starts building a missing one.</summary>
    internal async Task InitializeAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using (var command = new NpgsqlCommand("""
            INSERT INTO item_graph_state (id, state)
            SELECT 1, CASE WHEN EXISTS (SELECT FROM content_items) THEN 'stale' ELSE 'built' END
            ON CONFLICT (id) DO NOTHING
            """, connection))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await FillHubnessAsync(connection, cancellationToken);
        await FillVectorSumAsync(connection, cancellationToken);
        await CountWordsAsync(connection, cancellationToken);
        await using var state = new NpgsqlCommand("SELECT state FROM item_graph_state WHERE id = 1", connection);
        if (await state.ExecuteScalarAsync(cancellationToken) is "built" || !BuildOnStart)
        {
            return;
        }
        _logger.LogInformation("Item graph not built: building it in the background");
        Building = ItemGraph.BuildInBackground(ct => BuildAsync(force: false, ct), _logger, BuildRetry, _stopping.Token);
    }

    /// <summary>
    /// Lists with no hubness row: a graph stored before <c>item_hubness</c> existed gets every list's mean once, under the
    /// write lock (a write keeps it from then on). On every later start this is one probe that finds nothing to do.
    /// </summary>
    private static async Task FillHubnessAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using (var probe = new NpgsqlCommand(
            "SELECT EXISTS (SELECT FROM item_neighbours) AND NOT EXISTS (SELECT FROM item_hubness)", connection))
        {
            if (await probe.ExecuteScalarAsync(cancellationToken) is not true)
            {
                return;
            }
        }
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, WriteLock, cancellationToken);
        await ExecuteAsync(connection, transaction, """
            INSERT INTO item_hubness (content_type, content_id, hubness)
            SELECT content_type, content_id, avg(similarity) FROM item_neighbours GROUP BY content_type, content_id
            ON CONFLICT (content_type, content_id) DO UPDATE SET hubness = EXCLUDED.hubness
            """, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// No vector sum row (a database from before it, or items copied in around the store): the sum is computed once, under
    /// the write lock, from pgvector's mean of the stored vectors (a write keeps it from then on). On every later start
    /// this is one probe that finds the row.
    /// </summary>
    private static async Task FillVectorSumAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using (var probe = new NpgsqlCommand("SELECT EXISTS (SELECT FROM item_vector_sum)", connection))
        {
            if (await probe.ExecuteScalarAsync(cancellationToken) is true)
            {
                return;
            }
        }
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, WriteLock, cancellationToken);
        var sum = CatalogVectorSum.Empty;
        await using (var mean = new NpgsqlCommand("SELECT avg(embedding), count(*) FROM content_items", connection, transaction))
        {
            await using var reader = await mean.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken) && reader.GetInt64(1) is var items and > 0)
            {
                var average = reader.GetFieldValue<Vector>(0).ToArray();
                sum = new CatalogVectorSum([.. average.Select(x => (double)x * items)], items);
            }
        }
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO item_vector_sum (id, total, items) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING", connection, transaction))
        {
            insert.Parameters.Add(new() { Value = sum.Total.ToArray() });
            insert.Parameters.Add(new() { Value = sum.Items });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Words not counted yet (a database from before <c>item_word_items</c>, or items copied in around the store): every
    /// item's title and description is read once, under the write lock, and the counts stored (a write keeps them from
    /// then on). On every later start this is one probe.
    /// </summary>
    private static async Task CountWordsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using (var probe = new NpgsqlCommand("SELECT NOT words_counted FROM item_vector_sum WHERE id = 1", connection))
        {
            if (await probe.ExecuteScalarAsync(cancellationToken) is not true)
            {
                return;
            }
        }
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, WriteLock, cancellationToken);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var texts = new NpgsqlCommand("SELECT title, description FROM content_items", connection, transaction))
        {
            await using var reader = await texts.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                ItemWords.CountItem(counts, reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1));
            }
        }
        await ExecuteAsync(connection, transaction, "DELETE FROM item_word_items", cancellationToken);
        foreach (var chunk in counts.Chunk(10_000))
        {
            await using var insert = new NpgsqlCommand(
                "INSERT INTO item_word_items (word, items) SELECT * FROM unnest($1::text[], $2::bigint[])", connection, transaction);
            insert.Parameters.Add(TextArray(chunk.Select(c => c.Key)));
            insert.Parameters.Add(new() { Value = chunk.Select(c => c.Value).ToArray() });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await ExecuteAsync(connection, transaction, "UPDATE item_vector_sum SET words_counted = true WHERE id = 1", cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static CatalogVectorSum SumOf(NpgsqlDataReader reader) => new(reader.GetFieldValue<double[]>(0), reader.GetInt64(1));

    /// <summary>First step of a catalog write, before the item row changes: takes the graph's lock, reads its state, the item's vector and the vector sum.</summary>
    internal static async Task<Write> BeginWriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ContentKey key, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new(WriteLock),
                new("SELECT coalesce((SELECT state FROM item_graph_state WHERE id = 1), 'stale')"),
                Command("SELECT embedding, title, description FROM content_items WHERE content_type = $1 AND content_id = $2", key.ContentType, key.ContentId),
                new("SELECT total, items FROM item_vector_sum WHERE id = 1"),
            },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var state = reader.GetString(0);
        await reader.NextResultAsync(cancellationToken);
        float[]? before = null;
        IReadOnlyCollection<string> wordsBefore = [];
        if (await reader.ReadAsync(cancellationToken))
        {
            before = reader.GetFieldValue<Vector>(0).ToArray();
            wordsBefore = ItemWords.Distinct(reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2));
        }
        await reader.NextResultAsync(cancellationToken);
        var sum = await reader.ReadAsync(cancellationToken) ? SumOf(reader) : null;
        return new Write(key, state, before, wordsBefore, sum);
    }

    /// <summary>
    /// Last step of a catalog write, after the item row changed: the graph, the vector sum and the word counts follow
    /// (<paramref name="vector"/> null: deleted; <paramref name="words"/>: the item's words now, <see cref="ItemWords.Distinct"/>).
    /// </summary>
    internal static async Task EndWriteAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Write write, float[]? vector, IReadOnlyCollection<string> words,
        CancellationToken cancellationToken)
    {
        // The word counts and the catalog's vector sum follow every write, whatever the graph's state, in the round trip
        // the graph's own change takes.
        var alongside = new List<NpgsqlBatchCommand>(3);
        var added = words.Except(write.WordsBefore, StringComparer.Ordinal).ToArray();
        var removed = write.WordsBefore.Except(words, StringComparer.Ordinal).ToArray();
        if (added.Length + removed.Length > 0)
        {
            alongside.Add(Command("""
                INSERT INTO item_word_items (word, items) SELECT * FROM unnest($1::text[], $2::bigint[])
                ON CONFLICT (word) DO UPDATE SET items = item_word_items.items + EXCLUDED.items
                """, TextArray(added.Concat(removed)), added.Select(_ => 1L).Concat(removed.Select(_ => -1L)).ToArray()));
            if (removed.Length > 0)
            {
                alongside.Add(Command("DELETE FROM item_word_items WHERE word = ANY($1) AND items <= 0", TextArray(removed)));
            }
        }
        var vectorChanged = !((write.Before is null && vector is null) || (write.Before is not null && vector is not null && write.Before.AsSpan().SequenceEqual(vector)));
        if (vectorChanged && write.Sum is { } before)
        {
            var sum = before.Changed(write.Before, vector);
            alongside.Add(Command("UPDATE item_vector_sum SET total = $1, items = $2 WHERE id = 1", sum.Total.ToArray(), sum.Items));
        }
        if (!vectorChanged || write.State is "stale" or "building")
        {
            await using (var batch = new NpgsqlBatch(connection, transaction))
            {
                foreach (var command in alongside)
                {
                    batch.BatchCommands.Add(command);
                }
                if (vectorChanged && write.State == "building")
                {
                    batch.BatchCommands.Add(Command(
                        "INSERT INTO item_graph_pending (content_type, content_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        write.Key.ContentType, write.Key.ContentId));
                }
                if (batch.BatchCommands.Count > 0)
                {
                    await batch.ExecuteNonQueryAsync(cancellationToken);
                }
            }
            return;
        }
        await RefreshAsync(connection, transaction, write.Key, vector, held: write.Before is not null, alongside, cancellationToken);
    }

    /// <summary>
    /// Takes <paramref name="key"/> out of the graph (if <paramref name="held"/>: out of every list, each refilled exactly)
    /// and, when it has a <paramref name="vector"/>, puts it back: its own list, and into every list it now belongs to.
    /// <paramref name="alongside"/> (the vector sum's and the word counts' changes) ride in the same round trip.
    /// </summary>
    private static async Task RefreshAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, ContentKey key, float[]? vector, bool held, IReadOnlyList<NpgsqlBatchCommand> alongside,
        CancellationToken cancellationToken)
    {
        var holderTypes = new List<string>();
        var holderIds = new List<string>();
        if (held)
        {
            await using var release = new NpgsqlCommand(
                "DELETE FROM item_neighbours WHERE neighbour_type = $1 AND neighbour_id = $2 RETURNING content_type, content_id", connection, transaction);
            release.Parameters.Add(new() { Value = key.ContentType });
            release.Parameters.Add(new() { Value = key.ContentId });
            await using var reader = await release.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                holderTypes.Add(reader.GetString(0));
                holderIds.Add(reader.GetString(1));
            }
        }

        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var command in alongside)
        {
            batch.BatchCommands.Add(command);
        }
        batch.BatchCommands.Add(Command("DELETE FROM item_neighbours WHERE content_type = $1 AND content_id = $2", key.ContentType, key.ContentId));
        batch.BatchCommands.Add(Command("DELETE FROM item_neighbour_floors WHERE content_type = $1 AND content_id = $2", key.ContentType, key.ContentId));
        batch.BatchCommands.Add(Command("DELETE FROM item_hubness WHERE content_type = $1 AND content_id = $2", key.ContentType, key.ContentId));
        if (holderTypes.Count > 0)
        {
            var types = holderTypes.ToArray();
            var ids = holderIds.ToArray();
            batch.BatchCommands.Add(Command("""
                DELETE FROM item_neighbours AS n USING unnest($1::text[], $2::text[]) AS h(content_type, content_id)
                WHERE n.content_type = h.content_type AND n.content_id = h.content_id
                """, TextArray(types), TextArray(ids)));
            // Exact: ordered by an expression the HNSW index does not serve, each list is a scan and a top-k sort.
            batch.BatchCommands.Add(Command("""
                INSERT INTO item_neighbours (content_type, content_id, neighbour_type, neighbour_id, similarity)
                SELECT h.content_type, h.content_id, m.content_type, m.content_id, m.similarity
                FROM unnest($1::text[], $2::text[]) AS h(content_type, content_id)
                JOIN content_items AS y ON y.content_type = h.content_type AND y.content_id = h.content_id
                CROSS JOIN LATERAL (
                    SELECT c.content_type, c.content_id, 1 - (c.embedding <=> y.embedding) AS similarity FROM content_items AS c
                    WHERE NOT (c.content_type = h.content_type AND c.content_id = h.content_id)
                    ORDER BY similarity DESC, c.content_type, c.content_id LIMIT $3) AS m
                """, TextArray(types), TextArray(ids), K));
            // A list refilled empty (a catalog of one) has no mean.
            batch.BatchCommands.Add(Command("""
                DELETE FROM item_hubness AS x USING unnest($1::text[], $2::text[]) AS h(content_type, content_id)
                WHERE x.content_type = h.content_type AND x.content_id = h.content_id
                """, TextArray(types), TextArray(ids)));
            batch.BatchCommands.Add(Command(ListStatsSql("unnest($1::text[], $2::text[]) AS h(content_type, content_id)"), TextArray(types), TextArray(ids), K));
            // A list refilled short (fewer than k other items) has no floor: anything may enter it.
            batch.BatchCommands.Add(Command("""
                DELETE FROM item_neighbour_floors AS f USING unnest($1::text[], $2::text[]) AS h(content_type, content_id)
                WHERE f.content_type = h.content_type AND f.content_id = h.content_id
                  AND (SELECT count(*) FROM item_neighbours AS n WHERE n.content_type = f.content_type AND n.content_id = f.content_id) < $3
                """, TextArray(types), TextArray(ids), K));
        }
        if (vector is not null)
        {
            // One scan: the item's own top k, and the item into every list it beats the floor of.
            batch.BatchCommands.Add(Command("""
                WITH scan AS MATERIALIZED (
                    SELECT content_type, content_id, 1 - (embedding <=> $3) AS similarity FROM content_items
                    WHERE NOT (content_type = $1 AND content_id = $2)),
                own AS (
                    INSERT INTO item_neighbours (content_type, content_id, neighbour_type, neighbour_id, similarity)
                    SELECT $1, $2, content_type, content_id, similarity FROM scan
                    ORDER BY similarity DESC, content_type, content_id LIMIT $4)
                INSERT INTO item_neighbours (content_type, content_id, neighbour_type, neighbour_id, similarity)
                SELECT s.content_type, s.content_id, $1, $2, s.similarity FROM scan AS s
                LEFT JOIN item_neighbour_floors AS f USING (content_type, content_id)
                WHERE f.floor IS NULL OR s.similarity > f.floor
                ON CONFLICT DO NOTHING
                """, key.ContentType, key.ContentId, new Vector(vector), K));
            // Lists that took the item in hold k + 1: the last goes.
            batch.BatchCommands.Add(Command("""
                DELETE FROM item_neighbours AS n USING (
                    SELECT r.content_type, r.content_id, r.neighbour_type, r.neighbour_id FROM (
                        SELECT m.content_type, m.content_id, m.neighbour_type, m.neighbour_id,
                            row_number() OVER (PARTITION BY m.content_type, m.content_id ORDER BY m.similarity DESC, m.neighbour_type, m.neighbour_id) AS rank
                        FROM item_neighbours AS m
                        JOIN (SELECT content_type, content_id FROM item_neighbours WHERE neighbour_type = $1 AND neighbour_id = $2) AS l
                            USING (content_type, content_id)) AS r
                    WHERE r.rank > $3) AS d
                WHERE n.content_type = d.content_type AND n.content_id = d.content_id
                  AND n.neighbour_type = d.neighbour_type AND n.neighbour_id = d.neighbour_id
                """, key.ContentType, key.ContentId, K));
            // The item's own list, and every list it entered (and cut back).
            batch.BatchCommands.Add(Command(ListStatsSql("""
                (SELECT content_type, content_id FROM item_neighbours WHERE neighbour_type = $1 AND neighbour_id = $2
                 UNION SELECT $1, $2) AS l
                """), key.ContentType, key.ContentId, K));
        }
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// One statement that recomputes, from the lists as they now are, the floor (full lists only: $3 is k) and the mean
    /// of every list <paramref name="lists"/> names (a relation of content_type, content_id), in one pass over their rows.
    /// </summary>
    private static string ListStatsSql(string lists) => $"""
        WITH stats AS MATERIALIZED (
            SELECT n.content_type, n.content_id, min(n.similarity) AS floor, avg(n.similarity) AS mean, count(*) AS size
            FROM item_neighbours AS n JOIN {lists} USING (content_type, content_id)
            GROUP BY n.content_type, n.content_id),
        means AS (
            INSERT INTO item_hubness (content_type, content_id, hubness) SELECT content_type, content_id, mean FROM stats
            ON CONFLICT (content_type, content_id) DO UPDATE SET hubness = EXCLUDED.hubness)
        INSERT INTO item_neighbour_floors (content_type, content_id, floor)
        SELECT content_type, content_id, floor FROM stats WHERE size >= $3
        ON CONFLICT (content_type, content_id) DO UPDATE SET floor = EXCLUDED.floor
        """;

    private async Task<bool> BuildAsync(bool force, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using (var claim = new NpgsqlCommand($"SELECT pg_try_advisory_lock({BuildLockKey}, hashtext(current_schema()))", connection))
        {
            if (await claim.ExecuteScalarAsync(cancellationToken) is not true)
            {
                // Another instance is building; it stores the graph for everyone.
                return false;
            }
        }
        try
        {
            return await BuildLockedAsync(connection, force, cancellationToken);
        }
        catch
        {
            PostgresConnections.ForgetPreparedStatements(connection);
            throw;
        }
        finally
        {
            // A connection that broke (its backend terminated, the server restarted) took the session's lock with it.
            if (connection.State == System.Data.ConnectionState.Open)
            {
                try
                {
                    await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({BuildLockKey}, hashtext(current_schema()))", connection);
                    await release.ExecuteNonQueryAsync(CancellationToken.None);
                }
                catch (Exception e)
                {
                    // Not thrown over the build's own outcome; an open connection would go back to the pool holding the
                    // lock, so the pool closes it instead (its session, ending, releases the lock).
                    _logger.LogWarning(e, "Releasing the item graph build's lock failed: closing its connection instead");
                    NpgsqlConnection.ClearPool(connection);
                }
            }
        }
    }

    private async Task<bool> BuildLockedAsync(NpgsqlConnection connection, bool force, CancellationToken cancellationToken)
    {
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await ExecuteAsync(connection, transaction, WriteLock, cancellationToken);
            if (!force && await StateAsync(connection, transaction, cancellationToken) == "built")
            {
                return false;
            }
            // From here on writes note what they touch, so that a snapshot taken after this is brought up to date.
            await SetStateAsync(connection, transaction, "building", cancellationToken);
            await ExecuteAsync(connection, transaction, "DELETE FROM item_graph_pending", cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        var started = Stopwatch.GetTimestamp();
        var keys = new List<ContentKey>();
        var vectors = new List<float>();
        await using (var select = new NpgsqlCommand("SELECT content_type, content_id, embedding FROM content_items", connection))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                keys.Add(new ContentKey(reader.GetString(0), reader.GetString(1)));
                vectors.AddRange(reader.GetFieldValue<Vector>(2).Memory.Span);
            }
        }
        var read = Stopwatch.GetElapsedTime(started);
        var all = vectors.ToArray();
        vectors = null;
        var (rows, similarities) = await Task.Run(() => ExactNeighbours.Build(all, keys.Count, K, cancellationToken), cancellationToken);
        all = null;
        var computed = Stopwatch.GetElapsedTime(started);

        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await ExecuteAsync(connection, transaction, WriteLock, cancellationToken);
            if (await StateAsync(connection, transaction, cancellationToken) != "building")
            {
                // Deferred again meanwhile: this build is out of date.
                return false;
            }
            await ExecuteAsync(connection, transaction, "DELETE FROM item_neighbours; DELETE FROM item_neighbour_floors; DELETE FROM item_hubness", cancellationToken);
            await using (var edges = await connection.BeginBinaryImportAsync(
                "COPY item_neighbours (content_type, content_id, neighbour_type, neighbour_id, similarity) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                for (var row = 0; row < keys.Count; row++)
                {
                    for (var i = 0; i < rows[row].Length; i++)
                    {
                        var neighbour = keys[rows[row][i]];
                        await edges.StartRowAsync(cancellationToken);
                        await edges.WriteAsync(keys[row].ContentType, NpgsqlDbType.Text, cancellationToken);
                        await edges.WriteAsync(keys[row].ContentId, NpgsqlDbType.Text, cancellationToken);
                        await edges.WriteAsync(neighbour.ContentType, NpgsqlDbType.Text, cancellationToken);
                        await edges.WriteAsync(neighbour.ContentId, NpgsqlDbType.Text, cancellationToken);
                        await edges.WriteAsync((double)similarities[row][i], NpgsqlDbType.Double, cancellationToken);
                    }
                }
                await edges.CompleteAsync(cancellationToken);
            }
            await using (var floors = await connection.BeginBinaryImportAsync(
                "COPY item_neighbour_floors (content_type, content_id, floor) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                for (var row = 0; row < keys.Count; row++)
                {
                    if (rows[row].Length == K)
                    {
                        await floors.StartRowAsync(cancellationToken);
                        await floors.WriteAsync(keys[row].ContentType, NpgsqlDbType.Text, cancellationToken);
                        await floors.WriteAsync(keys[row].ContentId, NpgsqlDbType.Text, cancellationToken);
                        await floors.WriteAsync((double)similarities[row][K - 1], NpgsqlDbType.Double, cancellationToken);
                    }
                }
                await floors.CompleteAsync(cancellationToken);
            }
            await using (var hubness = await connection.BeginBinaryImportAsync(
                "COPY item_hubness (content_type, content_id, hubness) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                for (var row = 0; row < keys.Count; row++)
                {
                    if (rows[row].Length > 0)
                    {
                        var sum = 0.0;
                        foreach (var similarity in similarities[row])
                        {
                            sum += similarity;
                        }
                        await hubness.StartRowAsync(cancellationToken);
                        await hubness.WriteAsync(keys[row].ContentType, NpgsqlDbType.Text, cancellationToken);
                        await hubness.WriteAsync(keys[row].ContentId, NpgsqlDbType.Text, cancellationToken);
                        await hubness.WriteAsync(sum / rows[row].Length, NpgsqlDbType.Double, cancellationToken);
                    }
                }
                await hubness.CompleteAsync(cancellationToken);
            }
            // Writes made after the snapshot: each item is taken out of the graph and put back as it is now.
            var pending = new List<ContentKey>();
            await using (var take = new NpgsqlCommand("DELETE FROM item_graph_pending RETURNING content_type, content_id", connection, transaction))
            await using (var reader = await take.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    pending.Add(new ContentKey(reader.GetString(0), reader.GetString(1)));
                }
            }
            foreach (var key in pending)
            {
                float[]? vector;
                await using (var current = new NpgsqlCommand("SELECT embedding FROM content_items WHERE content_type = $1 AND content_id = $2", connection, transaction))
                {
                    current.Parameters.Add(new() { Value = key.ContentType });
                    current.Parameters.Add(new() { Value = key.ContentId });
                    vector = await current.ExecuteScalarAsync(cancellationToken) is Vector v ? v.ToArray() : null;
                }
                await RefreshAsync(connection, transaction, key, vector, held: true, alongside: [], cancellationToken);
            }
            await SetStateAsync(connection, transaction, "built", cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            _logger.LogInformation(
                "Item graph built for {Count} items ({Pending} written meanwhile): {Read:F1} s reading, {Computed:F1} s computing, {Total:F1} s in all",
                keys.Count, pending.Count, read.TotalSeconds, (computed - read).TotalSeconds, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        await using (var analyze = new NpgsqlCommand("ANALYZE item_neighbours, item_neighbour_floors, item_hubness", connection))
        {
            await analyze.ExecuteNonQueryAsync(cancellationToken);
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            await Building.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
        }
    }

    private static async Task<string> StateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT coalesce((SELECT state FROM item_graph_state WHERE id = 1), 'stale')", connection, transaction);
        return (string)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task SetStateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string state, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "INSERT INTO item_graph_state (id, state) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state", connection, transaction);
        command.Parameters.Add(new() { Value = state });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlParameter TextArray(IEnumerable<string> values) =>
        new() { Value = values as string[] ?? values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(value as NpgsqlParameter ?? new NpgsqlParameter { Value = value });
        }
        return command;
    }
}
