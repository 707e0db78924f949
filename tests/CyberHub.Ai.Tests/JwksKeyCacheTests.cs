using System.Net;
using System.Security.Cryptography;
using System.Text;
using CyberHub.ServiceDefaults.Auth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CyberHub.Ai.Tests;

/// <summary>
/// The key cache's fetch policy, against a JWKS document served over HTTP that the test changes (the cache against a
/// real Core, across a rotation, is <see cref="JwksRotationTests"/>).
/// </summary>
public sealed class JwksKeyCacheTests
{
    [Fact]
    public async Task A_new_key_right_after_a_fetch_waits_for_the_next_fetch_instead_of_being_refused()
    {
        var (first, firstToken) = NewKey("first");
        var (second, secondToken) = NewKey("second");
        var document = new JwksDocument([first]);
        var cache = Cache(document);

        await cache.EnsureKeyAsync(firstToken, CancellationToken.None);
        Assert.Single(cache.Resolve("first"));

        // Core rotates moments after that fetch: the new key's first token must still be accepted.
        document.Keys = [first, second];
        await cache.EnsureKeyAsync(secondToken, CancellationToken.None);
        Assert.Single(cache.Resolve("second"));
        Assert.Equal(2, document.Fetches);
    }

    [Fact]
    public async Task Tokens_naming_made_up_keys_cost_one_fetch_per_interval_however_many_arrive()
    {
        var (first, firstToken) = NewKey("first");
        var document = new JwksDocument([first]);
        var cache = Cache(document);
        await cache.EnsureKeyAsync(firstToken, CancellationToken.None);

        var madeUp = Enumerable.Range(0, 50).Select(i => NewKey($"made-up-{i}").Token).ToList();
        await Task.WhenAll(madeUp.Select(t => cache.EnsureKeyAsync(t, CancellationToken.None)));

        // The first fetch, then one shared by all fifty (a second at most, if one ran into the next interval).
        Assert.InRange(document.Fetches, 2, 3);
        Assert.Empty(cache.Resolve("made-up-0"));
        // A known key never waits for any of it.
        Assert.True(cache.EnsureKeyAsync(firstToken, CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_caller_that_gives_up_leaves_the_fetch_to_those_still_waiting()
    {
        var (first, firstToken) = NewKey("first");
        var (second, secondToken) = NewKey("second");
        var document = new JwksDocument([first]);
        var cache = Cache(document);
        await cache.EnsureKeyAsync(firstToken, CancellationToken.None);
        document.Keys = [first, second];

        using var impatient = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cache.EnsureKeyAsync(secondToken, impatient.Token));
        await cache.EnsureKeyAsync(secondToken, CancellationToken.None);
        Assert.Single(cache.Resolve("second"));
    }

    private static JwksKeyCache Cache(JwksDocument document)
    {
        var services = new ServiceCollection();
        services.AddHttpClient(JwksKeyCache.HttpClientName, c => c.BaseAddress = new Uri("http://core.invalid"))
            .ConfigurePrimaryHttpMessageHandler(() => document);
        var provider = services.BuildServiceProvider();
        return new JwksKeyCache(provider.GetRequiredService<IHttpClientFactory>(), NullLogger<JwksKeyCache>.Instance, TimeProvider.System);
    }

    private static (JsonWebKey Key, string Token) NewKey(string kid)
    {
        var signing = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = kid };
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(signing);
        jwk.Alg = JwtSettings.Algorithm;
        jwk.Use = "sig";
        jwk.D = null;
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Subject = new System.Security.Claims.ClaimsIdentity([new System.Security.Claims.Claim("sub", "1")]),
            SigningCredentials = new SigningCredentials(signing, SecurityAlgorithms.EcdsaSha256),
        });
        return (jwk, token);
    }

    /// <summary>Serves the JWKS document over HTTP and counts how often it is read.</summary>
    private sealed class JwksDocument(IReadOnlyList<JsonWebKey> keys) : HttpMessageHandler
    {
        private int _fetches;
        public volatile IReadOnlyList<JsonWebKey> Keys = keys;
        public int Fetches => Volatile.Read(ref _fetches);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _fetches);
            var json = "{\"keys\":[" + string.Join(",", Keys.Select(k => System.Text.Json.JsonSerializer.Serialize(new { kty = k.Kty, crv = k.Crv, x = k.X, y = k.Y, kid = k.Kid, alg = k.Alg, use = k.Use }))) + "]}";
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json, Encoding.UTF8, "application/json") });
        }
    }
}
