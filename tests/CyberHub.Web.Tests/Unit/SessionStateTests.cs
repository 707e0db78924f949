using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CyberHub.Contracts;
using CyberHub.Testing;
using CyberHub.Web;
using CyberHub.Web.Session;
using Microsoft.JSInterop;

namespace CyberHub.Web.Tests.Unit;

/// <summary>
/// The web app's session against a real Core over loopback HTTP: refresh ahead of expiry, one refresh for many
/// callers, another tab's pair adopted instead of spending a stale refresh token (which Core would take for theft),
/// a refused refresh ending the session, logout revoking it. Core's access tokens live 30 s here, so the app renews
/// them in their last 15 s (half their lifetime); the app's clock runs 20 s ahead of Core's, so every token it holds
/// is about to expire and still valid at Core.
/// </summary>
public sealed class SessionStateTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));
    private ConfiguredCoreServer _core = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _core = new ConfiguredCoreServer(null, _dataDirectory, new Dictionary<string, string?> { ["Auth:AccessTokenLifetime"] = "00:00:30" });
        await _core.InitializeAsync();
        _http = _core.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _core.DisposeAsync();
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task A_token_about_to_expire_is_refreshed_once_for_many_concurrent_callers()
    {
        var storage = new BrowserStorage();
        var session = Session(storage);
        var first = await RegisterAsync(session);

        var tokens = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => session.AccessTokenAsync()));

        Assert.All(tokens, t => Assert.NotNull(t));
        Assert.Single(tokens.Distinct());
        Assert.NotEqual(first.Access, tokens[0]);
        Assert.Equal(tokens[0], storage.Tokens()!.Access);
        // Had two refreshes spent the same refresh token, Core would have revoked the family: it still works.
        Assert.Equal(HttpStatusCode.OK, (await MeAsync(tokens[0]!)).StatusCode);
        Assert.NotNull(await session.AccessTokenAsync(rejected: tokens[0]));
    }

    [Fact]
    public async Task A_fresh_token_is_used_as_it_is()
    {
        var storage = new BrowserStorage();
        var session = new SessionState(new TokenStorage(storage), new ServiceAddresses(_core.BaseAddress, new Uri("http://127.0.0.1:9")), TimeProvider.System);
        var pair = await RegisterAsync(session);

        Assert.Equal(pair.Access, await session.AccessTokenAsync());
        Assert.Equal(pair.Refresh, storage.Tokens()!.Refresh);
    }

    [Fact]
    public async Task A_pair_another_tab_refreshed_is_adopted_rather_than_spending_the_stale_refresh_token()
    {
        var storage = new BrowserStorage();
        var tabA = Session(storage);
        var original = await RegisterAsync(tabA);
        var tabB = Session(storage);
        await tabB.LoadAsync();

        var fromA = await tabA.AccessTokenAsync();
        var fromB = await tabB.AccessTokenAsync(rejected: original.Access);

        Assert.Equal(fromA, fromB);
        Assert.True(tabB.IsSignedIn);
        // The original refresh token was spent once (by tab A): presenting it again is reuse, and Core refuses it.
        using var reuse = await _http.PostAsJsonAsync("/api/v1/token/refresh/", new RefreshRequest(original.Refresh), CyberHubJson.Options);
        Assert.Equal(HttpStatusCode.Unauthorized, reuse.StatusCode);
    }

    [Fact]
    public async Task A_refused_refresh_ends_the_session_and_says_so()
    {
        var storage = new BrowserStorage();
        var session = Session(storage);
        var pair = await RegisterAsync(session);
        using (var revoke = await _http.PostAsJsonAsync("/api/v1/token/revoke/", new RefreshRequest(pair.Refresh), CyberHubJson.Options))
        {
            revoke.EnsureSuccessStatusCode();
        }
        var expired = 0;
        session.Expired += () => expired++;

        Assert.Null(await session.AccessTokenAsync());

        Assert.Equal(1, expired);
        Assert.False(session.IsSignedIn);
        Assert.Null(storage.Tokens());
    }

    [Fact]
    public async Task Logging_out_revokes_the_session_at_core()
    {
        var storage = new BrowserStorage();
        var session = Session(storage);
        var pair = await RegisterAsync(session);

        await session.SignOutAsync();

        Assert.False(session.IsSignedIn);
        Assert.Null(storage.Tokens());
        using var refresh = await _http.PostAsJsonAsync("/api/v1/token/refresh/", new RefreshRequest(pair.Refresh), CyberHubJson.Options);
        Assert.Equal(HttpStatusCode.Unauthorized, refresh.StatusCode);
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("a.b.c")]
    [InlineData("{\"access\":1}")]
    public async Task Unreadable_stored_tokens_are_no_session(string stored)
    {
        var storage = new BrowserStorage();
        storage.Items[TokenStorage.Key] = stored;
        var session = Session(storage);

        await session.LoadAsync();

        Assert.False(session.IsSignedIn);
        Assert.Null(await session.AccessTokenAsync());
    }

    private SessionState Session(BrowserStorage storage) =>
        new(new TokenStorage(storage), new ServiceAddresses(_core.BaseAddress, new Uri("http://127.0.0.1:9")), new AheadClock(TimeSpan.FromSeconds(20)));

    private async Task<TokenPair> RegisterAsync(SessionState session)
    {
        var name = $"s{Guid.NewGuid():N}"[..12];
        using var response = await _http.PostAsJsonAsync("/api/v1/users/",
            new RegisterRequest($"{name}@example.com", name, "correct horse battery", "Sam", "Lee"), CyberHubJson.Options);
        response.EnsureSuccessStatusCode();
        var registered = (await response.Content.ReadFromJsonAsync<RegisterResponse>(CyberHubJson.Options))!;
        var pair = new TokenPair(registered.Access, registered.Refresh);
        await session.SignInAsync(pair);
        return pair;
    }

    private async Task<HttpResponseMessage> MeAsync(string access)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/users/me/");
        request.Headers.Authorization = new("Bearer", access);
        return await _http.SendAsync(request);
    }

    private sealed class AheadClock(TimeSpan ahead) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + ahead;
    }

    /// <summary>The browser's localStorage as the app reaches it through JS interop (getItem, setItem, removeItem).</summary>
    private sealed class BrowserStorage : IJSRuntime
    {
        public Dictionary<string, string> Items { get; } = [];

        public TokenPair? Tokens() =>
            Items.TryGetValue(TokenStorage.Key, out var json) ? JsonSerializer.Deserialize<TokenPair>(json, CyberHubJson.Options) : null;

        public ValueTask<TValue> InvokeAsync<TValue>(string identifier, object?[]? args) => InvokeAsync<TValue>(identifier, CancellationToken.None, args);

        public ValueTask<TValue> InvokeAsync<TValue>(string identifier, CancellationToken cancellationToken, object?[]? args)
        {
            var key = (string)args![0]!;
            object? result = null;
            switch (identifier)
            {
                case "localStorage.getItem":
                    result = Items.GetValueOrDefault(key);
                    break;
                case "localStorage.setItem":
                    Items[key] = (string)args[1]!;
                    break;
                case "localStorage.removeItem":
                    Items.Remove(key);
                    break;
                default:
                    throw new InvalidOperationException($"unexpected JS call {identifier}");
            }
            return ValueTask.FromResult((TValue)result!);
        }
    }
}
