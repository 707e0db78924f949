using System.Diagnostics;
using System.Security.Claims;
using CyberHub.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace CyberHub.ServiceDefaults.Observability;

/// <summary>
/// Outermost middleware: gives the request its id (header, error bodies, log scope, outgoing calls) and
/// writes one structured event when it ends — method, route template, status, duration, request id,
/// trace id and user id. Never headers, tokens, query strings or bodies.
/// </summary>
internal sealed partial class RequestLoggingMiddleware(RequestDelegate next, ILogger<RequestLoggingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext http)
    {
        var started = Stopwatch.GetTimestamp();
        var id = RequestIds.Choose(http.Request.Headers[RequestIds.Header]);
        http.TraceIdentifier = id;
        RequestIds.Current = id;
        http.Response.OnStarting(static state =>
        {
            var context = (HttpContext)state;
            context.Response.Headers[RequestIds.Header] = context.TraceIdentifier;
            return Task.CompletedTask;
        }, http);
        Activity.Current?.SetTag("http.request_id", id);

        var route = new RouteHolder();
        http.Features.Set(route);
        using var scope = logger.BeginScope(new RequestScope(id));
        var failed = true;
        try
        {
            await next(http);
            failed = false;
        }
        finally
        {
            // An exception that escaped every handler is answered 500 by the server.
            var status = failed && !http.Response.HasStarted ? StatusCodes.Status500InternalServerError : http.Response.StatusCode;
            var level = status >= 500 ? LogLevel.Warning : IsProbe(http.Request.Path) ? LogLevel.Debug : LogLevel.Information;
            if (logger.IsEnabled(level))
            {
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                Request(logger, level, http.Request.Method, route.Template ?? "(no route)", http.Request.Path.Value ?? "/", status,
                    Math.Round(elapsed, 2), id, Activity.Current?.TraceId.ToHexString() ?? "", UserOf(http.User));
            }
        }
    }

    /// <summary>Health probes and metric scrapes arrive every few seconds; they are logged only at Debug.</summary>
    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/api/v1/health") || path.StartsWithSegments("/metrics");

    private static string UserOf(ClaimsPrincipal user) =>
        user.Identity?.IsAuthenticated == true ? user.FindFirstValue(CyberHubClaims.Subject) ?? "" : "";

    [LoggerMessage(EventId = 1, EventName = "Request",
        Message = "{Method} {Route} ({Path}) answered {StatusCode} in {DurationMs} ms; request {RequestId}, trace {TraceId}, user {UserId}")]
    private static partial void Request(ILogger logger, LogLevel level, string method, string route, string path, int statusCode,
        double durationMs, string requestId, string traceId, string userId);

    /// <summary>Filled in once routing has chosen the endpoint; the exception handler clears the endpoint later on.</summary>
    internal sealed class RouteHolder
    {
        public string? Template { get; set; }
    }

    /// <summary>Puts <c>request_id</c> on every log line written while the request runs.</summary>
    private sealed class RequestScope(string requestId) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public KeyValuePair<string, object?> this[int index] =>
            index == 0 ? new("request_id", requestId) : throw new ArgumentOutOfRangeException(nameof(index));

        public int Count => 1;

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"request {requestId}";
    }

    /// <summary>Runs right after routing: remembers the chosen endpoint's route template for the log event.</summary>
    internal static Task RecordRoute(HttpContext http, RequestDelegate next)
    {
        if (http.Features.Get<RouteHolder>() is { } holder && http.GetEndpoint() is RouteEndpoint endpoint)
        {
            holder.Template = endpoint.RoutePattern.RawText;
        }
        return next(http);
    }
}
