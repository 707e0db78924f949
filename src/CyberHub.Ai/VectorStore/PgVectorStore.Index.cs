using System.Diagnostics;
using CyberHub.ServiceDefaults.Data;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// The search index, <see cref="HalfIndex"/>, and how an existing catalog gets it without a stalled start.
/// <list type="bullet">
/// <item>An empty catalog (a fresh database) gets it in the schema step: there is nothing to index.</item>
/// <item>A catalog with rows and no valid index (a database from before, or a build that died) gets it after start, by
/// <c>CREATE INDEX CONCURRENTLY</c> in the background: reads and writes go on meanwhile. One instance builds at a time
/// (a session advisory lock per schema); the others poll the lock and, once they hold it, find the work done. An
/// invalid index of that name, left by a concurrent build that died, is dropped (concurrently) and built again.</item>
/// <item>A build that fails (cancelled, terminated, a lost connection, a full disk) is tried again by the same
/// background task as <see cref="IndexRetry"/> goes (30 s, doubling with each further failure up to 15 min), until it
/// succeeds or the store stops.</item>
/// <item>Until the index is valid, this instance's searches walk the previous release's index,
/// <see cref="PreviousHalfIndex"/> (the same expression over a sparser graph), when it is there; else by the exact
/// distance, which an earlier release's <see cref="PreviousIndex"/> serves, or an exact scan. Only once the new index is
/// valid are the previous ones dropped (concurrently).</item>
/// </list>
/// </summary>
public sealed partial class PgVectorStore
{
    /// <summary>An earlier release's HNSW index, over the full-precision vectors; dropped once <see cref="HalfIndex"/> is valid.</summary>
    public const string PreviousIndex = "content_items_embedding_idx";

    /// <summary>
    /// The previous release's index: over <see cref="HalfEmbedding"/> too, with pgvector's default graph (m 16,
    /// ef_construction 64). It is the same expression, so searches walk it while <see cref="HalfIndex"/> is built, and it
    /// is dropped once that one is valid.
    /// </summary>
    public const string PreviousHalfIndex = "content_items_embedding_half_idx";

    // Properties, not fields: the schema (another file of this class) reads them while the type initialises.
    private static string HalfIndexDefinition =>
        $"ON content_items USING hnsw ({HalfEmbedding} halfvec_cosine_ops) WITH (m = {GraphM}, ef_construction = {GraphEfConstruction})";

    /// <summary>Schema step: the index on an empty catalog, unless one of its name exists (valid or not: the background deals with that).</summary>
    private static string SearchIndexOnEmptyCatalog => $"""
        DO $ddl$ BEGIN
            IF NOT EXISTS ({PgSchema.IndexOf("content_items", HalfIndex)}) AND NOT EXISTS (SELECT FROM content_items) THEN
                CREATE INDEX IF NOT EXISTS {HalfIndex} {HalfIndexDefinition};
            END IF;
        END $ddl$;
        """;

    // Two keys, the second the schema, as the item graph's: stores in different schemas of one database build side by side.
    private const int SearchIndexLockKey = 0x4b4e4e33;
    private static readonly TimeSpan SearchIndexLockPoll = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan SearchIndexProgressEvery = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource _stopping = new();
    // A store used without InitializeAsync (a bench over a table it indexed itself) takes the index as there.
    private volatile bool _searchIndexReady = true;

    /// <summary>
    /// How long the background work on the search index waits after a failure before it tries again (default
    /// <see cref="RetrySchedule.Default"/>: 30 s, doubling with each further failure up to 15 min); each wait is between
    /// three quarters and all of that at random, so that instances do not line up.
    /// </summary>
    public RetrySchedule IndexRetry
    {
        get;
        init => field = value ?? throw new ArgumentNullException(nameof(value));
    } = RetrySchedule.Default;

