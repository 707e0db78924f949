using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace CyberHub.ServiceDefaults.Auth;

public static class Policies
{
    public const string Admin = "admin";
    public const string AdminOrService = "admin_or_service";
    public const string ContentAuthor = "content_author";
}

/// <summary>
/// A well-formed, unexpired token that no longer speaks for its user: the account was deactivated or deleted, or
/// its security stamp changed (roles, password). Raised by the issuer's own check after signature validation.
/// </summary>
public sealed class TokenRevokedException() : SecurityTokenException(Detail)
{
    public const string Detail = "Token has been revoked; log in again.";
}

public static class AuthenticationExtensions
{
    /// <summary>
    /// JWT bearer authentication with CyberHub's rules: ES256 only, issuer, audience, lifetime (at most 30 s
    /// of clock skew) and the access-token type all checked. Where the verification keys come from is the caller's choice
    /// (Core: its own key ring; other services: Core's JWKS), set through <c>JwtBearerOptions</c>.
    /// </summary>
    public static IServiceCollection AddCyberHubAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = configuration.GetSection(JwtSettings.Section).Get<JwtSettings>() ?? new JwtSettings();
        if (settings.ClockSkew < TimeSpan.Zero || settings.ClockSkew > JwtSettings.MaxClockSkew)
        {
            throw new InvalidOperationException(
                $"Auth:ClockSkew is {settings.ClockSkew}; it must be between 0 and {JwtSettings.MaxClockSkew.TotalSeconds:0} seconds.");
        }
        services.AddSingleton(settings);

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer(options =>
            {
                options.MapInboundClaims = false;
                // The same checks, remembered per token that passed them (see CachingJsonWebTokenHandler); one per host.
                options.TokenHandlers.Clear();
                options.TokenHandlers.Add(new CachingJsonWebTokenHandler { MapInboundClaims = false });
                options.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = settings.Issuer,
                    ValidAudience = settings.Audience,
                    ValidAlgorithms = [JwtSettings.Algorithm],
                    ValidTypes = [JwtSettings.AccessTokenType],
                    ClockSkew = settings.ClockSkew,
                    RequireExpirationTime = true,
                    RequireSignedTokens = true,
                    NameClaimType = CyberHubClaims.Subject,
                    RoleClaimType = CyberHubClaims.Roles,
                };
                options.Events = new JwtBearerEvents
                {
                    OnChallenge = context =>
                    {
                        context.HandleResponse();
                        var detail = context.AuthenticateFailure switch
                        {
                            SecurityTokenExpiredException => "Token has expired.",
                            TokenRevokedException => TokenRevokedException.Detail,
                            null when !string.IsNullOrEmpty(context.Request.Headers.Authorization) => "Invalid token.",
                            null => ErrorDetails.NotAuthenticated,
                            _ => "Invalid token.",
                        };
                        context.Response.Headers.WWWAuthenticate = "Bearer";
                        return DetailProblemDetailsWriter.WriteDetailAsync(context.HttpContext, StatusCodes.Status401Unauthorized, detail);
                    },
                    OnForbidden = context =>
                        DetailProblemDetailsWriter.WriteDetailAsync(context.HttpContext, StatusCodes.Status403Forbidden, ErrorDetails.Forbidden),
                };
            });

        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(null)
            .AddPolicy(Policies.Admin, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin))
            .AddPolicy(Policies.AdminOrService, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Service))
            .AddPolicy(Policies.ContentAuthor, p => p.RequireAuthenticatedUser().RequireRole(Roles.ContentCreator, Roles.Admin, Roles.Service));
        return services;
    }
}

public static class JwksAuthenticationExtensions
{
    /// <summary>Verifies tokens with Core's published keys (JWKS at <paramref name="coreBaseUrl"/>): no shared secret.</summary>
    public static IServiceCollection AddCoreJwks(this IServiceCollection services, Uri coreBaseUrl)
    {
        services.AddHttpClient(JwksKeyCache.HttpClientName, c => c.BaseAddress = coreBaseUrl)
            .AddStandardResilienceHandler();
        services.AddSingleton<JwksKeyCache>();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<JwksKeyCache>((options, keys) =>
            {
                options.TokenValidationParameters.IssuerSigningKeyResolver = (_, _, kid, _) => keys.Resolve(kid);
                options.Events.OnMessageReceived = async context =>
                {
                    var header = context.Request.Headers.Authorization.ToString();
                    if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                    {
                        await keys.EnsureKeyAsync(header["Bearer ".Length..].Trim(), context.HttpContext.RequestAborted);
                    }
                };
            });
        return services;
    }
}
