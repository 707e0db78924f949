using Microsoft.Extensions.Configuration;

namespace CyberHub.ServiceDefaults.RateLimiting;

/// <summary>
/// The <c>RateLimiting</c> section. Every API request counts against its caller: the user (<c>sub</c>) when
/// authenticated, else the client address; the routes that check a secret (login, registration, token refresh,
/// client credentials, password change) count a second time, per address, against <see cref="AuthPerMinute"/>.
/// </summary>
public sealed class RateLimitingSettings
{
    public const string Section = "RateLimiting";

    public bool Enabled { get; set; } = true;

    /// <summary>Requests per minute for each user, or each address of anonymous callers; unset, the service's own default.</summary>
    public int? PerUserPerMinute { get; set; }

    /// <summary>
    /// Requests per minute for each client address on the routes that check a password or secret: against mass
    /// registration and guessing spread over many accounts. Generous enough for a classroom of 30 behind one NAT
    /// address to register and log in within a minute; guessing at one account is slowed by Core's login throttle.
    /// </summary>
    public int AuthPerMinute { get; set; } = 90;

    /// <summary>Requests per minute for each service client (role <c>service</c>); 0 leaves them unlimited.</summary>
    public int ServicePerMinute { get; set; }

    /// <summary>Core answers cheap reads and writes; the AI service's callers (the web app's pages) ask more often.</summary>
    public static int DefaultPerUserPerMinute(string applicationName) =>
        applicationName == "CyberHub.Ai" ? 200 : 100;

    public static RateLimitingSettings From(IConfiguration configuration, string applicationName)
    {
        var settings = configuration.GetSection(Section).Get<RateLimitingSettings>() ?? new RateLimitingSettings();
        settings.PerUserPerMinute ??= DefaultPerUserPerMinute(applicationName);
        if (settings.PerUserPerMinute < 1 || settings.AuthPerMinute < 1 || settings.ServicePerMinute < 0)
        {
            throw new InvalidOperationException(
                "RateLimiting:PerUserPerMinute and RateLimiting:AuthPerMinute must be at least 1, RateLimiting:ServicePerMinute at least 0.");
        }
        return settings;
    }
}

/// <summary>
/// At most <see cref="PermitLimit"/> requests in any <see cref="Period"/>, at once or spread out; after a burst,
/// one more each <see cref="EmissionInterval"/> (the generic cell rate algorithm).
/// </summary>
public sealed record RateLimitRule(string Name, int PermitLimit, TimeSpan Period)
{
    public TimeSpan EmissionInterval => Period / PermitLimit;

    public static RateLimitRule PerMinute(string name, int permits) => new(name, permits, TimeSpan.FromMinutes(1));
}