    /// <summary>
    /// The background work on the search index this instance started at <see cref="InitializeAsync"/> (completed at once
    /// when there was none): the build of <see cref="HalfIndex"/> and the drop of the previous indexes. It ends
    /// when that work is done or the store stops, and never faults: a failure is logged with the attempt's number and the
    /// wait before the next, and the work is tried again as <see cref="IndexRetry"/> goes.
    /// </summary>
    public Task IndexBuilding { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// Whether this instance's searches walk a half-precision index: <see cref="HalfIndex"/> (found valid, or this instance
    /// saw it become so), or the previous release's <see cref="PreviousHalfIndex"/> until that one is built.
    /// </summary>
    public bool SearchIndexReady => _searchIndexReady;

    /// <summary>
    /// The search index (qualified name, if it exists, and whether it is valid), whether the previous release's
    /// half-precision index is valid (searches walk the same expression through it), and the earlier indexes that exist
    /// (qualified names): what goes once the search index is valid.
    /// </summary>
    private readonly record struct SearchIndexState(string? Half, bool HalfValid, bool PreviousHalfValid, IReadOnlyList<string> Previous)
    {
        /// <summary>Whether searches can walk a half-precision index: this one, or the previous release's until this one is built.</summary>
        public bool Walkable => HalfValid || PreviousHalfValid;
    }

    private async Task InitializeSearchIndexAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var state = await ReadSearchIndexStateAsync(connection, cancellationToken);
        _searchIndexReady = state.Walkable;
        if (state.HalfValid && state.Previous.Count == 0)
        {
            return;
        }
        if (!state.HalfValid)
        {
            _logger.LogWarning(
                "Search index {Index} {State}: building it concurrently after start; until it is valid, searches walk {Fallback}",
                HalfIndex, state.Half is null ? "missing" : "not valid (being built, or left by a build that died)",
                state.PreviousHalfValid ? $"the previous index {PreviousHalfIndex}"
                : state.Previous.Count > 0 ? $"the previous index {string.Join(", ", state.Previous)} by the exact distance"
                : "by exact scans");
        }
        IndexBuilding = Task.Run(() => BuildSearchIndexUntilDoneAsync(_stopping.Token));
    }

    /// <summary>
    /// <see cref="BuildSearchIndexAsync"/> until it succeeds, with a growing wait after each failure, or until the store
    /// stops. Never throws.
    /// </summary>
    private async Task BuildSearchIndexUntilDoneAsync(CancellationToken stopping)
    {
        if (!await BackgroundRetry.UntilDoneAsync(BuildSearchIndexAsync, IndexRetry, (attempt, e, delay) =>
            _logger.LogError(e,
                "Building the search index {Index} failed (attempt {Attempt}); {Searches}; next try in {RetrySeconds:F1} s",
                HalfIndex, attempt,
                _searchIndexReady ? "searches walk a half-precision index meanwhile" : "searches walk by the exact distance until it is built",
                delay.TotalSeconds), stopping))
        {
            _logger.LogInformation("Search index work stopped with the service; the next start resumes it");
        }
    }

