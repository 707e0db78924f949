using System.Security.Claims;
using System.Security.Cryptography;
using CyberHub.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CyberHub.Core.Tests;

/// <summary>
/// The bearer handler both services are configured with remembers the tokens that passed its checks. A remembered token
/// must still be refused exactly when a full check would refuse it: once past its lifetime, or once the key that
/// signed it is no longer trusted; only tokens that passed are remembered, and no caller shares another's identity.
/// (The account and stamp check runs after the handler on every request: AccountControlTests, SessionsTests.)
/// </summary>
public sealed class ValidatedTokenCacheTests : IDisposable
{
    private static readonly JsonWebTokenHandler Minter = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly ECDsa _ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _otherEcdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsaSecurityKey _key;
    private readonly List<SecurityKey> _trusted = [];
    private ServiceProvider? _services;

    public ValidatedTokenCacheTests()
    {
        _key = new ECDsaSecurityKey(_ecdsa) { KeyId = "key-1" };
        _trusted.Add(_key);
    }

    public void Dispose()
    {
        _services?.Dispose();
        _ecdsa.Dispose();
        _otherEcdsa.Dispose();
    }

    [Fact]
    public async Task A_token_that_passed_is_accepted_again_and_every_caller_gets_an_identity_of_its_own()
    {
        var (handler, parameters) = Configure();
        var token = Mint(DateTime.UtcNow.AddMinutes(15));

        var first = await handler.ValidateTokenAsync(token, parameters);
        Assert.True(first.IsValid, first.Exception?.Message);
        Assert.Equal(1, handler.Count);

        first.ClaimsIdentity.AddClaim(new Claim("roles", "admin"));
        var second = await handler.ValidateTokenAsync(token, parameters);
        var third = await handler.ValidateTokenAsync(token, parameters);
        Assert.True(second.IsValid);
        Assert.Equal(1, handler.Count);
        Assert.NotSame(second.ClaimsIdentity, third.ClaimsIdentity);
        Assert.Equal("42", second.ClaimsIdentity.FindFirst("sub")?.Value);
        Assert.Equal("stamp-1", second.ClaimsIdentity.FindFirst("stamp")?.Value);
        // What one request did to its identity is not seen by the next one.
        Assert.Null(second.ClaimsIdentity.FindFirst("roles"));
        Assert.Equal("sub", second.ClaimsIdentity.NameClaimType);
        Assert.Equal("roles", second.ClaimsIdentity.RoleClaimType);
        Assert.IsType<JsonWebToken>(second.SecurityToken);
    }

    [Fact]
    public async Task A_remembered_token_is_refused_once_the_key_that_signed_it_is_no_longer_trusted()
    {
        var (handler, parameters) = Configure();
        var token = Mint(DateTime.UtcNow.AddMinutes(15));
        Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);

        // The same kid now names another key (a replaced JWKS entry): not the key that verified the token.
        _trusted.Clear();
        _trusted.Add(new ECDsaSecurityKey(_otherEcdsa) { KeyId = _key.KeyId });
        var refused = await handler.ValidateTokenAsync(token, parameters);
        Assert.False(refused.IsValid);
        Assert.IsAssignableFrom<SecurityTokenInvalidSignatureException>(refused.Exception);
        Assert.Equal(0, handler.Count);

        _trusted.Clear();
        Assert.False((await handler.ValidateTokenAsync(token, parameters)).IsValid);

