using System.Globalization;
using CyberHub.ServiceDefaults.Idempotency;
using Microsoft.Data.Sqlite;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// Idempotency keys of catalog writes in the embedded store's SQLite file, beside <c>content_items</c>; the same
/// statements as <see cref="PgIdempotencyKeys"/>. Times are fixed-width ISO text, so they compare as strings.
/// </summary>
internal static class SqliteIdempotencyKeys
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS idempotency_keys (
            caller TEXT NOT NULL,
            route TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            claim_token TEXT,
            locked_until TEXT,
            status_code INTEGER,
            response_body TEXT,
            response_headers TEXT,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            PRIMARY KEY (caller, route, key)
        );
        CREATE INDEX IF NOT EXISTS ix_idempotency_keys_expires_at ON idempotency_keys (expires_at);
        """;

    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    private const string ClaimSql = """
        INSERT INTO idempotency_keys (caller, route, key, fingerprint, claim_token, locked_until, created_at, expires_at)
        VALUES ($caller, $route, $key, $fingerprint, $token, $locked_until, $now, $expires_at)
        ON CONFLICT (caller, route, key) DO UPDATE SET fingerprint = excluded.fingerprint, claim_token = excluded.claim_token,
            locked_until = excluded.locked_until, status_code = NULL, response_body = NULL, response_headers = NULL,
            created_at = excluded.created_at, expires_at = excluded.expires_at
        WHERE idempotency_keys.expires_at <= excluded.created_at
            OR (idempotency_keys.status_code IS NULL AND idempotency_keys.locked_until <= excluded.created_at
                AND idempotency_keys.fingerprint = excluded.fingerprint)
        RETURNING claim_token
        """;

    public static async Task<IdempotencyClaim> ClaimAsync(SqliteConnection connection, IdempotentRequest request, DateTime now, CancellationToken cancellationToken)
    {
        var token = Guid.NewGuid();
        for (var attempt = 1; ; attempt++)
        {
            await using (var claim = Command(connection, null, ClaimSql, request))
            {
                claim.Parameters.AddWithValue("$fingerprint", request.Fingerprint);
                claim.Parameters.AddWithValue("$token", token.ToString());
                claim.Parameters.AddWithValue("$locked_until", Timestamp(now + IdempotencyClaim.Lease));
                claim.Parameters.AddWithValue("$now", Timestamp(now));
                claim.Parameters.AddWithValue("$expires_at", Timestamp(now + IdempotencyKeyHeader.Lifetime));
                if (await claim.ExecuteScalarAsync(cancellationToken) is string)
                {
                    return new IdempotencyClaim(request, token, null);
                }
            }
            await using var read = Command(connection, null,
                "SELECT fingerprint, status_code, response_body, response_headers FROM idempotency_keys WHERE caller = $caller AND route = $route AND key = $key",
                request);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                return IdempotencyClaim.Existing(request, reader.GetString(0),
                    reader.IsDBNull(1) ? null : reader.GetInt32(1),
                    reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3));
            }
            if (attempt == 3)
            {
                throw IdempotentRequest.InFlight(IdempotencyClaim.RetryAfter);
            }
        }
    }

    /// <summary>Stores the answer in place of the claim, inside the transaction of the upsert.</summary>
    public static async Task AnswerAsync(
        SqliteConnection connection, SqliteTransaction transaction, IdempotencyClaim claim, IdempotentAnswer answer, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, """
            UPDATE idempotency_keys SET status_code = $status, response_body = $body, response_headers = $headers, claim_token = NULL, locked_until = NULL
            WHERE caller = $caller AND route = $route AND key = $key AND claim_token = $token
            """, claim.Request);
        command.Parameters.AddWithValue("$token", claim.Token.ToString());
        command.Parameters.AddWithValue("$status", answer.StatusCode);
        command.Parameters.AddWithValue("$body", answer.Body);
        command.Parameters.AddWithValue("$headers", answer.HeadersJson());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task ReleaseAsync(SqliteConnection connection, IdempotencyClaim claim, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null,
            "DELETE FROM idempotency_keys WHERE caller = $caller AND route = $route AND key = $key AND claim_token = $token", claim.Request);
        command.Parameters.AddWithValue("$token", claim.Token.ToString());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<int> PurgeAsync(SqliteConnection connection, DateTime now, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM idempotency_keys WHERE expires_at <= $now";
        command.Parameters.AddWithValue("$now", Timestamp(now));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, IdempotentRequest request)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.Parameters.AddWithValue("$caller", request.Caller);
        command.Parameters.AddWithValue("$route", request.Route);
        command.Parameters.AddWithValue("$key", request.Key);
        return command;
    }

    private static string Timestamp(DateTime value) => value.ToUniversalTime().ToString(TimestampFormat, CultureInfo.InvariantCulture);
}
