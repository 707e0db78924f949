namespace CyberHub.ServiceDefaults.Auth;

/// <summary>Token settings shared by the issuer (Core) and every verifier. Bound from the "Auth" section.</summary>
public sealed class JwtSettings
{
    public const string Section = "Auth";

    public string Issuer { get; set; } = "cyberhub-core";
    public string Audience { get; set; } = "cyberhub";
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>RFC 8725 asks for a small allowance; 30 s covers ordinary clock drift between hosts.</summary>
    public TimeSpan ClockSkew { get; set; } = MaxClockSkew;

    /// <summary>The most skew a verifier may allow: more would stretch every token's lifetime.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromSeconds(30);

    public const string Algorithm = "ES256";

    /// <summary>RFC 9068 access-token type, so that no other JWT can pass as an access token.</summary>
    public const string AccessTokenType = "at+jwt";
}
