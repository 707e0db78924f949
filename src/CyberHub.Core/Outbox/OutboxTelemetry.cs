using System.Diagnostics;
using CyberHub.ServiceDefaults.Observability;

namespace CyberHub.Core.Outbox;

/// <summary>
/// The dispatcher's span for each delivery request (<c>outbox.dispatch</c>) and the counts it makes of the outcome;
/// the backlog gauge is <see cref="OutboxBacklog"/>. Nothing about a user goes into tags: only counts and outcomes.
/// </summary>
internal static class OutboxTelemetry
{
    /// <summary>
    /// Starts the span of one request: the renewal of the claim, the request and the recording of its outcome.
    /// A root span, since the dispatcher runs with no current span (see <see cref="OutboxDispatcher"/>).
    /// </summary>
    public static Activity? StartDispatch(OutboxEvent[] chunk)
    {
        var activity = CyberHubTelemetry.Source.StartActivity("outbox.dispatch");
        activity?.SetTag("outbox.events", chunk.Length);
        activity?.SetTag("outbox.attempt", chunk[0].Attempts + 1);
        return activity;
    }

    /// <summary>Counts delivered events and, for each, the time since its change committed.</summary>
    public static void Delivered(Activity? activity, OutboxEvent[] chunk, DateTime now)
    {
        CyberHubTelemetry.OutboxDelivered.Add(chunk.Length);
        foreach (var e in chunk)
        {
            CyberHubTelemetry.OutboxDeliveryLag.Record((now - e.CreatedAt).TotalSeconds);
        }
        activity?.SetTag("outbox.result", "delivered");
    }

    /// <summary>Counts a failed attempt by <paramref name="reason"/>: rejected, unavailable or failed.</summary>
    public static void Failed(Activity? activity, string reason)
    {
        CyberHubTelemetry.OutboxFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));
        activity?.SetTag("outbox.result", reason);
        // The receiver's answer is in the logs and in the HTTP client's span; it may quote the events.
        activity?.SetStatus(ActivityStatusCode.Error, reason);
    }

    /// <summary>An exception broke the delivery (the database, say); shutting down is not a failed attempt.</summary>
    public static void Broke(Activity? activity, Exception exception)
    {
        activity.RecordFailure(exception);
        if (exception is not OperationCanceledException)
        {
            CyberHubTelemetry.OutboxFailures.Add(1, new KeyValuePair<string, object?>("reason", "error"));
            activity?.SetTag("outbox.result", "error");
        }
    }

    /// <summary>Another instance holds the events now: nothing was sent, and nothing failed.</summary>
    public static void ClaimLost(Activity? activity) => activity?.SetTag("outbox.result", "claim_lost");
}
