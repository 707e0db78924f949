using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CyberHub.ServiceDefaults.Observability;

/// <summary>
/// CyberHub's own spans and instruments, beside what ASP.NET Core, HttpClient, EF Core, Npgsql and Redis
/// report by themselves. Every name is listed here so that docs/operations.md and the dashboards have
/// one place to look. Durations are in seconds, as OpenTelemetry's conventions ask.
/// </summary>
public static class CyberHubTelemetry
{
    public const string Name = "CyberHub";

    /// <summary>Custom spans: <c>embedding.batch</c>, <c>vector.search</c>, <c>recommendations.rank</c>, <c>outbox.dispatch</c>.</summary>
    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    /// <summary>How long each database command took, by <c>db.system</c> and <c>db.operation</c> (select, insert, ...).</summary>
    public static readonly Histogram<double> DbQueryDuration = Meter.CreateHistogram<double>(
        "cyberhub.db.query.duration", "s", "Duration of database commands.");

    /// <summary>Nearest-neighbour searches, by <c>backend</c> (embedded, pgvector).</summary>
    public static readonly Histogram<double> VectorSearchDuration = Meter.CreateHistogram<double>(
        "cyberhub.vector_search.duration", "s", "Duration of vector searches.");

    public static readonly Histogram<int> VectorSearchResults = Meter.CreateHistogram<int>(
        "cyberhub.vector_search.results", "{item}", "Items returned by each vector search.");

    /// <summary>One measurement per call to the encoder, however many texts it embedded.</summary>
    public static readonly Histogram<int> EmbeddingBatchSize = Meter.CreateHistogram<int>(
        "cyberhub.embedding.batch.size", "{text}", "Texts embedded per batch.");

    public static readonly Histogram<double> EmbeddingBatchDuration = Meter.CreateHistogram<double>(
        "cyberhub.embedding.batch.duration", "s", "Duration of embedding batches.");

    /// <summary>Cache lookups by <c>cache</c> (progress, recommendations, personality, query_embedding, ...) and <c>result</c> (hit, miss).</summary>
    public static readonly Counter<long> CacheRequests = Meter.CreateCounter<long>(
        "cyberhub.cache.requests", "{request}", "Cache lookups, by cache name and hit or miss.");

    /// <summary>Seconds from a progress change's commit to its delivery to the AI service.</summary>
    public static readonly Histogram<double> OutboxDeliveryLag = Meter.CreateHistogram<double>(
        "cyberhub.outbox.delivery.lag", "s", "Time from a progress change to its delivery.");

    public static readonly Counter<long> OutboxDelivered = Meter.CreateCounter<long>(
        "cyberhub.outbox.delivered", "{event}", "Outbox events delivered.");

    public static readonly Counter<long> OutboxFailures = Meter.CreateCounter<long>(
        "cyberhub.outbox.failures", "{attempt}", "Outbox delivery attempts that failed.");

    /// <summary>
    /// The observable gauge of outbox events waiting for delivery (neither delivered nor set aside), in {event}.
    /// Core's <c>OutboxBacklog</c> creates it: only the dispatchers there can count them.
    /// </summary>
    public const string OutboxBacklogName = "cyberhub.outbox.backlog";

    /// <summary>Marks a span failed: error status, <c>error.type</c> (the exception's type) and an exception event.</summary>
    public static void RecordFailure(this Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }
        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.SetTag("error.type", exception.GetType().FullName);
        activity.AddException(exception);
    }
}
