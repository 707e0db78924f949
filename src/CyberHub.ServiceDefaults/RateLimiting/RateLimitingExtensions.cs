using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using System.Threading.RateLimiting;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CyberHub.ServiceDefaults.RateLimiting;

public static class RateLimitPolicies
{
    /// <summary>The routes that check a password or secret: a tight limit per client address.</summary>
    public const string Auth = "auth";
}

/// <summary>
/// ASP.NET Core's rate limiting middleware with CyberHub's rules: every <c>/api/</c> request but health counts against
/// its caller (<see cref="RateLimitingSettings.PerUserPerMinute"/>), routes marked with
/// <see cref="RequireAuthRateLimit{TBuilder}"/> also against their client address. Counted in Redis when
/// <c>ConnectionStrings:redis</c> is set, else in process memory. A rejection is a 429 <c>{"detail"}</c> with <c>Retry-After</c>.
/// </summary>
public static class RateLimitingExtensions
{
    /// <summary>Marks routes that check a password or secret (login, registration, token exchange): <see cref="RateLimitPolicies.Auth"/>.</summary>
    public static TBuilder RequireAuthRateLimit<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireRateLimiting(RateLimitPolicies.Auth);

    public static IServiceCollection AddCyberHubRateLimiting(this IServiceCollection services, IConfiguration configuration, string applicationName)
    {
        var settings = RateLimitingSettings.From(configuration, applicationName);
        services.AddSingleton(settings);
        static TimeProvider Clock(IServiceProvider sp) => sp.GetService<TimeProvider>() ?? TimeProvider.System;
        services.AddSingleton(sp => new MemoryRateLimitStore(Clock(sp)));
        if (!settings.Enabled || string.IsNullOrWhiteSpace(configuration.GetConnectionString("redis")))
        {
            services.AddSingleton<IRateLimitStore>(sp => sp.GetRequiredService<MemoryRateLimitStore>());
        }
        else
        {
            // Each service counts under its own name: Core and AI share one Redis (and prefix) in production, and
            // their limits differ, so one service's requests must not spend another's (in memory they never do).
            var prefix = $"{CachingExtensions.CachePrefix(configuration)}{ServiceScope(applicationName)}:";
            services.AddSingleton(sp => new RedisRateLimitStore(sp.GetRequiredService<RedisConnection>(), prefix,
                sp.GetRequiredService<MemoryRateLimitStore>(), Clock(sp), sp.GetRequiredService<ILogger<RedisRateLimitStore>>()));
            services.AddSingleton<IRateLimitStore>(sp => sp.GetRequiredService<RedisRateLimitStore>());
            services.AddHealthChecks().AddCheck<RedisRateLimitStore.HealthCheck>("rate_limits");
        }

        // A singleton, so the container disposes it (and its idle-partition timer) with the application.
        services.AddSingleton(sp => CallerLimiter(sp.GetRequiredService<IRateLimitStore>(), settings));
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<PartitionedRateLimiter<HttpContext>>((options, callers) =>
        {
            options.GlobalLimiter = callers;
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = RejectAsync;
            options.AddPolicy<string, AuthPolicy>(RateLimitPolicies.Auth);
        });
        return services;
    }

    /// <summary><c>core</c> for CyberHub.Core, <c>ai</c> for CyberHub.Ai: the part of the Redis keys naming the service.</summary>
    public static string ServiceScope(string applicationName) =>
        applicationName[(applicationName.LastIndexOf('.') + 1)..].ToLowerInvariant();

    /// <summary>After authentication (callers are known by their user id) and before authorization (refused requests count too).</summary>
    public static WebApplication UseCyberHubRateLimiting(this WebApplication app)
    {
        app.UseRateLimiter();
        return app;
    }

    /// <summary>Only the API counts: health probes, metrics, the JWKS document, API docs and the web app's files do not.</summary>
    internal static bool IsLimited(PathString path) =>
        path.StartsWithSegments("/api") && !path.StartsWithSegments("/api/v1/health");

    private static PartitionedRateLimiter<HttpContext> CallerLimiter(IRateLimitStore store, RateLimitingSettings settings)
    {
        var general = RateLimitRule.PerMinute("general", settings.PerUserPerMinute!.Value);
        var service = settings.ServicePerMinute > 0 ? RateLimitRule.PerMinute("service", settings.ServicePerMinute) : null;
        return PartitionedRateLimiter.Create<HttpContext, string>(http =>
        {
            if (!settings.Enabled || !IsLimited(http.Request.Path))
            {
                return RateLimitPartition.GetNoLimiter("");
            }
            if (http.User.Identity?.IsAuthenticated == true && http.User.FindFirstValue(CyberHubClaims.Subject) is { Length: > 0 } subject)
            {
                if (!http.User.IsInRole(Roles.Service))
                {
                    return Partition(store, general, $"user:{subject}");
                }
                // Service clients (Core's own outbox among them) are registered by admins; throttling them only delays sync.
                return service is null ? RateLimitPartition.GetNoLimiter("") : Partition(store, service, subject);
            }
            return Partition(store, general, $"ip:{ClientAddress(http)}");
        });
    }

    private static RateLimitPartition<string> Partition(IRateLimitStore store, RateLimitRule rule, string partition) =>
        RateLimitPartition.Get($"{rule.Name}:{partition}", _ => new StoreBackedRateLimiter(store, rule, partition));

    /// <summary>
    /// The client's address as the connection (or a trusted proxy's <c>X-Forwarded-For</c>) gives it; an IPv6 client
    /// by its /64, the block one subscriber usually holds whole.
    /// </summary>
    public static string ClientAddress(HttpContext http)
    {
        var address = http.Connection.RemoteIpAddress;
        if (address is null)
        {
            return "unknown";
        }
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && !IPAddress.IsLoopback(address))
        {
            var bytes = address.GetAddressBytes();
            Array.Clear(bytes, 8, 8);
            return $"{new IPAddress(bytes)}/64";
        }
        return address.ToString();
    }

    private static async ValueTask RejectAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
            ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))
            : 1;
        context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await DetailProblemDetailsWriter.WriteDetailAsync(context.HttpContext, StatusCodes.Status429TooManyRequests,
            $"Too many requests: try again in {seconds} s.");
    }

    private sealed class AuthPolicy(IRateLimitStore store, RateLimitingSettings settings) : IRateLimiterPolicy<string>
    {
        private readonly RateLimitRule _rule = RateLimitRule.PerMinute(RateLimitPolicies.Auth, settings.AuthPerMinute);

        public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected => null;

        public RateLimitPartition<string> GetPartition(HttpContext httpContext) =>
            settings.Enabled ? Partition(store, _rule, $"ip:{ClientAddress(httpContext)}") : RateLimitPartition.GetNoLimiter("");
    }
}
