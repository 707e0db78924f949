using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CyberHub.ServiceDefaults.Auth;

/// <summary>
/// Core's public signing keys, fetched from its JWKS document and cached. A token whose <c>kid</c> is not
/// cached triggers a refetch, so a key rotation in Core is picked up on first use; the cache also refreshes itself
/// once it is <see cref="MaxAge"/> old. Fetches are at most one per <see cref="MinRefreshInterval"/>: a token with
/// an unknown key that arrives sooner waits for the next allowed fetch (shared by every request waiting for one)
/// instead of being refused, so the first token of a new key is never turned away because another fetch came just
/// before it, and tokens naming made-up keys cost Core one fetch per interval at most.
/// </summary>
public sealed class JwksKeyCache(IHttpClientFactory httpClients, ILogger<JwksKeyCache> logger, TimeProvider clock)
{
    public const string HttpClientName = "core-jwks";
    public const string JwksPath = "/.well-known/jwks.json";
    public static readonly TimeSpan MinRefreshInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxAge = TimeSpan.FromHours(1);

    private readonly Lock _gate = new();
    private volatile IReadOnlyDictionary<string, SecurityKey> _keys = new Dictionary<string, SecurityKey>();
    private DateTimeOffset _fetchedAt = DateTimeOffset.MinValue;
    /// <summary>The fetch under way or scheduled, and when it reads Core's document (it sees keys made before then).</summary>
    private (Task Task, DateTimeOffset ReadsAt) _next = (Task.CompletedTask, DateTimeOffset.MinValue);

    public IEnumerable<SecurityKey> Resolve(string? kid) =>
        kid is not null && _keys.TryGetValue(kid, out var key) ? [key] : [];

    /// <summary>Makes sure the key a token names is cached, when Core has it.</summary>
    public async Task EnsureKeyAsync(string token, CancellationToken cancellationToken)
    {
        string kid;
        try
        {
            kid = new JsonWebToken(token).Kid;
        }
        catch (ArgumentException)
        {
            return; // Not a JWT at all: validation will refuse it.
        }
        if (string.IsNullOrEmpty(kid) || (_keys.ContainsKey(kid) && !IsStale()))
        {
            return;
        }
        // A fetch that reads the document after this token was made sees its key, if Core published one.
        var arrived = clock.GetUtcNow();
        while (!(_keys.ContainsKey(kid) && !IsStale()))
        {
            var (fetch, readsAt) = NextFetch();
            await fetch.WaitAsync(cancellationToken);
            if (readsAt >= arrived)
            {
                return;
            }
        }
    }

    /// <summary>Joins the pending fetch, or schedules one at the earliest moment the interval allows.</summary>
    private (Task Task, DateTimeOffset ReadsAt) NextFetch()
    {
        lock (_gate)
        {
            if (!_next.Task.IsCompleted)
            {
                return _next;
            }
            var now = clock.GetUtcNow();
            var wait = _fetchedAt + MinRefreshInterval - now;
            var readsAt = wait > TimeSpan.Zero ? now + wait : now;
            _next = (FetchAfterAsync(wait > TimeSpan.Zero ? wait : TimeSpan.Zero), readsAt);
            return _next;
        }
    }

    private async Task FetchAfterAsync(TimeSpan wait)
    {
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, clock);
        }
        // Not the caller's token: a request that gives up must not cancel the fetch others wait for.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), clock);
        await FetchAsync(timeout.Token);
    }

    /// <summary>Each key is pinned to ES256: a P-256 key for signatures that says so, so no key can serve another algorithm.</summary>
    private static bool IsVerificationKey(JsonWebKey key) =>
        key is { Kty: "EC", Crv: "P-256", Alg: JwtSettings.Algorithm, Use: null or "sig" } && !string.IsNullOrEmpty(key.Kid);

    private bool IsStale() => clock.GetUtcNow() - _fetchedAt > MaxAge;

    private async Task FetchAsync(CancellationToken cancellationToken)
    {
        _fetchedAt = clock.GetUtcNow();
        try
        {
            var json = await httpClients.CreateClient(HttpClientName).GetStringAsync(JwksPath, cancellationToken);
            _keys = new JsonWebKeySet(json).Keys
                .Where(IsVerificationKey)
                .ToDictionary(k => k.Kid, k => (SecurityKey)k, StringComparer.Ordinal);
            logger.LogInformation("Loaded {Count} token verification keys from Core", _keys.Count);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ArgumentException or System.Text.Json.JsonException)
        {
            // Keep the keys we had: a Core restart must not log everyone out of the AI service.
            logger.LogWarning(e, "Could not fetch Core's JWKS document; keeping {Count} cached keys", _keys.Count);
        }
    }
}
