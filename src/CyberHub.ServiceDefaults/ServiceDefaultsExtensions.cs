using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.ServiceDefaults.Errors;
using CyberHub.ServiceDefaults.Health;
using CyberHub.ServiceDefaults.Limits;
using CyberHub.ServiceDefaults.Observability;
using CyberHub.ServiceDefaults.OpenApi;
using CyberHub.ServiceDefaults.RateLimiting;
using CyberHub.ServiceDefaults.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CyberHub.ServiceDefaults;

public static class ServiceDefaultsExtensions
{
    /// <summary>
    /// What every CyberHub service has: the wire format, {"detail"} errors, logs, traces and metrics, JWT auth, health,
    /// caching, rate limits, security headers and CORS, OpenAPI.
    /// </summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<JsonOptions>(o => CyberHubJson.Configure(o.SerializerOptions));
        builder.AddCyberHubRequestLimits();
        // Binding failures throw, so the exception handler can say what was wrong instead of an empty 400.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

        services.AddSingleton<IProblemDetailsWriter, DetailProblemDetailsWriter>();
        services.AddProblemDetails();
        services.AddExceptionHandler<ApiExceptionHandler>();

        builder.AddCyberHubObservability();
        services.AddCyberHubAuthentication(builder.Configuration);
        services.AddHealthChecks();
        services.AddCyberHubCache(builder.Configuration);
        services.AddCyberHubRateLimiting(builder.Configuration, builder.Environment.ApplicationName);
        builder.AddCyberHubSecurity();
        services.AddCyberHubOpenApi(builder.Configuration);
        return builder;
    }

    /// <summary>
    /// The pipeline, outermost first: request id and log (with routing), the client address from a trusted proxy,
    /// security headers (on every answer, errors included), the exception handler, HTTPS when listening on TLS, CORS
    /// (preflights end there), authentication, rate limits (by user, so after authentication; refusals count, so
    /// before authorization), authorization.
    /// </summary>
    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        app.UseCyberHubRequestLogging();
        app.UseCyberHubForwardedHeaders();
        app.UseCyberHubSecurityHeaders();
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            SuppressDiagnosticsCallback = c => ApiExceptionHandler.IsClientError(c.Exception),
        });
        app.UseStatusCodePages();
        app.UseCyberHubTransportSecurity();
        app.UseCyberHubCors();
        app.UseAuthentication();
        app.UseCyberHubRateLimiting();
        app.UseAuthorization();

        app.MapCyberHubHealth();
        app.MapCyberHubMetrics();
        app.MapCyberHubOpenApi();
        return app;
    }
}
