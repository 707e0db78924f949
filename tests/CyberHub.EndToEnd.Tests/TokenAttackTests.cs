using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CyberHub.Ai;
using CyberHub.Core;
using CyberHub.Core.Auth;
using CyberHub.EndToEnd.Tests.Infrastructure;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.Testing;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace CyberHub.EndToEnd.Tests;

/// <summary>
/// Forged access tokens (RFC 8725's attacks), built by hand byte for byte and sent to Core, which verifies with its
/// own keys, and to the AI service, which verifies through Core's JWKS. Each must be a 401 on both; the same
/// hand-built token signed honestly must pass on both, so the forge itself is sound.
/// </summary>
public abstract class TokenAttackTests<TPlatform>(TPlatform platform) where TPlatform : Platform
{
    // Admin-only on Core, any caller on AI: every forged token claims the admin role.
    private const string CoreRoute = "/api/v1/users/?page_size=1";
    private const string AiRoute = "/api/v1/content/?page_size=1";

    private ECDsaSecurityKey SigningKey => platform.Core.Services.GetRequiredService<SigningKeyRing>().Keys[0];

    [Fact]
    public async Task Honest_hand_built_tokens_pass_on_both_services_including_within_the_30_second_skew()
    {
        var learner = await platform.Core.RegisterAsync();
        _stamp = StampOf(learner.Access);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var honest = new Dictionary<string, string>
        {
            ["fresh"] = Es256(HonestHeader(), Payload(learner.User.Id), SigningKey.ECDsa),
            ["expired 20 s ago"] = Es256(HonestHeader(), Payload(learner.User.Id, exp: now - 20, nbf: now - 900), SigningKey.ECDsa),
            ["valid from 20 s on"] = Es256(HonestHeader(), Payload(learner.User.Id, nbf: now + 20), SigningKey.ECDsa),
        };
        foreach (var (name, token) in honest)
        {
            Assert.True(await StatusAsync(platform.Core, CoreRoute, token) == HttpStatusCode.OK, $"Core refused the honest token '{name}'.");
            Assert.True(await StatusAsync(platform.Ai, AiRoute, token) == HttpStatusCode.OK, $"AI refused the honest token '{name}'.");
        }
    }

    private static readonly HashSet<string> ClockEdges = ["expired 35 s ago", "valid only from 35 s on"];

    [Fact]
    public async Task Every_forged_token_is_a_401_with_a_detail_on_both_services()
    {
        var learner = await platform.Core.RegisterAsync();
        _stamp = StampOf(learner.Access);
        var forged = await ForgeAsync(learner.User.Id);
        Assert.True(forged.Count >= 30, "The forge lost its cases.");
        // The tokens 5 s past the skew go first, while they are still past it: a made-up kid makes the AI wait for its
        // next JWKS fetch (up to JwksKeyCache.MinRefreshInterval), so the rest may take several seconds.
        Assert.All(ClockEdges, edge => Assert.Contains(edge, forged.Keys));
        foreach (var (name, token) in forged.OrderBy(p => ClockEdges.Contains(p.Key) ? 0 : 1))
        {
            foreach (var (service, route) in new (LoopbackService, string)[] { (platform.Core, CoreRoute), (platform.Ai, AiRoute) })
            {
                using var client = service.CreateClient();
                using var request = new HttpRequestMessage(HttpMethod.Get, route);
                request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {token}");
                using var response = await client.SendAsync(request);
                var where = service == platform.Core ? "Core" : "AI";
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{where} answered {(int)response.StatusCode} to '{name}'.");
                var detail = await response.DetailAsync(HttpStatusCode.Unauthorized);
                Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
                if (name.StartsWith("expired", StringComparison.Ordinal))
                {
                    Assert.Equal("Token has expired.", detail);
                }
            }
        }
    }

    [Fact]
    public void Both_services_pin_es256_the_issuer_the_audience_the_type_and_at_most_30_seconds_of_skew()
    {
        foreach (var services in new[] { platform.Core.Services, platform.Ai.Services })
        {
            var parameters = services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>().Get(JwtBearerDefaults.AuthenticationScheme).TokenValidationParameters;
            Assert.Equal(new[] { "ES256" }, parameters.ValidAlgorithms);
            Assert.Equal(new[] { "at+jwt" }, parameters.ValidTypes);
            Assert.Equal(TimeSpan.FromSeconds(30), parameters.ClockSkew);
            Assert.True(parameters.RequireSignedTokens && parameters.RequireExpirationTime && parameters.ValidateLifetime);
            Assert.True(parameters.ValidateIssuer && parameters.ValidateAudience);
        }
    }

