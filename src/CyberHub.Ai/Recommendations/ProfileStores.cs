using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Data;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace CyberHub.Ai.Recommendations;

/// <summary>Row format shared by both stores.</summary>
internal static class ProfileRows
{
    public static readonly TimeSpan EventRetention = TimeSpan.FromDays(14);

    public static string Status(ProgressStatus status) => status switch
    {
        ProgressStatus.Completed => "completed",
        ProgressStatus.InProgress => "in_progress",
        _ => "not_started",
    };

    public static ProgressStatus Status(string status) => status switch
    {
        "completed" => ProgressStatus.Completed,
        "in_progress" => ProgressStatus.InProgress,
        _ => ProgressStatus.NotStarted,
    };
}

/// <summary>
/// Learners' completions beside the pgvector catalog, shared by every AI instance, with the co-completion counts in the
/// same database: an event locks its learner's row (<c>SELECT ... FOR UPDATE</c>), so one learner's events are applied
/// one at a time across instances, and its completion, its counts and its sequence commit together.
/// </summary>
public sealed class PgLearnerProfileStore(string connectionString, CoCompletionSettings settings) : ILearnerProfileStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(PostgresConnections.Tuned(connectionString));
    private long _marks;

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await PgSchema.ApplyAsync(connection, PgCoCompletionStore.Schema + """
            CREATE TABLE IF NOT EXISTS learner_profiles (
                user_id bigint PRIMARY KEY,
                last_sequence bigint NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE TABLE IF NOT EXISTS learner_completions (
                user_id bigint NOT NULL,
                content_type text NOT NULL,
                content_id text NOT NULL,
                completed_at timestamptz NOT NULL,
                status text NOT NULL,
                PRIMARY KEY (user_id, content_type, content_id)
            );
            -- A store of the previous version kept each learner's whole profile (entries, vector, fingerprint): its
            -- completed entries become completions, and the rest goes.
            DO $$
            BEGIN
                IF EXISTS (SELECT 1 FROM information_schema.columns
                           WHERE table_schema = current_schema() AND table_name = 'learner_profiles' AND column_name = 'entries') THEN
                    INSERT INTO learner_completions (user_id, content_type, content_id, completed_at, status)
                    SELECT p.user_id, e->>'content_type', e->>'content_id', date_trunc('milliseconds', (e->>'updated_at')::timestamptz), 'completed'
                    FROM learner_profiles p, jsonb_array_elements(p.entries) AS e
                    WHERE e->>'status' = 'completed'
                    ON CONFLICT DO NOTHING;
                    ALTER TABLE learner_profiles DROP COLUMN entries, DROP COLUMN IF EXISTS vector, DROP COLUMN IF EXISTS fingerprint;
                END IF;
            END $$;
            CREATE TABLE IF NOT EXISTS processed_events (
                event_id uuid PRIMARY KEY,
                processed_at timestamptz NOT NULL
            );
            CREATE INDEX IF NOT EXISTS processed_events_processed_at_idx ON processed_events (processed_at);
            """, cancellationToken);
    }

    public async Task<LearnerProfile?> GetAsync(long userId, CancellationToken cancellationToken = default)
    {
        return await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
            long sequence;
            DateTime updated;
            await using (var command = new NpgsqlCommand("SELECT last_sequence, updated_at FROM learner_profiles WHERE user_id = $1", connection, transaction))
            {
                command.Parameters.Add(new NpgsqlParameter { Value = userId });
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                if (!await reader.ReadAsync(cancellationToken))
                {
                    return null;
                }
                (sequence, updated) = (reader.GetInt64(0), reader.GetFieldValue<DateTime>(1));
            }
            var completions = await CompletionsAsync(connection, transaction, userId, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return new LearnerProfile(userId, completions, sequence, updated);
        }, cancellationToken);
    }

    public async Task<bool> ApplyAsync(long userId, long sequence, Func<IReadOnlyList<LearnerCompletion>, LearnerChange> decide, DateTime now,
        CancellationToken cancellationToken = default)
    {
        return await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // The learner's row, locked until the commit: a repeat delivered to another instance meanwhile waits here
            // and then finds the sequence applied.
            await using (var insert = new NpgsqlCommand(
                "INSERT INTO learner_profiles (user_id, last_sequence, updated_at) VALUES ($1, 0, $2) ON CONFLICT (user_id) DO NOTHING", connection, transaction))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = userId });
                insert.Parameters.Add(new NpgsqlParameter { Value = now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var command = new NpgsqlCommand("SELECT last_sequence FROM learner_profiles WHERE user_id = $1 FOR UPDATE", connection, transaction))
            {
                command.Parameters.Add(new NpgsqlParameter { Value = userId });
                if ((long)(await command.ExecuteScalarAsync(cancellationToken))! >= sequence)
                {
                    await transaction.RollbackAsync(cancellationToken);
                    return false;
                }
            }
            var change = decide(await CompletionsAsync(connection, transaction, userId, cancellationToken));
            await using var batch = new NpgsqlBatch(connection, transaction);
            if (change.Erase)
            {
                batch.BatchCommands.Add(Command("DELETE FROM learner_completions WHERE user_id = $1", userId));
            }
            if (change.Put is { } put)
            {
                batch.BatchCommands.Add(Command("""
                    INSERT INTO learner_completions (user_id, content_type, content_id, completed_at, status) VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (user_id, content_type, content_id) DO UPDATE SET completed_at = excluded.completed_at, status = excluded.status
                    """, userId, put.Item.ContentType, put.Item.ContentId, PgCoCompletionStore.Utc(put.CompletedAt), ProfileRows.Status(put.Status)));
            }
            batch.BatchCommands.Add(Command("UPDATE learner_profiles SET last_sequence = $2, updated_at = $3 WHERE user_id = $1", userId, sequence, now));
            await batch.ExecuteNonQueryAsync(cancellationToken);
            if (change.Observed is { } observed)
            {
                await PgCoCompletionStore.RecordAsync(connection, transaction, [observed], settings, cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            return true;
        }, cancellationToken);
    }

    public async Task ReplaceAsync(IReadOnlyDictionary<long, IReadOnlyList<LearnerCompletion>> learners, CoCompletionState counts, DateTime now,
        CancellationToken cancellationToken = default)
    {
        await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // Events wait while the rebuild writes (reads go on), so none is applied to a state about to be replaced.
            await using (var clear = new NpgsqlCommand("""
                LOCK TABLE learner_profiles, learner_completions, cocompletion_items, cocompletion_pairs IN EXCLUSIVE MODE;
                DELETE FROM learner_completions;
                """, connection, transaction))
            {
                await clear.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var insert = new NpgsqlCommand("""
                INSERT INTO learner_profiles (user_id, last_sequence, updated_at) SELECT u, 0, $2 FROM unnest($1::bigint[]) AS u
                ON CONFLICT (user_id) DO UPDATE SET updated_at = excluded.updated_at
                """, connection, transaction))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = learners.Keys.Order().ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                insert.Parameters.Add(new NpgsqlParameter { Value = now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var writer = await connection.BeginBinaryImportAsync(
                "COPY learner_completions (user_id, content_type, content_id, completed_at, status) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                foreach (var (userId, completions) in learners)
                {
                    foreach (var c in completions)
                    {
                        await writer.StartRowAsync(cancellationToken);
                        await writer.WriteAsync(userId, NpgsqlDbType.Bigint, cancellationToken);
                        await writer.WriteAsync(c.Item.ContentType, NpgsqlDbType.Text, cancellationToken);
                        await writer.WriteAsync(c.Item.ContentId, NpgsqlDbType.Text, cancellationToken);
                        await writer.WriteAsync(PgCoCompletionStore.Utc(c.CompletedAt), NpgsqlDbType.TimestampTz, cancellationToken);
                        await writer.WriteAsync(ProfileRows.Status(c.Status), NpgsqlDbType.Text, cancellationToken);
                    }
                }
                await writer.CompleteAsync(cancellationToken);
            }
            await PgCoCompletionStore.ReplaceAsync(connection, transaction, counts, settings, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return true;
        }, cancellationToken);
    }

    private static async Task<IReadOnlyList<LearnerCompletion>> CompletionsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long userId,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT content_type, content_id, completed_at, status FROM learner_completions WHERE user_id = $1", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = userId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var completions = new List<LearnerCompletion>();
        while (await reader.ReadAsync(cancellationToken))
        {
            completions.Add(new LearnerCompletion(new ContentKey(reader.GetString(0), reader.GetString(1)), reader.GetFieldValue<DateTime>(2),
                ProfileRows.Status(reader.GetString(3))));
        }
        return [.. LearnerCompletions.Ordered(completions)];
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(value is DateTime time
                ? new NpgsqlParameter { Value = time, NpgsqlDbType = NpgsqlDbType.TimestampTz }
                : new NpgsqlParameter { Value = value });
        }
        return command;
    }

    public async Task<bool> IsProcessedAsync(Guid eventId, CancellationToken cancellationToken = default)
    {
        return await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var command = new NpgsqlCommand("SELECT 1 FROM processed_events WHERE event_id = $1", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = eventId });
            return await command.ExecuteScalarAsync(cancellationToken) is not null;
        }, cancellationToken);
    }

    public async Task MarkProcessedAsync(Guid eventId, DateTime processedAt, CancellationToken cancellationToken = default)
    {
        var purgeDue = Interlocked.Increment(ref _marks) % 1000 == 1;
        await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var command = new NpgsqlCommand(
                "INSERT INTO processed_events (event_id, processed_at) VALUES ($1, $2) ON CONFLICT DO NOTHING", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = eventId });
            command.Parameters.Add(new NpgsqlParameter { Value = processedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            await command.ExecuteNonQueryAsync(cancellationToken);
            if (purgeDue)
            {
                await using var purge = new NpgsqlCommand("DELETE FROM processed_events WHERE processed_at < $1", connection);
                purge.Parameters.Add(new NpgsqlParameter { Value = processedAt - ProfileRows.EventRetention, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                await purge.ExecuteNonQueryAsync(cancellationToken);
            }
            return true;
        }, cancellationToken);
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}

/// <summary>
/// Learners' completions in an SQLite file beside the embedded catalog (<c>learners.db</c>), with the co-completion
/// counts in the same file: an event takes SQLite's write lock first (<c>BEGIN IMMEDIATE</c>), so its check of the
/// sequence, its completion, its counts and its sequence are one transaction. Times are stored as ticks (UTC).
/// </summary>
public sealed class SqliteLearnerProfileStore(string path, CoCompletionSettings settings) : ILearnerProfileStore
{
    private readonly string _connectionString = SqliteStores.ConnectionString(path);
    private long _marks;

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        // 0700 directory, 0600 database (and its -wal/-shm), before SQLite first opens it.
        DataDirectory.PrepareSqliteFile(Path.GetFullPath(path));
        await using var connection = await SqliteStores.OpenAsync(_connectionString, cancellationToken);
        await SqliteStores.ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await SqliteStores.ExecuteAsync(connection, transaction, SqliteCoCompletionStore.Schema + """
            CREATE TABLE IF NOT EXISTS learner_profiles (
                user_id INTEGER PRIMARY KEY,
                last_sequence INTEGER NOT NULL,
                updated_at TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS learner_completions (
                user_id INTEGER NOT NULL,
                content_type TEXT NOT NULL,
                content_id TEXT NOT NULL,
                completed_at INTEGER NOT NULL,
                status TEXT NOT NULL,
                PRIMARY KEY (user_id, content_type, content_id)
            );
            CREATE TABLE IF NOT EXISTS processed_events (
                event_id TEXT PRIMARY KEY,
                processed_at TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS ix_processed_events_processed_at ON processed_events (processed_at);
            """, cancellationToken);
        await UpgradeProfilesAsync(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// A file of the previous version kept each learner's whole profile (entries as JSON, vector, fingerprint): its
    /// completed entries become completions, and the rest goes.
    /// </summary>
    private static async Task UpgradeProfilesAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        await using (var check = connection.CreateCommand())
        {
            check.Transaction = transaction;
            check.CommandText = "SELECT 1 FROM pragma_table_info('learner_profiles') WHERE name = 'entries'";
            if (await check.ExecuteScalarAsync(cancellationToken) is null)
            {
                return;
            }
        }
        var completions = new List<(long User, LearnerCompletion Completion)>();
        await using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT user_id, entries FROM learner_profiles";
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var entries = System.Text.Json.JsonSerializer.Deserialize<ProfileEntry[]>(reader.GetString(1), CyberHubJson.Options) ?? [];
                completions.AddRange(entries.Where(e => e.Status == ProgressStatus.Completed).Select(e => (reader.GetInt64(0),
                    new LearnerCompletion(new ContentKey(e.ContentType, e.ContentId), LearnerCompletions.ToMilliseconds(e.UpdatedAt.ToUniversalTime()), ProgressStatus.Completed))));
            }
        }
        foreach (var (user, completion) in completions)
        {
            await PutAsync(connection, transaction, user, completion, cancellationToken);
        }
        await SqliteStores.ExecuteAsync(connection, transaction, """
            ALTER TABLE learner_profiles DROP COLUMN entries;
            ALTER TABLE learner_profiles DROP COLUMN vector;
            ALTER TABLE learner_profiles DROP COLUMN fingerprint;
            """, cancellationToken);
    }

    public async Task<LearnerProfile?> GetAsync(long userId, CancellationToken cancellationToken = default)
    {
        await using var connection = await SqliteStores.OpenAsync(_connectionString, cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: true);
        long sequence;
        DateTime updated;
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT last_sequence, updated_at FROM learner_profiles WHERE user_id = $user";
            command.Parameters.AddWithValue("$user", userId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }
            (sequence, updated) = (reader.GetInt64(0), DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc));
        }
        return new LearnerProfile(userId, await CompletionsAsync(connection, transaction, userId, cancellationToken), sequence, updated);
    }

    public async Task<bool> ApplyAsync(long userId, long sequence, Func<IReadOnlyList<LearnerCompletion>, LearnerChange> decide, DateTime now,
        CancellationToken cancellationToken = default)
    {
        await using var connection = await SqliteStores.OpenAsync(_connectionString, cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT last_sequence FROM learner_profiles WHERE user_id = $user";
            command.Parameters.AddWithValue("$user", userId);
            if (await command.ExecuteScalarAsync(cancellationToken) is long applied && applied >= sequence)
            {
                return false;
            }
        }
        var change = decide(await CompletionsAsync(connection, transaction, userId, cancellationToken));
        if (change.Erase)
        {
            await SqliteStores.ExecuteAsync(connection, transaction, "DELETE FROM learner_completions WHERE user_id = $user", cancellationToken, ("$user", userId));
        }
        if (change.Put is { } put)
        {
            await PutAsync(connection, transaction, userId, put, cancellationToken);
        }
        if (change.Observed is { } observed)
        {
            await SqliteCoCompletionStore.RecordAsync(connection, transaction, [observed], settings, cancellationToken);
        }
        await SqliteStores.ExecuteAsync(connection, transaction, """
            INSERT INTO learner_profiles (user_id, last_sequence, updated_at) VALUES ($user, $sequence, $updated)
            ON CONFLICT (user_id) DO UPDATE SET last_sequence = excluded.last_sequence, updated_at = excluded.updated_at
            """, cancellationToken, ("$user", userId), ("$sequence", sequence), ("$updated", now.ToString("O")));
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task ReplaceAsync(IReadOnlyDictionary<long, IReadOnlyList<LearnerCompletion>> learners, CoCompletionState counts, DateTime now,
        CancellationToken cancellationToken = default)
    {
        await using var connection = await SqliteStores.OpenAsync(_connectionString, cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await SqliteStores.ExecuteAsync(connection, transaction, "DELETE FROM learner_completions", cancellationToken);
        foreach (var (userId, completions) in learners)
        {
            await SqliteStores.ExecuteAsync(connection, transaction, """
                INSERT INTO learner_profiles (user_id, last_sequence, updated_at) VALUES ($user, 0, $updated)
                ON CONFLICT (user_id) DO UPDATE SET updated_at = excluded.updated_at
                """, cancellationToken, ("$user", userId), ("$updated", now.ToString("O")));
            foreach (var completion in completions)
            {
                await PutAsync(connection, transaction, userId, completion, cancellationToken);
            }
        }
        await SqliteCoCompletionStore.ReplaceAsync(connection, transaction, counts, settings, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static Task PutAsync(SqliteConnection connection, SqliteTransaction transaction, long userId, LearnerCompletion completion, CancellationToken cancellationToken) =>
        SqliteStores.ExecuteAsync(connection, transaction, """
            INSERT INTO learner_completions (user_id, content_type, content_id, completed_at, status) VALUES ($user, $type, $id, $at, $status)
            ON CONFLICT (user_id, content_type, content_id) DO UPDATE SET completed_at = excluded.completed_at, status = excluded.status
            """, cancellationToken, ("$user", userId), ("$type", completion.Item.ContentType), ("$id", completion.Item.ContentId),
            ("$at", PgCoCompletionStore.Utc(completion.CompletedAt).Ticks), ("$status", ProfileRows.Status(completion.Status)));

    private static async Task<IReadOnlyList<LearnerCompletion>> CompletionsAsync(SqliteConnection connection, SqliteTransaction transaction, long userId,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT content_type, content_id, completed_at, status FROM learner_completions WHERE user_id = $user";
        command.Parameters.AddWithValue("$user", userId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var completions = new List<LearnerCompletion>();
        while (await reader.ReadAsync(cancellationToken))
        {
            completions.Add(new LearnerCompletion(new ContentKey(reader.GetString(0), reader.GetString(1)), new DateTime(reader.GetInt64(2), DateTimeKind.Utc),
                ProfileRows.Status(reader.GetString(3))));
        }
        return [.. LearnerCompletions.Ordered(completions)];
    }

    public async Task<bool> IsProcessedAsync(Guid eventId, CancellationToken cancellationToken = default)
    {
        await using var connection = await SqliteStores.OpenAsync(_connectionString, cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM processed_events WHERE event_id = $id";
        command.Parameters.AddWithValue("$id", eventId.ToString("N"));
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task MarkProcessedAsync(Guid eventId, DateTime processedAt, CancellationToken cancellationToken = default)
    {
        await using var connection = await SqliteStores.OpenAsync(_connectionString, cancellationToken);
        await SqliteStores.ExecuteAsync(connection, null, "INSERT OR IGNORE INTO processed_events (event_id, processed_at) VALUES ($id, $at)", cancellationToken,
            ("$id", eventId.ToString("N")), ("$at", processedAt.ToString("O")));
        if (Interlocked.Increment(ref _marks) % 1000 == 1)
        {
            await SqliteStores.ExecuteAsync(connection, null, "DELETE FROM processed_events WHERE processed_at < $cutoff", cancellationToken,
                ("$cutoff", (processedAt - ProfileRows.EventRetention).ToString("O")));
        }
    }
}
