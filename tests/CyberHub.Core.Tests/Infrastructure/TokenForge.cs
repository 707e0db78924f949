using System.Security.Cryptography;
using System.Text;
using CyberHub.Core.Auth;
using CyberHub.ServiceDefaults.Auth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

using CyberHub.Testing;

namespace CyberHub.Core.Tests.Infrastructure;

/// <summary>Builds access tokens that are wrong in exactly one way, to prove each is refused.</summary>
public sealed class TokenForge(CoreServer server)
{
    private readonly JwtSettings _settings = server.Services.GetRequiredService<JwtSettings>();
    private readonly SigningKeyRing _keys = server.Services.GetRequiredService<SigningKeyRing>();

    public string Create(
        long userId,
        string[]? roles = null,
        string? issuer = null,
        string? audience = null,
        DateTime? notBefore = null,
        DateTime? expires = null,
        string type = JwtSettings.AccessTokenType,
        SigningCredentials? credentials = null,
        string? stamp = null)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? _settings.Issuer,
            Audience = audience ?? _settings.Audience,
            IssuedAt = notBefore ?? now,
            NotBefore = notBefore ?? now,
            Expires = expires ?? now.AddMinutes(5),
            TokenType = type,
            SigningCredentials = credentials ?? _keys.Current,
            Claims = Claims(userId, roles ?? ["learner"], stamp),
        });
    }

    private static Dictionary<string, object> Claims(long userId, string[] roles, string? stamp)
    {
        var claims = new Dictionary<string, object>
        {
            ["sub"] = userId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["roles"] = roles,
        };
        if (stamp is not null)
        {
            claims["stamp"] = stamp;
        }
        return claims;
    }

    /// <summary>Signed by a P-256 key Core has never seen, carrying Core's own kid.</summary>
    public string WithForeignKey(long userId)
    {
        var foreign = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = _keys.Current.Key.KeyId };
        return Create(userId, credentials: new SigningCredentials(foreign, SecurityAlgorithms.EcdsaSha256));
    }

    /// <summary>An unsigned token (<c>alg: none</c>) with otherwise valid claims.</summary>
    public string Unsigned(long userId, string[] roles)
    {
        var valid = Create(userId, roles);
        var parts = valid.Split('.');
        var header = Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes("""{"alg":"none","typ":"at+jwt"}"""));
        return $"{header}.{parts[1]}.";
    }

    /// <summary>HS256 with the public key's bytes as the secret: the classic algorithm-confusion attack.</summary>
    public string HmacWithPublicKey(long userId)
    {
        var point = _keys.Keys[0].ECDsa.ExportParameters(includePrivateParameters: false).Q;
        var secret = new SymmetricSecurityKey([.. point.X!, .. point.Y!]) { KeyId = _keys.Current.Key.KeyId };
        return Create(userId, credentials: new SigningCredentials(secret, SecurityAlgorithms.HmacSha256));
    }

    /// <summary>A valid token whose payload was edited after signing (roles raised to admin).</summary>
    public string Tampered(long userId)
    {
        var parts = Create(userId).Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("\"learner\"", "\"admin\"", StringComparison.Ordinal);
        return $"{parts[0]}.{Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(payload))}.{parts[2]}";
    }
}
