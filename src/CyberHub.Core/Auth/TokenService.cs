using System.Security.Cryptography;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Users;
using CyberHub.ServiceDefaults.Auth;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CyberHub.Core.Auth;

/// <summary>Mints access tokens (signed JWTs) and refresh tokens (random, stored hashed).</summary>
public sealed class TokenService(CoreDbContext db, SigningKeyRing keys, JwtSettings settings, TimeProvider clock)
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    /// <summary>The claim naming the session (refresh-token family) an access token was issued in.</summary>
    public const string SessionClaim = "sid";

    public string CreateAccessToken(User user, Guid? session = null)
    {
        var claims = new Dictionary<string, object>
        {
            [CyberHubClaims.Subject] = user.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [CyberHubClaims.Email] = user.Email,
            [CyberHubClaims.Roles] = user.RoleList.ToArray(),
            [CyberHubClaims.SecurityStamp] = user.SecurityStamp,
        };
        if (session is { } sid)
        {
            claims[SessionClaim] = sid.ToString("N");
        }
        return Create(claims);
    }

    /// <summary>
    /// An access token for a machine caller: subject <c>service:{clientId}</c> (never a user id), the
    /// <c>service</c> role, and the client id in its own claim. No refresh token: the client asks again.
    /// </summary>
    public string CreateServiceAccessToken(string clientId) => Create(new Dictionary<string, object>
    {
        [CyberHubClaims.Subject] = ServiceCallers.SubjectPrefix + clientId,
        [CyberHubClaims.Roles] = new[] { Roles.Service },
        [ServiceCallers.ClientIdClaim] = clientId,
    });

    private string Create(Dictionary<string, object> claims)
    {
        var now = clock.UtcNow();
        claims[JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N");
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = settings.Issuer,
            Audience = settings.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + settings.AccessTokenLifetime,
            TokenType = JwtSettings.AccessTokenType,
            SigningCredentials = keys.Current,
            Claims = claims,
        });
    }

    /// <summary>A new access token and a new refresh token in <paramref name="family"/> (a new family for a login).</summary>
    public async Task<TokenPair> IssuePairAsync(User user, Guid? family = null, CancellationToken cancellationToken = default)
    {
        var refresh = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var now = clock.UtcNow();
        var session = family ?? Guid.NewGuid();
        db.RefreshTokens.Add(new RefreshToken
        {
            UserId = user.Id,
            FamilyId = session,
            TokenHash = Hash(refresh),
            CreatedAt = now,
            ExpiresAt = now + settings.RefreshTokenLifetime,
        });
        await db.SaveChangesAsync(cancellationToken);
        return new TokenPair(CreateAccessToken(user, session), refresh);
    }

    public static byte[] Hash(string token) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token));
}