        // Trusted again: accepted again, after a full check.
        _trusted.Add(_key);
        Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);
        Assert.Equal(1, handler.Count);
    }

    [Fact]
    public async Task A_remembered_token_is_refused_once_its_lifetime_and_the_clock_skew_have_passed()
    {
        var (handler, parameters) = Configure(clockSkew: TimeSpan.FromSeconds(1));
        // exp is in whole seconds: the token expires 2-3 s from now, and is accepted 1 s past that.
        var token = Mint(DateTime.UtcNow.AddSeconds(3));
        var exp = new JsonWebToken(token).ValidTo;
        Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);
        Assert.Equal(1, handler.Count);

        // Accepted from memory until exp + skew (the full check's bound), refused after it.
        var refusedAfter = exp.AddSeconds(1);
        while (DateTime.UtcNow <= refusedAfter)
        {
            await Task.Delay(refusedAfter - DateTime.UtcNow + TimeSpan.FromMilliseconds(50));
        }
        var refused = await handler.ValidateTokenAsync(token, parameters);
        Assert.False(refused.IsValid);
        Assert.IsType<SecurityTokenExpiredException>(refused.Exception);
        Assert.Equal(0, handler.Count);
    }

    [Fact]
    public async Task Tokens_that_fail_any_check_are_never_remembered()
    {
        var (handler, parameters) = Configure();
        var forged = Mint(DateTime.UtcNow.AddMinutes(15), new ECDsaSecurityKey(_otherEcdsa) { KeyId = _key.KeyId });
        var expired = Mint(DateTime.UtcNow.AddMinutes(-5), notBefore: DateTime.UtcNow.AddMinutes(-20));
        var otherAudience = Mint(DateTime.UtcNow.AddMinutes(15), audience: "someone-else");
        var idToken = Mint(DateTime.UtcNow.AddMinutes(15), type: "JWT");

        foreach (var token in new[] { forged, expired, otherAudience, idToken, forged })
        {
            Assert.False((await handler.ValidateTokenAsync(token, parameters)).IsValid);
        }
        Assert.Equal(0, handler.Count);
    }

    [Fact]
    public async Task No_more_than_its_capacity_of_tokens_is_remembered()
    {
        var (handler, parameters) = Configure();
        var expires = DateTime.UtcNow.AddMinutes(15);
        for (var i = 0; i <= CachingJsonWebTokenHandler.Capacity; i++)
        {
            Assert.True((await handler.ValidateTokenAsync(Mint(expires, subject: i.ToString(System.Globalization.CultureInfo.InvariantCulture)), parameters)).IsValid);
            Assert.InRange(handler.Count, 1, CachingJsonWebTokenHandler.Capacity);
        }
    }

    /// <summary>The JWT bearer options as the services build them (AddCyberHubAuthentication), with this test's keys.</summary>
    private (CachingJsonWebTokenHandler Handler, TokenValidationParameters Parameters) Configure(TimeSpan? clockSkew = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Auth:ClockSkew"] = clockSkew?.ToString() })
            .Build();
        var services = new ServiceCollection().AddLogging();
        services.AddCyberHubAuthentication(configuration);
        services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, o =>
            o.TokenValidationParameters.IssuerSigningKeyResolver = (_, _, kid, _) => _trusted.Where(k => k.KeyId == kid).ToList());
        _services = services.BuildServiceProvider();
        var options = _services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>().Get(JwtBearerDefaults.AuthenticationScheme);
        var handler = Assert.IsType<CachingJsonWebTokenHandler>(Assert.Single(options.TokenHandlers));
        // JwtBearerHandler hands each request a copy of these.
        return (handler, options.TokenValidationParameters.Clone());
    }

    private string Mint(
        DateTime expires, SecurityKey? key = null, string audience = "cyberhub", string type = JwtSettings.AccessTokenType,
        string subject = "42", DateTime? notBefore = null) =>
        Minter.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "cyberhub-core",
            Audience = audience,
            TokenType = type,
            IssuedAt = notBefore ?? DateTime.UtcNow.AddMinutes(-1),
            NotBefore = notBefore ?? DateTime.UtcNow.AddMinutes(-1),
            Expires = expires,
            SigningCredentials = new SigningCredentials(key ?? _key, SecurityAlgorithms.EcdsaSha256),
            Claims = new Dictionary<string, object> { ["sub"] = subject, ["stamp"] = "stamp-1" },
        });
}
