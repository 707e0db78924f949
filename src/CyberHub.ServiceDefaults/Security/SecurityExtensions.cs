using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.ServiceDefaults.Security;

/// <summary>
/// What protects each answer on its way to a browser: security headers, a CORS allow-list, the client address from a
/// trusted proxy, and HTTPS redirection with HSTS when the service itself listens on TLS.
/// </summary>
public static class SecurityExtensions
{
    public const string CorsPolicy = "cyberhub";

    public static readonly string[] CorsMethods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    public static readonly string[] CorsRequestHeaders = ["Authorization", "Content-Type", "If-Match", "X-Request-ID", "Idempotency-Key"];
    public static readonly string[] CorsExposedHeaders = ["ETag", "X-Request-ID", "Retry-After"];

    public static WebApplicationBuilder AddCyberHubSecurity(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var services = builder.Services;
        services.AddSingleton(new SecurityHeaders(configuration));

        var origins = AllowedOrigins(configuration);
        services.AddCors(options => options.AddPolicy(CorsPolicy, policy => policy
            .WithOrigins(origins)
            .WithMethods(CorsMethods)
            .WithHeaders(CorsRequestHeaders)
            .WithExposedHeaders(CorsExposedHeaders)
            .SetPreflightMaxAge(TimeSpan.FromMinutes(10))));

        var trusted = TrustedProxies(configuration);
        services.AddSingleton(trusted);
        services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            options.ForwardLimit = trusted.ForwardLimit;
            // The defaults trust loopback; here only what is configured is trusted.
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var proxy in trusted.Proxies)
            {
                options.KnownProxies.Add(proxy);
            }
            foreach (var network in trusted.Networks)
            {
                options.KnownIPNetworks.Add(network);
            }
        });

        services.AddHsts(options => options.MaxAge = TimeSpan.FromDays(365));
        return builder;
    }

    /// <summary>
    /// Before anything reads the client address or scheme. Without configured proxies <c>X-Forwarded-*</c> is ignored:
    /// any client could send it.
    /// </summary>
    public static WebApplication UseCyberHubForwardedHeaders(this WebApplication app)
    {
        if (app.Services.GetRequiredService<TrustedProxies>().Any)
        {
            app.UseForwardedHeaders();
        }
        return app;
    }

    public static WebApplication UseCyberHubSecurityHeaders(this WebApplication app)
    {
        app.UseMiddleware<SecurityHeadersMiddleware>();
        return app;
    }

    /// <summary>HSTS and redirection to HTTPS only when the service listens on TLS itself: never on plain-HTTP loopback.</summary>
    public static WebApplication UseCyberHubTransportSecurity(this WebApplication app)
    {
        if (ListensOnTls(app.Configuration))
        {
            app.UseHsts();
            app.UseHttpsRedirection();
        }
        return app;
    }

    public static WebApplication UseCyberHubCors(this WebApplication app)
    {
        app.UseCors(CorsPolicy);
        return app;
    }

    /// <summary>An https address among the listen addresses (<c>urls</c>, <c>https_ports</c> or Kestrel's endpoints).</summary>
    public static bool ListensOnTls(IConfiguration configuration)
    {
        static bool Https(string? url) => url?.Trim().StartsWith("https://", StringComparison.OrdinalIgnoreCase) == true;
        return (configuration["urls"] ?? "").Split(';').Any(Https)
            || !string.IsNullOrWhiteSpace(configuration["https_ports"])
            || configuration.GetSection("Kestrel:Endpoints").GetChildren().Any(endpoint => Https(endpoint["Url"]));
    }

    /// <summary><c>Cors:AllowedOrigins</c>, by default the origin browsers load the web app from: Core's (<c>CYBERHUB_CORE_PUBLIC_URL</c>).</summary>
    public static string[] AllowedOrigins(IConfiguration configuration)
    {
        var configured = configuration.GetSection("Cors:AllowedOrigins").Get<string[]>() ?? [];
        if (configured.Length == 0)
        {
            return [Origins.Of(ServiceUrls.Resolve(configuration, "CYBERHUB_CORE_PUBLIC_URL", "CYBERHUB_CORE_URL", "http://localhost:8000"))];
        }
        return [.. configured.Select((origin, i) =>
            Uri.TryCreate(origin.Trim(), UriKind.Absolute, out var url) && url.Scheme is "http" or "https" && url.PathAndQuery == "/"
                ? Origins.Of(url)
                : throw new InvalidOperationException($"Cors:AllowedOrigins:{i} '{origin}' is not an origin such as https://app.example.com."))];
    }

    private static TrustedProxies TrustedProxies(IConfiguration configuration)
    {
        var section = configuration.GetSection("ForwardedHeaders");
        var proxies = (section.GetSection("KnownProxies").Get<string[]>() ?? []).Select((value, i) =>
            IPAddress.TryParse(value.Trim(), out var address)
                ? address
                : throw new InvalidOperationException($"ForwardedHeaders:KnownProxies:{i} '{value}' is not an IP address."));
        var networks = (section.GetSection("KnownNetworks").Get<string[]>() ?? []).Select((value, i) =>
            System.Net.IPNetwork.TryParse(value.Trim(), out var network)
                ? network
                : throw new InvalidOperationException($"ForwardedHeaders:KnownNetworks:{i} '{value}' is not a network such as 10.0.0.0/8."));
        return new TrustedProxies([.. proxies], [.. networks], section.GetValue("ForwardLimit", 1));
    }
}

/// <summary>The proxies whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed (<c>ForwardedHeaders</c> section).</summary>
public sealed record TrustedProxies(IReadOnlyList<IPAddress> Proxies, IReadOnlyList<System.Net.IPNetwork> Networks, int ForwardLimit)
{
    public bool Any => Proxies.Count > 0 || Networks.Count > 0;
}
