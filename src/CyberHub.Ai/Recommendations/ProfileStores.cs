using System.Runtime.InteropServices;
using System.Text.Json;
using CyberHub.Contracts;
using Microsoft.Data.Sqlite;
using CyberHub.Ai.VectorStore;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Data;
using Npgsql;
using NpgsqlTypes;

namespace CyberHub.Ai.Recommendations;

/// <summary>Row format shared by both stores: entries as JSON, the vector as little-endian float32 bytes.</summary>
internal static class ProfileRows
{
    public static readonly TimeSpan EventRetention = TimeSpan.FromDays(14);

    public static string EntriesJson(LearnerProfile profile) => JsonSerializer.Serialize(profile.Entries, CyberHubJson.Options);

    public static IReadOnlyList<ProfileEntry> Entries(string json) =>
        JsonSerializer.Deserialize<ProfileEntry[]>(json, CyberHubJson.Options) ?? [];

    public static byte[]? VectorBytes(float[]? vector) => vector is null ? null : MemoryMarshal.AsBytes(vector.AsSpan()).ToArray();

    public static float[]? Vector(byte[]? bytes) => bytes is null ? null : MemoryMarshal.Cast<byte, float>(bytes).ToArray();
}

/// <summary>Profiles beside the pgvector catalog, shared by every AI instance.</summary>
public sealed class PgLearnerProfileStore(string connectionString) : ILearnerProfileStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(PostgresConnections.Tuned(connectionString));
    private long _marks;

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await PgSchema.ApplyAsync(connection, """
            CREATE TABLE IF NOT EXISTS learner_profiles (
                user_id bigint PRIMARY KEY,
                entries jsonb NOT NULL,
                vector bytea,
                fingerprint text NOT NULL,
                last_sequence bigint NOT NULL,
                updated_at timestamptz NOT NULL
            );
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
            await using var command = new NpgsqlCommand(
                "SELECT entries::text, vector, fingerprint, last_sequence, updated_at FROM learner_profiles WHERE user_id = $1", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = userId });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }
            return new LearnerProfile(userId, ProfileRows.Entries(reader.GetString(0)),
                ProfileRows.Vector(reader.IsDBNull(1) ? null : reader.GetFieldValue<byte[]>(1)),
                reader.GetString(2), reader.GetInt64(3), reader.GetFieldValue<DateTime>(4));
        }, cancellationToken);
    }

    public async Task SaveAsync(LearnerProfile profile, CancellationToken cancellationToken = default)
    {
        await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
        await using var command = new NpgsqlCommand("""
            INSERT INTO learner_profiles (user_id, entries, vector, fingerprint, last_sequence, updated_at)
            VALUES ($1, $2::jsonb, $3, $4, $5, $6)
            ON CONFLICT (user_id) DO UPDATE SET entries = excluded.entries, vector = excluded.vector,
                fingerprint = excluded.fingerprint, last_sequence = excluded.last_sequence, updated_at = excluded.updated_at
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = profile.UserId });
        command.Parameters.Add(new NpgsqlParameter { Value = ProfileRows.EntriesJson(profile), NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)ProfileRows.VectorBytes(profile.Vector) ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter { Value = profile.Fingerprint });
        command.Parameters.Add(new NpgsqlParameter { Value = profile.LastSequence });
        command.Parameters.Add(new NpgsqlParameter { Value = profile.UpdatedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
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

/// <summary>Profiles in an SQLite file beside the embedded catalog.</summary>
public sealed class SqliteLearnerProfileStore(string path) : ILearnerProfileStore
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = Path.GetFullPath(path),
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();
    private long _marks;

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        // 0700 directory, 0600 database (and its -wal/-shm), before SQLite first opens it.
        DataDirectory.PrepareSqliteFile(Path.GetFullPath(path));
        await ExecuteAsync("""
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS learner_profiles (
                user_id INTEGER PRIMARY KEY,
                entries TEXT NOT NULL,
                vector BLOB,
                fingerprint TEXT NOT NULL,
                last_sequence INTEGER NOT NULL,
                updated_at TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS processed_events (
                event_id TEXT PRIMARY KEY,
                processed_at TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS ix_processed_events_processed_at ON processed_events (processed_at);
            """, cancellationToken);
    }

    public async Task<LearnerProfile?> GetAsync(long userId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT entries, vector, fingerprint, last_sequence, updated_at FROM learner_profiles WHERE user_id = $user";
        command.Parameters.AddWithValue("$user", userId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new LearnerProfile(userId, ProfileRows.Entries(reader.GetString(0)),
            ProfileRows.Vector(reader.IsDBNull(1) ? null : (byte[])reader.GetValue(1)),
            reader.GetString(2), reader.GetInt64(3), DateTime.SpecifyKind(reader.GetDateTime(4), DateTimeKind.Utc));
    }

    public Task SaveAsync(LearnerProfile profile, CancellationToken cancellationToken = default) =>
        ExecuteAsync("""
            INSERT INTO learner_profiles (user_id, entries, vector, fingerprint, last_sequence, updated_at)
            VALUES ($user, $entries, $vector, $fingerprint, $sequence, $updated)
            ON CONFLICT (user_id) DO UPDATE SET entries = excluded.entries, vector = excluded.vector,
                fingerprint = excluded.fingerprint, last_sequence = excluded.last_sequence, updated_at = excluded.updated_at
            """, cancellationToken,
            ("$user", profile.UserId), ("$entries", ProfileRows.EntriesJson(profile)),
            ("$vector", (object?)ProfileRows.VectorBytes(profile.Vector) ?? DBNull.Value), ("$fingerprint", profile.Fingerprint),
            ("$sequence", profile.LastSequence), ("$updated", profile.UpdatedAt.ToString("O")));

    public async Task<bool> IsProcessedAsync(Guid eventId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM processed_events WHERE event_id = $id";
        command.Parameters.AddWithValue("$id", eventId.ToString("N"));
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task MarkProcessedAsync(Guid eventId, DateTime processedAt, CancellationToken cancellationToken = default)
    {
        await ExecuteAsync("INSERT OR IGNORE INTO processed_events (event_id, processed_at) VALUES ($id, $at)", cancellationToken,
            ("$id", eventId.ToString("N")), ("$at", processedAt.ToString("O")));
        if (Interlocked.Increment(ref _marks) % 1000 == 1)
        {
            await ExecuteAsync("DELETE FROM processed_events WHERE processed_at < $cutoff", cancellationToken,
                ("$cutoff", (processedAt - ProfileRows.EventRetention).ToString("O")));
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