    private async Task BuildSearchIndexAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        // Polled, not waited for in SQL: a statement waiting for the lock holds a snapshot, and the concurrent build
        // waits for every older snapshot to end, so the two would wait for each other.
        while (await ScalarAsync(connection, $"SELECT pg_try_advisory_lock({SearchIndexLockKey}, hashtext(current_schema()))", cancellationToken) is not true)
        {
            await Task.Delay(SearchIndexLockPoll, cancellationToken);
        }
        try
        {
            await BuildSearchIndexLockedAsync(connection, cancellationToken);
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
                    await ScalarAsync(connection, $"SELECT pg_advisory_unlock({SearchIndexLockKey}, hashtext(current_schema()))", CancellationToken.None);
                }
                catch (Exception e)
                {
                    // Not thrown over the build's own outcome. A connection still open would go back to the pool holding
                    // the lock (the pool's reset runs only when it is drawn again), and every instance would wait on it:
                    // the pool closes it instead, and its session, ending, releases the lock.
                    _logger.LogWarning(e, "Releasing the search index build's lock failed: closing its connection instead");
                    NpgsqlConnection.ClearPool(connection);
                }
            }
        }
    }

    private async Task BuildSearchIndexLockedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var state = await ReadSearchIndexStateAsync(connection, cancellationToken);
        if (!state.HalfValid)
        {
            if (state.Half is not null)
            {
                // No build of ours runs (we hold the lock): a concurrent build died and left it. No search uses it, but
                // writes may still keep it up to date until it is dropped.
                _logger.LogWarning("Dropping the invalid index {Index} a concurrent build left, to build it again", state.Half);
                await ExecuteAsync(connection, $"DROP INDEX CONCURRENTLY IF EXISTS {state.Half}", cancellationToken);
            }
            var rows = await ScalarAsync(connection, "SELECT count(*) FROM content_items", cancellationToken);
            _logger.LogInformation("Building the search index {Index} concurrently over {Rows} items", HalfIndex, rows);
            var started = Stopwatch.GetTimestamp();
            using (var progress = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                var reporting = LogSearchIndexProgressAsync(connection.ProcessID, started, progress.Token);
                try
                {
                    await ExecuteAsync(connection, $"CREATE INDEX CONCURRENTLY IF NOT EXISTS {HalfIndex} {HalfIndexDefinition}", cancellationToken);
                }
                finally
                {
                    await progress.CancelAsync();
                    await reporting;
                }
            }
            state = await ReadSearchIndexStateAsync(connection, cancellationToken);
            if (!state.HalfValid)
            {
                throw new InvalidOperationException($"The concurrent build of {HalfIndex} ended without a valid index.");
            }
            _logger.LogInformation("Search index {Index} built over {Rows} items in {Seconds:F0} s ({Size}); searches walk it now",
                HalfIndex, rows, Stopwatch.GetElapsedTime(started).TotalSeconds,
                await ScalarAsync(connection, $"SELECT pg_size_pretty(pg_relation_size('{state.Half}'::regclass))", cancellationToken));
        }
        _searchIndexReady = true;
        foreach (var previous in state.Previous)
        {
            await ExecuteAsync(connection, $"DROP INDEX CONCURRENTLY IF EXISTS {previous}", cancellationToken);
            _logger.LogInformation("Dropped the previous search index {Index}", previous);
        }
    }

    /// <summary>Every <see cref="SearchIndexProgressEvery"/>, the build's phase and counts from <c>pg_stat_progress_create_index</c>.</summary>
    private async Task LogSearchIndexProgressAsync(int buildPid, long started, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(SearchIndexProgressEvery, cancellationToken);
                try
                {
                    await PostgresConnections.RunAsync(_dataSource, async connection =>
                    {
                        await using var command = new NpgsqlCommand(
                            "SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total FROM pg_stat_progress_create_index WHERE pid = $1", connection);
                        command.Parameters.Add(new NpgsqlParameter { Value = buildPid });
                        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                        if (await reader.ReadAsync(cancellationToken))
                        {
                            _logger.LogInformation(
                                "Building the search index {Index}: {Phase}, blocks {BlocksDone} of {BlocksTotal}, tuples {TuplesDone} of {TuplesTotal}, {Seconds:F0} s so far",
                                HalfIndex, reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4),
                                Stopwatch.GetElapsedTime(started).TotalSeconds);
                        }
                        return true;
                    }, cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _logger.LogDebug(e, "Reading the search index build's progress failed");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// The search index's qualified name and validity, the previous half-precision index's validity, and the earlier
    /// indexes that exist: each index's <c>pg_index</c> row read once (a row of nulls for one that does not exist).
    /// </summary>
    private static async Task<SearchIndexState> ReadSearchIndexStateAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"""
            SELECT h.indexrelid::regclass::text, coalesce(h.indisvalid, false), coalesce(p.indisvalid, false),
                   p.indexrelid::regclass::text, o.indexrelid::regclass::text
            FROM (SELECT) AS one
            LEFT JOIN ({PgSchema.IndexOf("content_items", HalfIndex)}) AS h ON true
            LEFT JOIN ({PgSchema.IndexOf("content_items", PreviousHalfIndex)}) AS p ON true
            LEFT JOIN ({PgSchema.IndexOf("content_items", PreviousIndex)}) AS o ON true
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new SearchIndexState(reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetBoolean(1), reader.GetBoolean(2),
            [.. new[] { 3, 4 }.Where(i => !reader.IsDBNull(i)).Select(reader.GetString)]);
    }

    private async Task StopSearchIndexAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            await IndexBuilding.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
        }
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    /// <summary>One statement outside any transaction (a concurrent build or drop may not run in one), with no time limit.</summary>
    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
