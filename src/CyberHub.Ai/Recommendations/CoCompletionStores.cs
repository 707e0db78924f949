using System.Globalization;
using CyberHub.Ai.VectorStore;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Data;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Npgsql;
using NpgsqlTypes;

namespace CyberHub.Ai.Recommendations;

/// <summary>The co-completion settings from <c>Recommendations:CoCompletion</c>, checked at start.</summary>
public static class CoCompletionConfiguration
{
    public const string Section = "Recommendations:CoCompletion";

    public static CoCompletionSettings From(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var defaults = CoCompletionSettings.Default;
        var settings = new CoCompletionSettings(
            section.GetValue(nameof(CoCompletionSettings.Window), defaults.Window),
            section.GetValue(nameof(CoCompletionSettings.HalfLifeDays), defaults.HalfLifeDays),
            section.GetValue(nameof(CoCompletionSettings.MinSupport), defaults.MinSupport));
        if (settings.Window is < 1 or > 100)
        {
            throw new InvalidOperationException($"{Section}:Window must be between 1 and 100 (got {settings.Window}).");
        }
        if (!double.IsFinite(settings.HalfLifeDays) || settings.HalfLifeDays is < 0.01 or > 36_500)
        {
            throw new InvalidOperationException($"{Section}:HalfLifeDays must be between 0.01 and 36500 (got {settings.HalfLifeDays}).");
        }
        if (!double.IsFinite(settings.MinSupport) || settings.MinSupport is < 0 or > 1_000_000)
        {
            throw new InvalidOperationException($"{Section}:MinSupport must be between 0 and 1000000 (got {settings.MinSupport}).");
        }
        return settings;
    }
}

/// <summary>The arithmetic of <see cref="CoCompletionModel"/>, for the stores that bring one row up to date at a time.</summary>
internal static class CoCompletionCounting
{
    /// <summary>The items an observed completion pairs with: the last <see cref="CoCompletionSettings.Window"/> distinct earlier ones.</summary>
    public static IReadOnlyList<ContentKey> Predecessors(ObservedCompletion completion, int window)
    {
        var seen = new HashSet<ContentKey> { completion.Completed };
        var predecessors = new List<ContentKey>(window);
        for (var i = completion.Earlier.Count - 1; i >= 0 && seen.Count <= window; i--)
        {
            if (seen.Add(completion.Earlier[i]))
            {
                predecessors.Add(completion.Earlier[i]);
            }
        }
        return predecessors;
    }

    /// <summary>A count (<paramref name="count"/> as of <paramref name="at"/>) with one more learner at <paramref name="eventAt"/>.</summary>
    public static (double Count, DateTime At) Bump(double count, DateTime at, DateTime eventAt, double halfLifeDays) =>
        eventAt >= at
            ? (count * Decay(eventAt - at, halfLifeDays) + 1, eventAt)
            // An event older than the row (events may arrive out of order): it adds what is left of it by the row's time.
            : (count + Decay(at - eventAt, halfLifeDays), at);

    /// <summary>The count read at <paramref name="now"/>.</summary>
    public static double Read(double count, DateTime at, DateTime now, double halfLifeDays) =>
        count * Decay(now > at ? now - at : TimeSpan.Zero, halfLifeDays);

    private static double Decay(TimeSpan age, double halfLifeDays) => Math.Pow(0.5, age.TotalDays / halfLifeDays);

    /// <summary>
    /// An item's rank among the most completed: the log of its decayed count at any fixed time, up to a constant
    /// (<c>ln count + t · ln 2 / half-life</c>, with <c>t</c> its time in seconds since <paramref name="origin"/>). Kept in
    /// each row and indexed, so the most completed items are read without decaying every row.
    /// </summary>
    public static double Popularity(double count, DateTime at, DateTime origin, double halfLifeDays) =>
        Math.Log(count) + (at - origin).TotalSeconds * Math.Log(2) / (halfLifeDays * 86_400);

    /// <summary>The floor as the stores' queries apply it: a hair below, so rounding never drops a pair the model keeps (it applies the exact floor again).</summary>
    public static double LenientFloor(double minSupport) => minSupport * (1 - 1e-9);

    public static readonly Comparison<ContentKey> Order = (a, b) =>
        string.CompareOrdinal(a.ContentType, b.ContentType) is var c and not 0 ? c : string.CompareOrdinal(a.ContentId, b.ContentId);
}