    [Theory]
    [InlineData("00:05:00")]
    [InlineData("00:00:31")]
    [InlineData("-00:00:01")]
    public void A_clock_skew_over_30_seconds_or_negative_stops_either_service_at_start(string skew)
    {
        var directory = Path.Combine(Path.GetTempPath(), "cyberhub-e2e", Guid.NewGuid().ToString("N"));
        try
        {
            var settings = new Dictionary<string, string?> { ["Auth:ClockSkew"] = skew, ["CYBERHUB_DATA_DIR"] = directory };
            var core = Assert.Throws<InvalidOperationException>(() => CoreApp.Build([], b => b.Configuration.AddInMemoryCollection(settings)));
            var ai = Assert.Throws<InvalidOperationException>(() => AiApp.Build([], b => b.Configuration.AddInMemoryCollection(settings)));
            Assert.Contains("Auth:ClockSkew", core.Message, StringComparison.Ordinal);
            Assert.Contains("Auth:ClockSkew", ai.Message, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    /// <summary>Each token is wrong in one way; the name says which.</summary>
    private async Task<Dictionary<string, string>> ForgeAsync(long userId)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var key = SigningKey;
        var kid = key.KeyId;
        var payload = Payload(userId);
        var honest = Es256(Header(), payload, key.ECDsa);
        var parts = honest.Split('.');

        // The public key in every form an HMAC-confusion attack might feed a verifier as the "secret".
        var spki = key.ECDsa.ExportSubjectPublicKeyInfo();
        var pem = key.ECDsa.ExportSubjectPublicKeyInfoPem();
        var point = key.ECDsa.ExportParameters(includePrivateParameters: false).Q;
        using var jwks = JsonDocument.Parse(await platform.Core.CreateClient().GetStringAsync("/.well-known/jwks.json"));
        var servedJwk = jwks.RootElement.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("kid").GetString() == kid).GetRawText();
        var thumbprintJwk = $$"""{"crv":"P-256","kty":"EC","x":"{{Base64UrlEncoder.Encode(point.X)}}","y":"{{Base64UrlEncoder.Encode(point.Y)}}"}""";
        var secrets = new Dictionary<string, byte[]>
        {
            ["PEM"] = Encoding.ASCII.GetBytes(pem),
            ["PEM with newline"] = Encoding.ASCII.GetBytes(pem + "\n"),
            ["DER"] = spki,
            ["served JWK"] = Encoding.UTF8.GetBytes(servedJwk),
            ["thumbprint JWK"] = Encoding.UTF8.GetBytes(thumbprintJwk),
            ["x||y"] = [.. point.X!, .. point.Y!],
            ["04||x||y"] = [0x04, .. point.X!, .. point.Y!],
        };

        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var strangerPoint = stranger.ExportParameters(includePrivateParameters: false).Q;
        var strangerJwk = new Dictionary<string, object>
        {
            ["kty"] = "EC", ["crv"] = "P-256", ["x"] = Base64UrlEncoder.Encode(strangerPoint.X), ["y"] = Base64UrlEncoder.Encode(strangerPoint.Y),
        };

        var tokens = new Dictionary<string, string>
        {
            ["alg none, no signature"] = $"{Segment(Header(alg: "none"))}.{parts[1]}.",
            ["alg none, signature kept"] = $"{Segment(Header(alg: "none"))}.{parts[1]}.{parts[2]}",
            ["alg None"] = $"{Segment(Header(alg: "None"))}.{parts[1]}.",
            ["alg NONE"] = $"{Segment(Header(alg: "NONE"))}.{parts[1]}.",
            ["alg none, no kid"] = $"{Segment(Header(alg: "none", kid: null))}.{parts[1]}.",
            ["no alg"] = $"{Segment(Header(alg: null))}.{parts[1]}.{parts[2]}",
            ["unsigned, two segments"] = $"{parts[0]}.{parts[1]}",
            ["ES256, a stranger's key, a made-up kid"] = Es256(Header(kid: "made-up-kid"), payload, stranger),
            ["ES256, a stranger's key, the right kid"] = Es256(Header(), payload, stranger),
            ["ES256, a stranger's key, no kid"] = Es256(Header(kid: null), payload, stranger),
            ["ES256, a stranger's key embedded as jwk"] = Es256(Header(kid: "stranger", extra: ("jwk", strangerJwk)), payload, stranger),
            ["ES256, a stranger's key behind jku"] = Es256(Header(kid: "stranger", extra: ("jku", "http://127.0.0.1:9/jwks.json")), payload, stranger),
            ["expired 35 s ago"] = Es256(Header(), Payload(userId, exp: now - 35, nbf: now - 900), key.ECDsa),
            ["expired an hour ago"] = Es256(Header(), Payload(userId, exp: now - 3600, nbf: now - 4500), key.ECDsa),
            ["valid only from 35 s on"] = Es256(Header(), Payload(userId, nbf: now + 35), key.ECDsa),
            ["no exp"] = Es256(Header(), Payload(userId, withExp: false), key.ECDsa),
            ["wrong issuer"] = Es256(Header(), Payload(userId, issuer: "https://evil.example"), key.ECDsa),
            ["no issuer"] = Es256(Header(), Payload(userId, issuer: null), key.ECDsa),
            ["wrong audience"] = Es256(Header(), Payload(userId, audience: "someone-else"), key.ECDsa),
            ["no audience"] = Es256(Header(), Payload(userId, audience: null), key.ECDsa),
            ["typ JWT"] = Es256(Header(typ: "JWT"), payload, key.ECDsa),
            ["no typ"] = Es256(Header(typ: null), payload, key.ECDsa),
            ["tampered payload"] = $"{parts[0]}.{Segment(Payload(userId + 1))}.{parts[2]}",
            ["tampered header"] = $"{Segment(Header(typ: "at+JWT"))}.{parts[1]}.{parts[2]}",
            ["signature of another token"] = $"{parts[0]}.{parts[1]}.{Es256(Header(), Payload(userId + 1), key.ECDsa).Split('.')[2]}",
            ["all-zero signature (r = s = 0)"] = $"{parts[0]}.{parts[1]}.{Base64UrlEncoder.Encode(new byte[64])}",
            ["truncated signature"] = $"{parts[0]}.{parts[1]}.{parts[2][..40]}",
            ["DER-encoded signature"] = $"{parts[0]}.{parts[1]}.{Base64UrlEncoder.Encode(key.ECDsa.SignData(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence))}",
        };
        foreach (var (form, secret) in secrets)
        {
            tokens[$"HS256 keyed with the public key as {form}"] = Hmac(Header(alg: "HS256"), payload, secret, "HS256");
        }
        tokens["HS256 keyed with the PEM, no kid"] = Hmac(Header(alg: "HS256", kid: null), payload, secrets["PEM"], "HS256");
        tokens["HS512 keyed with the PEM"] = Hmac(Header(alg: "HS512"), payload, secrets["PEM"], "HS512");
        tokens["HS256 keyed with the JWK, typ JWT"] = Hmac(Header(alg: "HS256", typ: "JWT"), payload, secrets["served JWK"], "HS256");
        return tokens;

        Dictionary<string, object?> Header(string? alg = "ES256", string? typ = "at+jwt", string? kid = "", (string Name, object Value)? extra = null)
        {
            var header = new Dictionary<string, object?>();
            if (alg is not null) header["alg"] = alg;
            if (typ is not null) header["typ"] = typ;
            if (kid is not null) header["kid"] = kid == "" ? key.KeyId : kid;
            if (extra is { } e) header[e.Name] = e.Value;
            return header;
        }
    }

    private Dictionary<string, object?> HonestHeader() => new() { ["alg"] = "ES256", ["typ"] = "at+jwt", ["kid"] = SigningKey.KeyId };

    /// <summary>
    /// The learner's security stamp, which every token of the forge carries as Core's own tokens do: a forged token
    /// must be refused for what is forged in it, not for a missing stamp.
    /// </summary>
    private string? _stamp;

    private static string StampOf(string accessToken)
    {
        var payload = accessToken.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=');
        using var document = JsonDocument.Parse(Convert.FromBase64String(payload));
        return document.RootElement.GetProperty("stamp").GetString()!;
    }

    private Dictionary<string, object?> Payload(
        long userId, long? exp = null, long? nbf = null, bool withExp = true,
        string? issuer = "cyberhub-core", string? audience = "cyberhub")
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = new Dictionary<string, object?>
        {
            ["sub"] = userId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["roles"] = new[] { "admin" },
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["iat"] = nbf ?? now,
            ["nbf"] = nbf ?? now,
        };
        if (withExp) payload["exp"] = exp ?? now + 300;
        if (issuer is not null) payload["iss"] = issuer;
        if (audience is not null) payload["aud"] = audience;
        if (_stamp is not null) payload["stamp"] = _stamp;
        return payload;
    }

