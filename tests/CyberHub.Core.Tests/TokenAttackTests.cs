using System.Data.Common;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Tests;

/// <summary>
/// Attacks on refresh tokens: a stolen database, replays, and refreshes racing each other, a logout or a
/// password change. A family (the tokens of one login) counts as revoked once any of its tokens is.
/// </summary>
public abstract class TokenAttackTests<TServer>(TServer server) where TServer : CoreServer
{
    private readonly HttpClient _anonymous = server.CreateClient();

    private Task<HttpResponseMessage> RefreshAsync(string refresh) =>
        _anonymous.PostJsonAsync("/api/v1/token/refresh/", new RefreshRequest(refresh));

    private async Task<TokenPair> LoginAsync(Learner learner) =>
        await (await _anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(learner.User.Email, null, learner.Password))).ReadAsync<TokenPair>();

    [Fact]
    public async Task The_refresh_tokens_table_holds_only_sha256_hashes_and_no_log_line_holds_a_token()
    {
        var learner = await server.RegisterAsync();
        var login = await LoginAsync(learner);
        var rotated = await (await RefreshAsync(login.Refresh)).ReadAsync<TokenPair>();
        string[] issued = [learner.Refresh, login.Refresh, rotated.Refresh];

        var rows = await RowsAsync("SELECT * FROM refresh_tokens");
        var mine = rows.Where(r => Convert.ToInt64(r["UserId"], System.Globalization.CultureInfo.InvariantCulture) == learner.User.Id).ToList();
        Assert.Equal(3, mine.Count);
        Assert.Equal(
            issued.Select(t => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(t)))).Order(),
            mine.Select(r => Convert.ToHexString((byte[])r["TokenHash"]!)).Order());

        // No column of any row holds a token in any encoding: as text, as its decoded bytes, or those in hex.
        var forms = issued.SelectMany(t => new[] { t, Convert.ToHexString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(t)) }).ToList();
        foreach (var value in rows.SelectMany(r => r.Values))
        {
            var text = value switch
            {
                byte[] bytes => Convert.ToHexString(bytes) + " " + Encoding.UTF8.GetString(bytes) + " " + Convert.ToBase64String(bytes),
                _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
            };
            Assert.DoesNotContain(forms, f => text.Contains(f, StringComparison.OrdinalIgnoreCase));
        }
        Assert.DoesNotContain(server.Logs.Entries, e => issued.Any(t => e.Message.Contains(t, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Twenty_concurrent_refreshes_of_one_token_let_exactly_one_through_and_revoke_the_family()
    {
        for (var round = 0; round < 3; round++)
        {
            var learner = await server.RegisterAsync();
            var other = await LoginAsync(learner);
            var family = await FamilyOfAsync(learner.Refresh);

            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var racing = Enumerable.Range(0, 20).Select(_ => Task.Run(async () =>
            {
                await start.Task;
                return await RefreshAsync(learner.Refresh);
            })).ToList();
            start.SetResult();
            var responses = await Task.WhenAll(racing);

            var winners = responses.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
            Assert.Single(winners);
            foreach (var loser in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
            {
                await loser.DetailAsync(HttpStatusCode.Unauthorized);
            }

            // Using one token twice is what a thief does: the winner's new token dies with the family.
            var won = await winners[0].ReadAsync<TokenPair>();
            await (await RefreshAsync(won.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);
            await (await RefreshAsync(learner.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);
            var tokens = await TokensOfFamilyAsync(family);
            Assert.Equal(2, tokens.Count);
            Assert.All(tokens, t => Assert.NotNull(t.RevokedAt));

            // The learner's other login is another family, untouched.
            await (await RefreshAsync(other.Refresh)).ReadAsync<TokenPair>();
        }
    }

    [Fact]
    public async Task A_token_issued_by_a_refresh_that_lost_the_race_with_a_revocation_is_dead()
    {
        // The state a refresh racing a reuse revocation can leave behind: the claimed token was revoked with its
        // family, and the new token was written a moment after the revocation, so the revocation missed it.
        var learner = await server.RegisterAsync();
        var next = await (await RefreshAsync(learner.Refresh)).ReadAsync<TokenPair>();
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(learner.Refresh));
            var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
            Assert.Equal(1, await db.RefreshTokens.Where(t => t.TokenHash == hash)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, DateTime.UtcNow)));
        }

        var detail = await (await RefreshAsync(next.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("Refresh token is invalid or expired.", detail);
        Assert.All(await TokensOfFamilyAsync(await FamilyOfAsync(next.Refresh)), t => Assert.NotNull(t.RevokedAt));
    }

    [Fact]
    public async Task A_logout_racing_a_refresh_leaves_no_token_of_the_session_alive()
    {
        for (var round = 0; round < 10; round++)
        {
            var learner = await server.RegisterAsync();
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var refresh = Task.Run(async () => { await start.Task; return await RefreshAsync(learner.Refresh); });
            var logout = Task.Run(async () =>
            {
                await start.Task;
                return await _anonymous.PostJsonAsync("/api/v1/token/revoke/", new RefreshRequest(learner.Refresh));
            });
            start.SetResult();
            Assert.Equal(HttpStatusCode.NoContent, (await logout).StatusCode);

            var refreshed = await refresh;
            if (refreshed.StatusCode == HttpStatusCode.OK)
            {
                var pair = await refreshed.ReadAsync<TokenPair>();
                await (await RefreshAsync(pair.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);
            }
            else
            {
                await refreshed.DetailAsync(HttpStatusCode.Unauthorized);
            }
            await (await RefreshAsync(learner.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);
        }
    }

    [Fact]
    public async Task A_password_change_racing_refreshes_of_every_session_leaves_none_alive()
    {
        var learner = await server.RegisterAsync();
        var sessions = new List<string> { learner.Refresh };
        for (var i = 0; i < 7; i++)
        {
            sessions.Add((await LoginAsync(learner)).Refresh);
        }
        const string newPassword = "a-new-and-longer-passphrase";

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var refreshes = sessions.Select(s => Task.Run(async () => { await start.Task; return await RefreshAsync(s); })).ToList();
        var change = Task.Run(async () =>
        {
            await start.Task;
            return await learner.Client.PostJsonAsync("/api/v1/users/me/password/", new ChangePasswordRequest(learner.Password, newPassword));
        });
        start.SetResult();
        Assert.Equal(HttpStatusCode.NoContent, (await change).StatusCode);

        foreach (var response in await Task.WhenAll(refreshes))
        {
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var pair = await response.ReadAsync<TokenPair>();
                await (await RefreshAsync(pair.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);
            }
            else
            {
                await response.DetailAsync(HttpStatusCode.Unauthorized);
            }
        }
        foreach (var session in sessions)
        {
            await (await RefreshAsync(session)).DetailAsync(HttpStatusCode.Unauthorized);
        }

        // A login with the new password starts a family of its own, which works.
        var fresh = await (await _anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(learner.User.Email, null, newPassword))).ReadAsync<TokenPair>();
        await (await RefreshAsync(fresh.Refresh)).ReadAsync<TokenPair>();
    }

    private async Task<Guid> FamilyOfAsync(string refresh)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(refresh));
        await using var scope = server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CoreDbContext>().RefreshTokens.Where(t => t.TokenHash == hash).Select(t => t.FamilyId).SingleAsync();
    }

    private async Task<List<Auth.RefreshToken>> TokensOfFamilyAsync(Guid family)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CoreDbContext>().RefreshTokens.AsNoTracking().Where(t => t.FamilyId == family).ToListAsync();
    }

    /// <summary>Rows as the database holds them, read with plain SQL rather than through the entity model.</summary>
    private async Task<List<Dictionary<string, object?>>> RowsAsync(string sql)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var connection = scope.ServiceProvider.GetRequiredService<CoreDbContext>().Database.GetDbConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using DbDataReader reader = await command.ExecuteReaderAsync();
        var rows = new List<Dictionary<string, object?>>();
        while (await reader.ReadAsync())
        {
            rows.Add(Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => reader.IsDBNull(i) ? null : reader.GetValue(i)));
        }
        return rows;
    }
}

public sealed class SqliteTokenAttackTests(SqliteCoreServer server) : TokenAttackTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresTokenAttackTests(PostgresCoreServer server) : TokenAttackTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;
