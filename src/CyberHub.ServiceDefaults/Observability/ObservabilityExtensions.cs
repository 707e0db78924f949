using CyberHub.ServiceDefaults.Caching;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace CyberHub.ServiceDefaults.Observability;

/// <summary>
/// Logs, traces and metrics for every CyberHub service:
/// <list type="bullet">
/// <item>console logs as JSON lines (readable text in Development; <c>Logging:Console:FormatterName</c> decides);</item>
/// <item>OpenTelemetry traces from ASP.NET Core, HttpClient, EF Core, Npgsql, Redis and <see cref="CyberHubTelemetry.Source"/>,
/// exported over OTLP only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set;</item>
/// <item>metrics on <c>/metrics</c> in Prometheus' text format (<c>Metrics:Enabled</c>, <c>Metrics:Url</c> for a separate port);</item>
/// <item><c>X-Request-ID</c> on every answer, error body and outgoing call.</item>
/// </list>
/// </summary>
public static class ObservabilityExtensions
{
    public const string MetricsPath = "/metrics";

    public static WebApplicationBuilder AddCyberHubObservability(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        ConfigureConsoleLogs(builder);

        // Every HttpClient made by the factory carries the request id; traceparent comes with HttpClient itself.
        builder.Services.ConfigureHttpClientDefaults(http => http.AddHttpMessageHandler(() => new RequestIdPropagationHandler()));

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : ServiceName(builder.Environment),
                serviceVersion: typeof(ObservabilityExtensions).Assembly.GetName().Version?.ToString(),
                serviceInstanceId: $"{Environment.MachineName}:{Environment.ProcessId}"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(CyberHubTelemetry.Name)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddMeter("Npgsql", "Microsoft.EntityFrameworkCore");
                if (MetricsEnabled(configuration))
                {
                    metrics.AddPrometheusExporter();
                }
            });
        if (MetricsEnabled(configuration) && configuration["Metrics:Url"] is { Length: > 0 } metricsUrl)
        {
            var urls = builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey);
            builder.WebHost.UseUrls(string.IsNullOrEmpty(urls) ? metricsUrl : $"{urls};{metricsUrl}");
        }
        if (string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // No collector, no tracer: spans recorded only to be dropped cost a request a share of its CPU (every EF
            // Core command and Npgsql round trip is one). Requests still get their W3C trace id, which the request
            // log and error bodies carry and outgoing calls pass on in traceparent.
            return builder;
        }
        telemetry.WithTracing(tracing =>
            {
                tracing.AddSource(CyberHubTelemetry.Name)
                    .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsProbe(http.Request.Path))
                    .AddHttpClientInstrumentation()
                    .AddEntityFrameworkCoreInstrumentation()
                    .AddNpgsql()
                    .AddRedisInstrumentation()
                    .ConfigureRedisInstrumentation((services, redis) =>
                        services.GetService<RedisConnection>()?.WhenConnected(connection => redis.AddConnection(connection)));
            })
            .UseOtlpExporter();
        return builder;
    }

    /// <summary>The request id and request log wrap everything else; the route is noted as soon as routing has run.</summary>
    public static WebApplication UseCyberHubRequestLogging(this WebApplication app)
    {
        app.UseMiddleware<RequestLoggingMiddleware>();
        app.UseRouting();
        app.Use(RequestLoggingMiddleware.RecordRoute);
        return app;
    }

    public static WebApplication MapCyberHubMetrics(this WebApplication app)
    {
        if (!MetricsEnabled(app.Configuration))
        {
            return app;
        }
        var endpoint = app.MapPrometheusScrapingEndpoint(MetricsPath);
        if (app.Configuration["Metrics:Url"] is { Length: > 0 } metricsUrl)
        {
            // Scrapes are answered only on the metrics address, so it can stay off the public network.
            endpoint.RequireHost($"*:{new Uri(metricsUrl.Replace("*", "localhost", StringComparison.Ordinal).Replace("+", "localhost", StringComparison.Ordinal)).Port}");
        }
        return app;
    }

    private static bool MetricsEnabled(IConfiguration configuration) => configuration.GetValue("Metrics:Enabled", true);

    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/api/v1/health") || path.StartsWithSegments(MetricsPath);

    /// <summary>CyberHub.Core → cyberhub-core.</summary>
    private static string ServiceName(IHostEnvironment environment) =>
        environment.ApplicationName.Replace('.', '-').ToLowerInvariant();

    private static void ConfigureConsoleLogs(WebApplicationBuilder builder)
    {
        var chosen = builder.Configuration["Logging:Console:FormatterName"];
        var format = string.IsNullOrWhiteSpace(chosen)
            ? builder.Environment.IsDevelopment() ? ConsoleFormatterNames.Simple : ConsoleFormatterNames.Json
            : chosen;
        builder.Logging.AddConsole(options => options.FormatterName = format);
        builder.Services.Configure<JsonConsoleFormatterOptions>(options =>
        {
            options.IncludeScopes = true;
            options.UseUtcTimestamp = true;
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
        builder.Services.Configure<SimpleConsoleFormatterOptions>(options =>
        {
            options.SingleLine = true;
            options.TimestampFormat = "HH:mm:ss.fff ";
        });
    }
}
