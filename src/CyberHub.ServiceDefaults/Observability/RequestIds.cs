using System.Diagnostics;

namespace CyberHub.ServiceDefaults.Observability;

/// <summary>
/// The id that follows one request through both services and into every log line and error body.
/// A caller's <c>X-Request-ID</c> is kept when it is sane (1–128 of <c>[A-Za-z0-9-_.]</c>); otherwise the
/// request's W3C trace id is used, so a log line, an error body and a trace can be joined.
/// </summary>
public static class RequestIds
{
    public const string Header = "X-Request-ID";
    public const int MaxLength = 128;

    private static readonly AsyncLocal<string?> CurrentId = new();

    /// <summary>The id of the request this code runs for, or null outside a request (background work).</summary>
    public static string? Current
    {
        get => CurrentId.Value;
        internal set => CurrentId.Value = value;
    }

    public static bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength)
        {
            return false;
        }
        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The caller's id when valid, else the current trace id, else a fresh random id.</summary>
    public static string Choose(string? offered) =>
        IsValid(offered) ? offered!
        : Activity.Current is { } activity && activity.TraceId != default ? activity.TraceId.ToHexString()
        : ActivityTraceId.CreateRandom().ToHexString();
}

/// <summary>Sends the current request's id along on every outgoing call (W3C <c>traceparent</c> is added by HttpClient itself).</summary>
internal sealed class RequestIdPropagationHandler : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (RequestIds.Current is { } id && !request.Headers.Contains(RequestIds.Header))
        {
            request.Headers.TryAddWithoutValidation(RequestIds.Header, id);
        }
        return base.SendAsync(request, cancellationToken);
    }
}