/// <summary>
/// Co-completion counts beside the pgvector catalog, shared by every AI instance. Each event brings its own rows up to
/// date with one <c>INSERT ... ON CONFLICT DO UPDATE</c> that decays the stored count in SQL, so concurrent events of
/// several instances serialize on the row and lose no increment. Times are <c>timestamptz</c>.
/// </summary>
public sealed class PgCoCompletionStore(string connectionString, CoCompletionSettings settings) : ICoCompletionStore, IAsyncDisposable
{
    internal const string Schema = """
        CREATE TABLE IF NOT EXISTS cocompletion_items (
            content_type text NOT NULL,
            content_id text NOT NULL,
            count double precision NOT NULL,
            counted_at timestamptz NOT NULL,
            popularity double precision NOT NULL,
            PRIMARY KEY (content_type, content_id)
        );
        CREATE INDEX IF NOT EXISTS cocompletion_items_counted_at_idx ON cocompletion_items (counted_at);
        CREATE INDEX IF NOT EXISTS cocompletion_items_popularity_idx ON cocompletion_items (popularity DESC);
        CREATE TABLE IF NOT EXISTS cocompletion_pairs (
            from_type text NOT NULL,
            from_id text NOT NULL,
            to_type text NOT NULL,
            to_id text NOT NULL,
            count double precision NOT NULL,
            counted_at timestamptz NOT NULL,
            PRIMARY KEY (from_type, from_id, to_type, to_id)
        );
        """;

    // A stored count is at least 1 (it starts at 1 and only ever gains), so with the exponent capped at 1000 half-lives
    // no product underflows (PostgreSQL refuses an underflow rather than rounding it to 0).
    private const string Decay = "power(0.5::float8, least(({0})::float8 / $4, 1000))";

    private const string Count = """
        CASE WHEN excluded.counted_at >= c.counted_at
            THEN c.count * {0} + 1
            ELSE c.count + {1} END
        """;

    // The popularity (see CoCompletionCounting.Popularity) of a count as of a time, with the Unix epoch as origin.
    private const string Popularity = "ln({0}) + extract(epoch FROM {1})::float8 * ln(2::float8) / $4";

    private static readonly string ItemUpsert = $"""
        INSERT INTO cocompletion_items AS c (content_type, content_id, count, counted_at, popularity)
        VALUES ($1, $2, 1, $3, {string.Format(CultureInfo.InvariantCulture, Popularity, "1", "$3::timestamptz")})
        ON CONFLICT (content_type, content_id) DO UPDATE SET
        {Bumped()},
        popularity = {string.Format(CultureInfo.InvariantCulture, Popularity, BumpedCount(), "greatest(c.counted_at, excluded.counted_at)")}
        """;

    // Pairs leaving each predecessor for the completed item, in key order (one completion's pairs share their target,
    // whose item row the statement before has locked, so two events never wait for each other's pairs in a cycle).
    private static readonly string PairUpsert = $"""
        INSERT INTO cocompletion_pairs AS c (from_type, from_id, to_type, to_id, count, counted_at)
        SELECT f.t, f.i, $5, $6, 1, $3 FROM unnest($1::text[], $2::text[]) AS f(t, i) ORDER BY f.t, f.i
        ON CONFLICT (from_type, from_id, to_type, to_id) DO UPDATE SET
        {Bumped()}
        """;

    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(PostgresConnections.Tuned(connectionString));

    public CoCompletionSettings Settings => settings;

    private static string BumpedCount() => string.Format(CultureInfo.InvariantCulture, Count,
        string.Format(CultureInfo.InvariantCulture, Decay, "extract(epoch FROM excluded.counted_at) - extract(epoch FROM c.counted_at)"),
        string.Format(CultureInfo.InvariantCulture, Decay, "extract(epoch FROM c.counted_at) - extract(epoch FROM excluded.counted_at)"));

