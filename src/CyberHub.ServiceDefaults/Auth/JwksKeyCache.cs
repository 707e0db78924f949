using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CyberHub.ServiceDefaults.Auth;

/// <summary>
/// Core's public signing keys, fetched from its JWKS document and cached. A token whose <c>kid</c> is not
/// cached triggers a refetch (at most one per <see cref="MinRefreshInterval"/>), so a key rotation in Core
/// is picked up on first use; the cache also refreshes itself once it is <see cref="MaxAge"/> old.
/// </summary>
public sealed class JwksKeyCache(IHttpClientFactory httpClients, ILogger<JwksKeyCache> logger, TimeProvider clock)
{
    public const string HttpClientName = "core-jwks";
    public const string JwksPath = "/.well-known/jwks.json";
    public static readonly TimeSpan MinRefreshInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxAge = TimeSpan.FromHours(1);

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile IReadOnlyDictionary<string, SecurityKey> _keys = new Dictionary<string, SecurityKey>();
    private DateTimeOffset _fetchedAt = DateTimeOffset.MinValue;

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

        await _refresh.WaitAsync(cancellationToken);
        try
        {
            var recentlyFetched = clock.GetUtcNow() - _fetchedAt < MinRefreshInterval;
            if ((_keys.ContainsKey(kid) && !IsStale()) || recentlyFetched)
            {
                return;
            }
            await FetchAsync(cancellationToken);
        }
        finally
        {
            _refresh.Release();
        }
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
