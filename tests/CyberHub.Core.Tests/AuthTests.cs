using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using CyberHub.Contracts;
using CyberHub.Core.Tests.Infrastructure;
using CyberHub.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CyberHub.Core.Tests;

public abstract class AuthTests<TServer>(TServer server) where TServer : CoreServer
{
    private readonly HttpClient _anonymous = server.CreateClient();

    private Task<HttpResponseMessage> LoginAsync(string? email, string? username, string? password) =>
        _anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(email, username, password));

    private Task<HttpResponseMessage> RefreshAsync(string refresh) =>
        _anonymous.PostJsonAsync("/api/v1/token/refresh/", new RefreshRequest(refresh));

    [Fact]
    public async Task Login_by_email_or_username_returns_a_pair_whose_access_token_verifies_against_the_jwks()
    {
        var learner = await server.RegisterAsync();
        var byEmail = await (await LoginAsync(learner.User.Email.ToUpperInvariant(), null, learner.Password)).ReadAsync<TokenPair>();
        var byUsername = await (await LoginAsync(null, learner.User.Username, learner.Password)).ReadAsync<TokenPair>();
        Assert.NotEqual(byEmail.Refresh, byUsername.Refresh);

        var jwks = new JsonWebKeySet(await _anonymous.GetStringAsync("/.well-known/jwks.json"));
        Assert.All(jwks.Keys, k => Assert.Null(k.D));
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(byEmail.Access, new TokenValidationParameters
        {
            ValidIssuer = "cyberhub-core",
            ValidAudience = "cyberhub",
            IssuerSigningKeys = jwks.Keys,
            ValidAlgorithms = ["ES256"],
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        var token = (JsonWebToken)result.SecurityToken;
        Assert.Equal("ES256", token.Alg);
        Assert.Equal("at+jwt", token.Typ);
        Assert.False(string.IsNullOrEmpty(token.Kid));
        Assert.Equal(learner.User.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), token.Subject);
        Assert.Equal(learner.User.Email, token.GetClaim("email").Value);
        Assert.Contains(token.Claims, c => c.Type == "roles" && c.Value == "learner");
        Assert.False(string.IsNullOrEmpty(token.Id));
        Assert.InRange(token.ValidTo - token.IssuedAt, TimeSpan.FromMinutes(14.9), TimeSpan.FromMinutes(15.1));
    }

    [Theory]
    [InlineData(null, null, "pw", HttpStatusCode.BadRequest)]
    [InlineData("someone@example.com", null, null, HttpStatusCode.BadRequest)]
    [InlineData("nobody-here@example.com", null, "whatever-password", HttpStatusCode.Unauthorized)]
    public async Task Bad_login_requests_answer_with_a_detail(string? email, string? username, string? password, HttpStatusCode expected) =>
        await (await LoginAsync(email, username, password)).DetailAsync(expected);

    [Fact]
    public async Task Wrong_password_and_unknown_user_get_the_same_answer()
    {
        var learner = await server.RegisterAsync();
        var wrong = await (await LoginAsync(learner.User.Email, null, "not-the-password")).DetailAsync(HttpStatusCode.Unauthorized);
        var unknown = await (await LoginAsync($"x{learner.User.Email}", null, "not-the-password")).DetailAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(wrong, unknown);
    }

    [Fact]
    public async Task Repeated_failed_logins_make_that_address_wait_even_for_the_right_password()
    {
        var learner = await server.RegisterAsync();
        for (var i = 0; i < 5; i++)
        {
            await (await LoginAsync(learner.User.Email, null, "wrong-password")).DetailAsync(HttpStatusCode.Unauthorized);
        }
        var locked = await LoginAsync(learner.User.Email, null, learner.Password);
        var detail = await locked.DetailAsync(HttpStatusCode.TooManyRequests);
        Assert.Contains("Too many failed attempts", detail, StringComparison.Ordinal);
        Assert.InRange(locked.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

        // Other accounts are unaffected.
        var other = await server.RegisterAsync();
        await (await LoginAsync(other.User.Email, null, other.Password)).ReadAsync<TokenPair>();
    }

    [Fact]
    public async Task A_successful_login_resets_the_failure_count()
    {
        var learner = await server.RegisterAsync();
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 4; i++)
            {
                await (await LoginAsync(learner.User.Email, null, "wrong-password")).DetailAsync(HttpStatusCode.Unauthorized);
            }
            await (await LoginAsync(learner.User.Email, null, learner.Password)).ReadAsync<TokenPair>();
        }
    }

    [Fact]
    public async Task Refresh_rotates_and_the_old_refresh_token_stops_working()
    {
        var learner = await server.RegisterAsync();
        var second = await (await RefreshAsync(learner.Refresh)).ReadAsync<TokenPair>();
        var third = await (await RefreshAsync(second.Refresh)).ReadAsync<TokenPair>();
        Assert.NotEqual(second.Refresh, third.Refresh);

        using var client = server.CreateClient(third.Access);
        await (await client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
    }

    [Fact]
    public async Task Reusing_a_rotated_refresh_token_revokes_the_whole_family()
    {
        var learner = await server.RegisterAsync();
        var current = await (await RefreshAsync(learner.Refresh)).ReadAsync<TokenPair>();

        // An attacker replays the stolen, already-rotated token...
        var detail = await (await RefreshAsync(learner.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("already used", detail, StringComparison.Ordinal);
        // ...and the legitimate holder's newer token is dead too.
        await (await RefreshAsync(current.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);

        // A separate login (another family) is untouched.
        var other = await (await LoginAsync(learner.User.Email, null, learner.Password)).ReadAsync<TokenPair>();
        await (await RefreshAsync(other.Refresh)).ReadAsync<TokenPair>();
    }

    [Fact]
    public async Task Concurrent_refreshes_of_one_token_let_exactly_one_through()
    {
        var learner = await server.RegisterAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => RefreshAsync(learner.Refresh)));
        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(7, responses.Count(r => r.StatusCode == HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task Revoke_logs_out_the_session_and_is_idempotent()
    {
        var learner = await server.RegisterAsync();
        var revoke = await _anonymous.PostJsonAsync("/api/v1/token/revoke/", new RefreshRequest(learner.Refresh));
        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        await (await RefreshAsync(learner.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);

        var again = await _anonymous.PostJsonAsync("/api/v1/token/revoke/", new RefreshRequest(learner.Refresh));
        Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
        await (await _anonymous.PostJsonAsync("/api/v1/token/revoke/", new RefreshRequest(null))).DetailAsync(HttpStatusCode.BadRequest);
        await (await RefreshAsync("not-a-token")).DetailAsync(HttpStatusCode.Unauthorized);
    }

    private static string StampOf(string accessToken)
    {
        var payload = accessToken.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=');
        using var document = System.Text.Json.JsonDocument.Parse(Convert.FromBase64String(payload));
        return document.RootElement.GetProperty("stamp").GetString()!;
    }

    [Fact]
    public async Task Protected_routes_refuse_every_kind_of_bad_token()
    {
        var learner = await server.RegisterAsync();
        var forge = new TokenForge(server);
        var id = learner.User.Id;
        var cases = new Dictionary<string, string?>
        {
            ["no token"] = null,
            ["garbage"] = "not.a.jwt",
            ["expired"] = forge.Create(id, notBefore: DateTime.UtcNow.AddMinutes(-30), expires: DateTime.UtcNow.AddMinutes(-5)),
            ["not yet valid"] = forge.Create(id, notBefore: DateTime.UtcNow.AddMinutes(10), expires: DateTime.UtcNow.AddMinutes(20)),
            ["wrong audience"] = forge.Create(id, audience: "someone-else"),
            ["wrong issuer"] = forge.Create(id, issuer: "https://evil.example"),
            ["wrong type"] = forge.Create(id, type: "JWT"),
            ["foreign key"] = forge.WithForeignKey(id),
            ["alg none"] = forge.Unsigned(id, ["admin"]),
            ["hs256 with public key"] = forge.HmacWithPublicKey(id),
            ["tampered payload"] = forge.Tampered(id),
        };
        foreach (var (name, token) in cases)
        {
            using var client = server.CreateClient();
            if (token is not null)
            {
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            var response = await client.GetAsync("/api/v1/users/me/");
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{name}: {(int)response.StatusCode}");
            var detail = await response.DetailAsync(HttpStatusCode.Unauthorized);
            if (name == "expired")
            {
                Assert.Equal("Token has expired.", detail);
            }
        }

        // The forge itself is sound: an honest token from it, carrying the user's security stamp, is accepted.
        using var honest = server.CreateClient(forge.Create(id, stamp: StampOf(learner.Access)));
        await (await honest.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
    }

    [Fact]
    public async Task Learners_cannot_call_admin_routes()
    {
        var learner = await server.RegisterAsync();
        Assert.Equal(
            "You do not have permission to perform this action.",
            await (await learner.Client.GetAsync("/api/v1/users/")).DetailAsync(HttpStatusCode.Forbidden));
        await (await learner.Client.PutAsJsonAsync($"/api/v1/users/{learner.User.Id}/roles/", new SetRolesRequest(["admin"])))
            .DetailAsync(HttpStatusCode.Forbidden);
    }
}

public sealed class SqliteAuthTests(SqliteCoreServer server) : AuthTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresAuthTests(PostgresCoreServer server) : AuthTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;
