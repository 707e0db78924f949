using System.Net;
using CyberHub.Contracts;
using CyberHub.Testing;

namespace CyberHub.Core.Tests;

/// <summary>The account page's sessions: <c>GET /users/me/sessions/</c>, ending one, and signing out everywhere.</summary>
public abstract class SessionsTests<TServer>(TServer server) where TServer : CoreServer
{
    private const string Sessions = "/api/v1/users/me/sessions/";

    private readonly HttpClient _anonymous = server.CreateClient();

    private async Task<TokenPair> LoginAsync(Learner learner) =>
        await (await _anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(learner.User.Email, null, learner.Password))).ReadAsync<TokenPair>();

    private Task<HttpResponseMessage> RefreshAsync(string refresh) => _anonymous.PostJsonAsync("/api/v1/token/refresh/", new RefreshRequest(refresh));

    [Fact]
    public async Task Each_login_is_one_session_renewals_stay_in_it_and_the_callers_own_is_marked_current()
    {
        var learner = await server.RegisterAsync();
        var second = await LoginAsync(learner);
        using var secondClient = server.CreateClient(second.Access);

        var renewed = await (await RefreshAsync(learner.Refresh)).ReadAsync<TokenPair>();
        var list = await (await secondClient.GetAsync(Sessions)).ReadAsync<List<SessionDto>>();

        Assert.Equal(2, list.Count);
        var current = Assert.Single(list, s => s.Current);
        Assert.NotEqual(list[0], current); // the first session was renewed after the second login: used last, listed first
        Assert.All(list, s => Assert.True(s.CreatedAt <= s.LastUsedAt && s.LastUsedAt < s.ExpiresAt));
        using var firstClient = server.CreateClient(renewed.Access);
        var fromFirst = await (await firstClient.GetAsync(Sessions)).ReadAsync<List<SessionDto>>();
        Assert.Equal(list.Single(s => !s.Current).Id, Assert.Single(fromFirst, s => s.Current).Id);

        // Nobody else's sessions show.
        var other = await server.RegisterAsync();
        var others = await (await other.Client.GetAsync(Sessions)).ReadAsync<List<SessionDto>>();
        Assert.Empty(others.Select(s => s.Id).Intersect(list.Select(s => s.Id)));
    }

    [Fact]
    public async Task Ending_one_session_stops_its_refresh_token_and_leaves_the_others()
    {
        var learner = await server.RegisterAsync();
        var second = await LoginAsync(learner);
        using var secondClient = server.CreateClient(second.Access);
        var list = await (await secondClient.GetAsync(Sessions)).ReadAsync<List<SessionDto>>();
        var first = list.Single(s => !s.Current);

        // Someone else's session, or none at all, is not found.
        var other = await server.RegisterAsync();
        await (await other.Client.DeleteAsync($"{Sessions}{first.Id}/")).DetailAsync(HttpStatusCode.NotFound);
        await (await secondClient.DeleteAsync($"{Sessions}{Guid.NewGuid():N}/")).DetailAsync(HttpStatusCode.NotFound);
        await (await secondClient.DeleteAsync($"{Sessions}not-a-session/")).DetailAsync(HttpStatusCode.NotFound);

        Assert.Equal(HttpStatusCode.NoContent, (await secondClient.DeleteAsync($"{Sessions}{first.Id}/")).StatusCode);

        await (await RefreshAsync(learner.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);
        await (await RefreshAsync(second.Refresh)).ReadAsync<TokenPair>();
        Assert.Single(await (await secondClient.GetAsync(Sessions)).ReadAsync<List<SessionDto>>());
    }

    [Fact]
    public async Task Signing_out_everywhere_revokes_every_session_and_refuses_access_tokens_already_issued()
    {
        var learner = await server.RegisterAsync();
        var second = await LoginAsync(learner);
        using var secondClient = server.CreateClient(second.Access);
        var bystander = await server.RegisterAsync();

        Assert.Equal(HttpStatusCode.NoContent, (await learner.Client.DeleteAsync(Sessions)).StatusCode);

        await (await learner.Client.GetAsync("/api/v1/users/me/")).DetailAsync(HttpStatusCode.Unauthorized);
        await (await secondClient.GetAsync("/api/v1/progress/")).DetailAsync(HttpStatusCode.Unauthorized);
        await (await RefreshAsync(learner.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);
        await (await RefreshAsync(second.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);

        // Logging in again works and starts one new session; another user was not touched.
        var again = await LoginAsync(learner);
        using var againClient = server.CreateClient(again.Access);
        Assert.True(Assert.Single(await (await againClient.GetAsync(Sessions)).ReadAsync<List<SessionDto>>()).Current);
        await (await bystander.Client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
        await (await RefreshAsync(bystander.Refresh)).ReadAsync<TokenPair>();
    }
}

public sealed class SqliteSessionsTests(SqliteCoreServer server) : SessionsTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresSessionsTests(PostgresCoreServer server) : SessionsTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;