    private static string Segment(object json) => Base64UrlEncoder.Encode(JsonSerializer.SerializeToUtf8Bytes(json));

    private static string Es256(object header, object payload, ECDsa key)
    {
        var input = $"{Segment(header)}.{Segment(payload)}";
        var signature = key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return $"{input}.{Base64UrlEncoder.Encode(signature)}";
    }

    private static string Hmac(object header, object payload, byte[] secret, string alg)
    {
        var input = $"{Segment(header)}.{Segment(payload)}";
        var data = Encoding.ASCII.GetBytes(input);
        var signature = alg == "HS512" ? HMACSHA512.HashData(secret, data) : HMACSHA256.HashData(secret, data);
        return $"{input}.{Base64UrlEncoder.Encode(signature)}";
    }

    private static async Task<HttpStatusCode> StatusAsync(LoopbackService service, string route, string token)
    {
        using var client = service.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.GetAsync(route);
        return response.StatusCode;
    }
}

public sealed class EmbeddedTokenAttackTests(EmbeddedPlatform platform) : TokenAttackTests<EmbeddedPlatform>(platform), IClassFixture<EmbeddedPlatform>;

public sealed class PostgresTokenAttackTests(PostgresPlatform platform) : TokenAttackTests<PostgresPlatform>(platform), IClassFixture<PostgresPlatform>;
