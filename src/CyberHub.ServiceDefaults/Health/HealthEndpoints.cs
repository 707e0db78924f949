using System.Text.Json;
using CyberHub.Contracts;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CyberHub.ServiceDefaults.Health;

public static class HealthEndpoints
{
    /// <summary>
    /// <c>/api/v1/health/</c> runs every readiness check (databases, stores) and answers 200 or 503 with
    /// each check's status; <c>/api/v1/health/live</c> only says the process answers. Neither reveals
    /// exception messages.
    /// </summary>
    public static IEndpointRouteBuilder MapCyberHubHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/api/v1/health/", new HealthCheckOptions { ResponseWriter = WriteAsync })
            .WithTags("Health").AllowAnonymous();
        app.MapHealthChecks("/api/v1/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync })
            .WithTags("Health").AllowAnonymous();
        return app;
    }

    private static Task WriteAsync(HttpContext http, HealthReport report)
    {
        var checks = report.Entries.ToDictionary(
            e => e.Key,
            e => new Contracts.HealthCheckResult(Describe(e.Value.Status), Math.Round(e.Value.Duration.TotalMilliseconds, 2), e.Value.Description));
        http.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(http.Response.Body, new HealthResponse(Describe(report.Status), checks), CyberHubJson.Options);
    }

    private static string Describe(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };
}
