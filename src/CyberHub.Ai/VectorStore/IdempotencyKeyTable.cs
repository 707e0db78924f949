using System.Data.Common;
using System.Globalization;
using CyberHub.ServiceDefaults.Idempotency;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// Idempotency keys of catalog writes, in the catalog's own database beside <c>content_items</c>: PostgreSQL, or the
/// embedded store's SQLite file. A key is claimed before the texts are embedded and answered in the transaction of
/// the upsert (see <see cref="IdempotencyClaim"/>). Both databases run the same statements; they differ only in
/// column types and in how a time and a claim token are stored (SQLite: fixed-width ISO text, which compares as a
/// string, and the token's text).
/// </summary>
internal sealed class IdempotencyKeyTable
{
    public static readonly IdempotencyKeyTable Postgres = new("text COLLATE \"C\"", "timestamptz", "uuid", "idempotency_keys_expires_at_idx",
        time => time, token => token);

    public static readonly IdempotencyKeyTable Sqlite = new("TEXT", "TEXT", "TEXT", "ix_idempotency_keys_expires_at",
        time => time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture), token => token.ToString());

    // A new key is inserted; an expired one, or a claim abandoned by a crashed request with the same body, is taken
    // over; anything else is left alone and returns no row. One statement, so two claimants cannot both win.
    private const string ClaimSql = """
        INSERT INTO idempotency_keys (caller, route, key, fingerprint, claim_token, locked_until, created_at, expires_at)
        VALUES (@caller, @route, @key, @fingerprint, @token, @locked_until, @now, @expires_at)
        ON CONFLICT (caller, route, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, claim_token = EXCLUDED.claim_token,
            locked_until = EXCLUDED.locked_until, status_code = NULL, response_body = NULL, response_headers = NULL,
            created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
        WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
            OR (idempotency_keys.status_code IS NULL AND idempotency_keys.locked_until <= EXCLUDED.created_at
                AND idempotency_keys.fingerprint = EXCLUDED.fingerprint)
        RETURNING claim_token
        """;

    private const string ReadSql =
        "SELECT fingerprint, status_code, response_body, response_headers FROM idempotency_keys WHERE caller = @caller AND route = @route AND key = @key";

    private const string AnswerSql = """
        UPDATE idempotency_keys SET status_code = @status, response_body = @body, response_headers = @headers, claim_token = NULL, locked_until = NULL
        WHERE caller = @caller AND route = @route AND key = @key AND claim_token = @token
        """;

    private const string ReleaseSql = "DELETE FROM idempotency_keys WHERE caller = @caller AND route = @route AND key = @key AND claim_token = @token";

    private const string PurgeSql = "DELETE FROM idempotency_keys WHERE expires_at <= @now";

    private readonly Func<DateTime, object> _time;
    private readonly Func<Guid, object> _token;

    private IdempotencyKeyTable(string text, string time, string uuid, string expiresIndex, Func<DateTime, object> timeValue, Func<Guid, object> tokenValue)
    {
        _time = timeValue;
        _token = tokenValue;
        Schema = $"""
            CREATE TABLE IF NOT EXISTS idempotency_keys (
                caller {text} NOT NULL,
                route {text} NOT NULL,
                key {text} NOT NULL,
                fingerprint text NOT NULL,
                claim_token {uuid},
                locked_until {time},
                status_code integer,
                response_body text,
                response_headers text,
                created_at {time} NOT NULL,
                expires_at {time} NOT NULL,
                PRIMARY KEY (caller, route, key)
            );
            CREATE INDEX IF NOT EXISTS {expiresIndex} ON idempotency_keys (expires_at);
            """;
    }

    public string Schema { get; }

    /// <param name="newCommand">A command on the store's connection (or data source), outside any transaction.</param>
    public async Task<IdempotencyClaim> ClaimAsync(Func<DbCommand> newCommand, IdempotentRequest request, DateTime now, CancellationToken cancellationToken)
    {
        var token = Guid.NewGuid();
        for (var attempt = 1; ; attempt++)
        {
            await using (var claim = Prepare(newCommand(), ClaimSql, request,
                ("fingerprint", request.Fingerprint), ("token", _token(token)), ("locked_until", _time(now + IdempotencyClaim.Lease)),
                ("now", _time(now)), ("expires_at", _time(now + IdempotencyKeyHeader.Lifetime))))
            {
                if (await claim.ExecuteScalarAsync(cancellationToken) is not (null or DBNull))
                {
                    return new IdempotencyClaim(request, token, null);
                }
            }
            await using var read = Prepare(newCommand(), ReadSql, request);
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

    /// <summary>Stores the answer in place of the claim: a command for the upsert's transaction, so both commit together.</summary>
    public DbCommand Answer(DbCommand command, IdempotencyClaim claim, IdempotentAnswer answer) =>
        Prepare(command, AnswerSql, claim.Request, ("token", _token(claim.Token)),
            ("status", answer.StatusCode), ("body", answer.Body), ("headers", answer.HeadersJson()));

    /// <summary>The same, as one command of the upsert's batch.</summary>
    public DbBatchCommand Answer(DbBatchCommand command, IdempotencyClaim claim, IdempotentAnswer answer)
    {
        command.CommandText = AnswerSql;
        Bind(command.Parameters, command.CreateParameter, claim.Request,
            [("token", _token(claim.Token)), ("status", answer.StatusCode), ("body", answer.Body), ("headers", answer.HeadersJson())]);
        return command;
    }

    public async Task ReleaseAsync(DbCommand command, IdempotencyClaim claim, CancellationToken cancellationToken)
    {
        await using var release = Prepare(command, ReleaseSql, claim.Request, ("token", _token(claim.Token)));
        await release.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<int> PurgeAsync(DbCommand command, DateTime now, CancellationToken cancellationToken)
    {
        await using var purge = Prepare(command, PurgeSql, null, ("now", _time(now)));
        return await purge.ExecuteNonQueryAsync(cancellationToken);
    }

    private static DbCommand Prepare(DbCommand command, string sql, IdempotentRequest? request, params (string Name, object? Value)[] values)
    {
        command.CommandText = sql;
        Bind(command.Parameters, command.CreateParameter, request, values);
        return command;
    }

    private static void Bind(DbParameterCollection parameters, Func<DbParameter> create, IdempotentRequest? request, (string Name, object? Value)[] values)
    {
        IEnumerable<(string Name, object? Value)> all = request is null
            ? values
            : [("caller", request.Caller), ("route", request.Route), ("key", request.Key), .. values];
        foreach (var (name, value) in all)
        {
            var parameter = create();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            parameters.Add(parameter);
        }
    }
}
