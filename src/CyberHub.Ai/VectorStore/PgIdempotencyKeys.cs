using CyberHub.ServiceDefaults.Idempotency;
using Npgsql;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// Idempotency keys of catalog writes, in PostgreSQL beside <c>content_items</c>. A key is claimed before the texts
/// are embedded and answered in the transaction of the upsert (see <see cref="IdempotencyClaim"/>).
/// </summary>
internal static class PgIdempotencyKeys
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS idempotency_keys (
            caller text COLLATE "C" NOT NULL,
            route text COLLATE "C" NOT NULL,
            key text COLLATE "C" NOT NULL,
            fingerprint text NOT NULL,
            claim_token uuid,
            locked_until timestamptz,
            status_code integer,
            response_body text,
            response_headers text,
            created_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL,
            PRIMARY KEY (caller, route, key)
        );
        CREATE INDEX IF NOT EXISTS idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
        """;

    // A new key is inserted; an expired one, or a claim abandoned by a crashed request with the same body, is taken
    // over; anything else is left alone and returns no row. One statement, so two claimants cannot both win.
    private const string ClaimSql = """
        INSERT INTO idempotency_keys (caller, route, key, fingerprint, claim_token, locked_until, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (caller, route, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, claim_token = EXCLUDED.claim_token,
            locked_until = EXCLUDED.locked_until, status_code = NULL, response_body = NULL, response_headers = NULL,
            created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
        WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
            OR (idempotency_keys.status_code IS NULL AND idempotency_keys.locked_until <= EXCLUDED.created_at
                AND idempotency_keys.fingerprint = EXCLUDED.fingerprint)
        RETURNING claim_token
        """;

    public static async Task<IdempotencyClaim> ClaimAsync(NpgsqlDataSource dataSource, IdempotentRequest request, DateTime now, CancellationToken cancellationToken)
    {
        var token = Guid.NewGuid();
        for (var attempt = 1; ; attempt++)
        {
            await using (var claim = dataSource.CreateCommand(ClaimSql))
            {
                Add(claim.Parameters, request.Caller, request.Route, request.Key, request.Fingerprint, token,
                    now + IdempotencyClaim.Lease, now, now + IdempotencyKeyHeader.Lifetime);
                if (await claim.ExecuteScalarAsync(cancellationToken) is Guid)
                {
                    return new IdempotencyClaim(request, token, null);
                }
            }
            await using var read = dataSource.CreateCommand(
                "SELECT fingerprint, status_code, response_body, response_headers FROM idempotency_keys WHERE caller = $1 AND route = $2 AND key = $3");
            Add(read.Parameters, request.Caller, request.Route, request.Key);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                return IdempotencyClaim.Existing(request, reader.GetString(0),
                    reader.IsDBNull(1) ? null : reader.GetInt32(1),
                    reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3));
            }
            // Given back or purged between the two statements: claim it again, a few times at most.
            if (attempt == 3)
            {
                throw IdempotentRequest.InFlight(IdempotencyClaim.RetryAfter);
            }
        }
    }

    /// <summary>Stores the answer in place of the claim; added to the batch of the upsert, so both commit together.</summary>
    public static NpgsqlBatchCommand Answer(IdempotencyClaim claim, IdempotentAnswer answer)
    {
        var command = new NpgsqlBatchCommand("""
            UPDATE idempotency_keys SET status_code = $5, response_body = $6, response_headers = $7, claim_token = NULL, locked_until = NULL
            WHERE caller = $1 AND route = $2 AND key = $3 AND claim_token = $4
            """);
        Add(command.Parameters, claim.Request.Caller, claim.Request.Route, claim.Request.Key, claim.Token,
            answer.StatusCode, answer.Body, answer.HeadersJson());
        return command;
    }

    public static async Task ReleaseAsync(NpgsqlDataSource dataSource, IdempotencyClaim claim, CancellationToken cancellationToken)
    {
        await using var release = dataSource.CreateCommand(
            "DELETE FROM idempotency_keys WHERE caller = $1 AND route = $2 AND key = $3 AND claim_token = $4");
        Add(release.Parameters, claim.Request.Caller, claim.Request.Route, claim.Request.Key, claim.Token);
        await release.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<int> PurgeAsync(NpgsqlDataSource dataSource, DateTime now, CancellationToken cancellationToken)
    {
        await using var purge = dataSource.CreateCommand("DELETE FROM idempotency_keys WHERE expires_at <= $1");
        Add(purge.Parameters, now);
        return await purge.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Add(NpgsqlParameterCollection parameters, params object[] values)
    {
        foreach (var value in values)
        {
            parameters.Add(new NpgsqlParameter { Value = value });
        }
    }
}