    private static string Bumped() => $"count = {BumpedCount()}, counted_at = greatest(c.counted_at, excluded.counted_at)";

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await PgSchema.ApplyAsync(connection, Schema, cancellationToken);
    }

    public async Task RecordAsync(IReadOnlyList<ObservedCompletion> completions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(completions);
        await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await RecordAsync(connection, transaction, completions, settings, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <summary>Adds <paramref name="completions"/> to the counts in the caller's transaction.</summary>
    internal static async Task RecordAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<ObservedCompletion> completions,
        CoCompletionSettings settings, CancellationToken cancellationToken)
    {
        if (completions.Count == 0)
        {
            return;
        }
        var halfLifeSeconds = settings.HalfLifeDays * 86_400;
        await using var batch = new NpgsqlBatch(connection, transaction);
        // Item rows in key order, so that events recording several items lock them in one order.
        foreach (var completion in completions.OrderBy(c => c.Completed.ContentType, StringComparer.Ordinal).ThenBy(c => c.Completed.ContentId, StringComparer.Ordinal))
        {
            var at = Utc(completion.At);
            var item = new NpgsqlBatchCommand(ItemUpsert);
            item.Parameters.Add(new NpgsqlParameter { Value = completion.Completed.ContentType });
            item.Parameters.Add(new NpgsqlParameter { Value = completion.Completed.ContentId });
            item.Parameters.Add(new NpgsqlParameter { Value = at, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            item.Parameters.Add(new NpgsqlParameter { Value = halfLifeSeconds });
            batch.BatchCommands.Add(item);

            var predecessors = CoCompletionCounting.Predecessors(completion, settings.Window);
            if (predecessors.Count == 0)
            {
                continue;
            }
            var pairs = new NpgsqlBatchCommand(PairUpsert);
            pairs.Parameters.Add(new NpgsqlParameter { Value = predecessors.Select(p => p.ContentType).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            pairs.Parameters.Add(new NpgsqlParameter { Value = predecessors.Select(p => p.ContentId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            pairs.Parameters.Add(new NpgsqlParameter { Value = at, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            pairs.Parameters.Add(new NpgsqlParameter { Value = halfLifeSeconds });
            pairs.Parameters.Add(new NpgsqlParameter { Value = completion.Completed.ContentType });
            pairs.Parameters.Add(new NpgsqlParameter { Value = completion.Completed.ContentId });
            batch.BatchCommands.Add(pairs);
        }
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<CoCompletionState> ReadAsync(IReadOnlyCollection<ContentKey> from, int popular, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentOutOfRangeException.ThrowIfNegative(popular);
        return await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            // One snapshot for the three reads.
            await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
            DateTime last;
            await using (var command = new NpgsqlCommand("SELECT max(counted_at) FROM cocompletion_items", connection, transaction))
            {
                if (await command.ExecuteScalarAsync(cancellationToken) is not DateTime latest)
                {
                    return new CoCompletionState([], [], DateTime.MinValue);
                }
                last = latest;
            }
            var halfLifeSeconds = settings.HalfLifeDays * 86_400;
            var keys = from.Distinct().ToList();

            var pairs = new List<PairCount>();
            if (keys.Count > 0)
            {
                await using var command = new NpgsqlCommand(string.Format(CultureInfo.InvariantCulture, """
                    SELECT p.from_type, p.from_id, p.to_type, p.to_id, p.count, p.counted_at
                    FROM cocompletion_pairs p JOIN unnest($1::text[], $2::text[]) AS f(t, i) ON p.from_type = f.t AND p.from_id = f.i
                    WHERE p.count * {0} >= $5
                    """, string.Format(CultureInfo.InvariantCulture, Decay, "greatest(extract(epoch FROM $3::timestamptz) - extract(epoch FROM p.counted_at), 0)")),
                    connection, transaction);
                command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.ContentType).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.ContentId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = last, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                command.Parameters.Add(new NpgsqlParameter { Value = halfLifeSeconds });
                command.Parameters.Add(new NpgsqlParameter { Value = CoCompletionCounting.LenientFloor(settings.MinSupport) });
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    pairs.Add(new PairCount(new ContentKey(reader.GetString(0), reader.GetString(1)), new ContentKey(reader.GetString(2), reader.GetString(3)),
                        reader.GetDouble(4), reader.GetFieldValue<DateTime>(5)));
                }
            }

            var wanted = keys.Concat(pairs.Select(p => p.To)).Distinct().ToList();
            var items = new Dictionary<ContentKey, ItemCount>();
            await using (var command = new NpgsqlCommand("""
                SELECT i.content_type, i.content_id, i.count, i.counted_at
                FROM cocompletion_items i JOIN unnest($1::text[], $2::text[]) AS k(t, i) ON i.content_type = k.t AND i.content_id = k.i
                UNION ALL
                (SELECT content_type, content_id, count, counted_at FROM cocompletion_items
                 ORDER BY popularity DESC, content_type, content_id LIMIT $3)
                """, connection, transaction))
            {
                command.Parameters.Add(new NpgsqlParameter { Value = wanted.Select(k => k.ContentType).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = wanted.Select(k => k.ContentId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = popular });
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var key = new ContentKey(reader.GetString(0), reader.GetString(1));
                    items[key] = new ItemCount(key, reader.GetDouble(2), reader.GetFieldValue<DateTime>(3));
                }
            }
            await transaction.CommitAsync(cancellationToken);
            return Canonical(pairs, items.Values, last);
        }, cancellationToken);
    }

    public async Task ReplaceAsync(CoCompletionState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await ReplaceAsync(connection, transaction, state, settings, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <summary>Replaces every count in the caller's transaction, which must hold the tables' locks (see the learner store's rebuild).</summary>
    internal static async Task ReplaceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CoCompletionState state, CoCompletionSettings settings,
        CancellationToken cancellationToken)
    {
        await using (var clear = new NpgsqlCommand("""
            LOCK TABLE cocompletion_items, cocompletion_pairs IN EXCLUSIVE MODE;
            DELETE FROM cocompletion_pairs;
            DELETE FROM cocompletion_items;
            """, connection, transaction))
        {
            await clear.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var writer = await connection.BeginBinaryImportAsync(
            "COPY cocompletion_items (content_type, content_id, count, counted_at, popularity) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            foreach (var item in state.Items)
            {
                await writer.StartRowAsync(cancellationToken);
                await writer.WriteAsync(item.Item.ContentType, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(item.Item.ContentId, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(item.Count, NpgsqlDbType.Double, cancellationToken);
                await writer.WriteAsync(Utc(item.At), NpgsqlDbType.TimestampTz, cancellationToken);
                await writer.WriteAsync(CoCompletionCounting.Popularity(item.Count, Utc(item.At), DateTime.UnixEpoch, settings.HalfLifeDays),
                    NpgsqlDbType.Double, cancellationToken);
            }
            await writer.CompleteAsync(cancellationToken);
        }
        await using (var writer = await connection.BeginBinaryImportAsync(
            "COPY cocompletion_pairs (from_type, from_id, to_type, to_id, count, counted_at) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            foreach (var pair in state.Pairs)
            {
                await writer.StartRowAsync(cancellationToken);
                await writer.WriteAsync(pair.From.ContentType, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(pair.From.ContentId, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(pair.To.ContentType, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(pair.To.ContentId, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(pair.Count, NpgsqlDbType.Double, cancellationToken);
                await writer.WriteAsync(Utc(pair.At), NpgsqlDbType.TimestampTz, cancellationToken);
            }
            await writer.CompleteAsync(cancellationToken);
        }
    }

    internal static DateTime Utc(DateTime t) => t.Kind == DateTimeKind.Utc ? t : DateTime.SpecifyKind(t, DateTimeKind.Utc);

    /// <summary>A state in <see cref="CoCompletionModel.State"/>'s order.</summary>
    internal static CoCompletionState Canonical(IEnumerable<PairCount> pairs, IEnumerable<ItemCount> items, DateTime last)
    {
        var p = pairs.ToList();
        p.Sort((a, b) => CoCompletionCounting.Order(a.From, b.From) is var c and not 0 ? c : CoCompletionCounting.Order(a.To, b.To));
        var i = items.ToList();
        i.Sort((a, b) => CoCompletionCounting.Order(a.Item, b.Item));
        return new CoCompletionState(p, i, last);
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}

/// <summary>
/// Co-completion counts in the embedded store's SQLite file of learners (<c>learners.db</c> in the data directory), so
/// that an event's completion and its counts commit together. Writers take SQLite's write lock first
/// (<c>BEGIN IMMEDIATE</c>) and bring each row up to date in C#, with <see cref="CoCompletionModel"/>'s arithmetic.
/// Times are stored as ticks (UTC).
/// </summary>
public sealed class SqliteCoCompletionStore(string path, CoCompletionSettings settings) : ICoCompletionStore
{
    internal const string Schema = """
        CREATE TABLE IF NOT EXISTS cocompletion_items (
            content_type TEXT NOT NULL,
            content_id TEXT NOT NULL,
            count REAL NOT NULL,
            counted_at INTEGER NOT NULL,
            popularity REAL NOT NULL,
            PRIMARY KEY (content_type, content_id)
        );
        CREATE INDEX IF NOT EXISTS ix_cocompletion_items_counted_at ON cocompletion_items (counted_at);
        CREATE INDEX IF NOT EXISTS ix_cocompletion_items_popularity ON cocompletion_items (popularity DESC);
        CREATE TABLE IF NOT EXISTS cocompletion_pairs (
            from_type TEXT NOT NULL,
            from_id TEXT NOT NULL,
            to_type TEXT NOT NULL,
            to_id TEXT NOT NULL,
            count REAL NOT NULL,
            counted_at INTEGER NOT NULL,
            PRIMARY KEY (from_type, from_id, to_type, to_id)
        );
        """;

    private readonly string _connectionString = SqliteStores.ConnectionString(path);

    public CoCompletionSettings Settings => settings;

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        DataDirectory.PrepareSqliteFile(Path.GetFullPath(path));
        await using var connection = await SqliteStores.OpenAsync(_connectionString, cancellationToken);
        await SqliteStores.ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;" + Schema, cancellationToken);
    }

    public async Task RecordAsync(IReadOnlyList<ObservedCompletion> completions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(completions);
        await using var connection = await SqliteStores.OpenAsync(_connectionString, cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await RecordAsync(connection, transaction, completions, settings, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Adds <paramref name="completions"/> to the counts in the caller's write transaction.</summary>
    internal static async Task RecordAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<ObservedCompletion> completions,
        CoCompletionSettings settings, CancellationToken cancellationToken)
    {
        foreach (var completion in completions)
        {
            var at = PgCoCompletionStore.Utc(completion.At);
            await BumpAsync(connection, transaction, "cocompletion_items", "content_type = $t AND content_id = $i",
                [("$t", completion.Completed.ContentType), ("$i", completion.Completed.ContentId)],
                "(content_type, content_id, count, counted_at, popularity) VALUES ($t, $i, $count, $at, $popularity)", at, settings, cancellationToken);
            foreach (var from in CoCompletionCounting.Predecessors(completion, settings.Window))
            {
                await BumpAsync(connection, transaction, "cocompletion_pairs", "from_type = $ft AND from_id = $fi AND to_type = $t AND to_id = $i",
                    [("$ft", from.ContentType), ("$fi", from.ContentId), ("$t", completion.Completed.ContentType), ("$i", completion.Completed.ContentId)],
                    "(from_type, from_id, to_type, to_id, count, counted_at) VALUES ($ft, $fi, $t, $i, $count, $at)", at, settings, cancellationToken);
            }
        }
    }

    private static async Task BumpAsync(SqliteConnection connection, SqliteTransaction transaction, string table, string where,
        (string Name, object Value)[] key, string insert, DateTime at, CoCompletionSettings settings, CancellationToken cancellationToken)
    {
        (double Count, DateTime At) bumped = (1, at);
        await using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = $"SELECT count, counted_at FROM {table} WHERE {where}";
            foreach (var (name, value) in key)
            {
                read.Parameters.AddWithValue(name, value);
            }
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                bumped = CoCompletionCounting.Bump(reader.GetDouble(0), new DateTime(reader.GetInt64(1), DateTimeKind.Utc), at, settings.HalfLifeDays);
            }
        }
        await using var write = connection.CreateCommand();
        write.Transaction = transaction;
        write.CommandText = $"INSERT OR REPLACE INTO {table} {insert}";
        foreach (var (name, value) in key)
        {
            write.Parameters.AddWithValue(name, value);
        }
        write.Parameters.AddWithValue("$count", bumped.Count);
        write.Parameters.AddWithValue("$at", bumped.At.Ticks);
        if (insert.Contains("$popularity", StringComparison.Ordinal))
        {
            write.Parameters.AddWithValue("$popularity", CoCompletionCounting.Popularity(bumped.Count, bumped.At, DateTime.UnixEpoch, settings.HalfLifeDays));
        }
        await write.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<CoCompletionState> ReadAsync(IReadOnlyCollection<ContentKey> from, int popular, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentOutOfRangeException.ThrowIfNegative(popular);
        await using var connection = await SqliteStores.OpenAsync(_connectionString, cancellationToken);
        // One snapshot for the reads (a deferred transaction reads one version of the file).
        await using var transaction = connection.BeginTransaction(deferred: true);
        long lastTicks;
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT max(counted_at) FROM cocompletion_items";
            if (await command.ExecuteScalarAsync(cancellationToken) is not long ticks)
            {
                return new CoCompletionState([], [], DateTime.MinValue);
            }
            lastTicks = ticks;
        }
        var last = new DateTime(lastTicks, DateTimeKind.Utc);
        var floor = CoCompletionCounting.LenientFloor(settings.MinSupport);
        var keys = from.Distinct().ToList();

        var pairs = new List<PairCount>();
        foreach (var key in keys)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "SELECT to_type, to_id, count, counted_at FROM cocompletion_pairs WHERE from_type = $t AND from_id = $i";
            command.Parameters.AddWithValue("$t", key.ContentType);
            command.Parameters.AddWithValue("$i", key.ContentId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var pair = new PairCount(key, new ContentKey(reader.GetString(0), reader.GetString(1)), reader.GetDouble(2), new DateTime(reader.GetInt64(3), DateTimeKind.Utc));
                if (CoCompletionCounting.Read(pair.Count, pair.At, last, settings.HalfLifeDays) >= floor)
                {
                    pairs.Add(pair);
                }
            }
        }

        var items = new Dictionary<ContentKey, ItemCount>();
        foreach (var key in keys.Concat(pairs.Select(p => p.To)).Distinct())
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "SELECT count, counted_at FROM cocompletion_items WHERE content_type = $t AND content_id = $i";
            command.Parameters.AddWithValue("$t", key.ContentType);
            command.Parameters.AddWithValue("$i", key.ContentId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                items[key] = new ItemCount(key, reader.GetDouble(0), new DateTime(reader.GetInt64(1), DateTimeKind.Utc));
            }
        }
        if (popular > 0)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "SELECT content_type, content_id, count, counted_at FROM cocompletion_items ORDER BY popularity DESC, content_type, content_id LIMIT $n";
            command.Parameters.AddWithValue("$n", popular);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var key = new ContentKey(reader.GetString(0), reader.GetString(1));
                items[key] = new ItemCount(key, reader.GetDouble(2), new DateTime(reader.GetInt64(3), DateTimeKind.Utc));
            }
        }
        return PgCoCompletionStore.Canonical(pairs, items.Values, last);
    }

    public async Task ReplaceAsync(CoCompletionState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        await using var connection = await SqliteStores.OpenAsync(_connectionString, cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await ReplaceAsync(connection, transaction, state, settings, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    internal static async Task ReplaceAsync(SqliteConnection connection, SqliteTransaction transaction, CoCompletionState state, CoCompletionSettings settings,
        CancellationToken cancellationToken)
    {
        await SqliteStores.ExecuteAsync(connection, transaction, "DELETE FROM cocompletion_pairs; DELETE FROM cocompletion_items;", cancellationToken);
        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO cocompletion_items (content_type, content_id, count, counted_at, popularity) VALUES ($t, $i, $count, $at, $popularity)";
            var (t, i, count, at, popularity) = (insert.Parameters.Add("$t", SqliteType.Text), insert.Parameters.Add("$i", SqliteType.Text),
                insert.Parameters.Add("$count", SqliteType.Real), insert.Parameters.Add("$at", SqliteType.Integer), insert.Parameters.Add("$popularity", SqliteType.Real));
            foreach (var item in state.Items)
            {
                (t.Value, i.Value, count.Value, at.Value, popularity.Value) = (item.Item.ContentType, item.Item.ContentId, item.Count, PgCoCompletionStore.Utc(item.At).Ticks,
                    CoCompletionCounting.Popularity(item.Count, PgCoCompletionStore.Utc(item.At), DateTime.UnixEpoch, settings.HalfLifeDays));
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO cocompletion_pairs (from_type, from_id, to_type, to_id, count, counted_at) VALUES ($ft, $fi, $t, $i, $count, $at)";
            var (ft, fi, t, i, count, at) = (insert.Parameters.Add("$ft", SqliteType.Text), insert.Parameters.Add("$fi", SqliteType.Text),
                insert.Parameters.Add("$t", SqliteType.Text), insert.Parameters.Add("$i", SqliteType.Text),
                insert.Parameters.Add("$count", SqliteType.Real), insert.Parameters.Add("$at", SqliteType.Integer));
            foreach (var pair in state.Pairs)
            {
                (ft.Value, fi.Value, t.Value, i.Value, count.Value, at.Value) =
                    (pair.From.ContentType, pair.From.ContentId, pair.To.ContentType, pair.To.ContentId, pair.Count, PgCoCompletionStore.Utc(pair.At).Ticks);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
        }
    }
}

/// <summary>What the SQLite stores of learners and counts share: one file, pooled connections, statements.</summary>
internal static class SqliteStores
{
    public static string ConnectionString(string path) => new SqliteConnectionStringBuilder
    {
        DataSource = Path.GetFullPath(path),
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    public static async Task<SqliteConnection> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    public static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken,
        params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
