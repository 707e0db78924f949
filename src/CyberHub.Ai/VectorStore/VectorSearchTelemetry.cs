using System.Diagnostics;
using CyberHub.ServiceDefaults.Observability;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// One vector search as both stores report it: a <c>vector.search</c> span with the query's shape, and the
/// duration and result count in <see cref="CyberHubTelemetry.VectorSearchDuration"/> and <see cref="CyberHubTelemetry.VectorSearchResults"/>.
/// </summary>
internal sealed class VectorSearchTelemetry : IDisposable
{
    private readonly string _backend;
    private readonly long _started = Stopwatch.GetTimestamp();

    private VectorSearchTelemetry(string backend, Activity? activity)
    {
        _backend = backend;
        Activity = activity;
    }

    /// <summary>The span, for a store to add what only it knows (pgvector's ef_search, say); null when nobody listens.</summary>
    public Activity? Activity { get; }

    public static VectorSearchTelemetry Start(string backend, int limit, string? contentType, int excluded)
    {
        var activity = CyberHubTelemetry.Source.StartActivity("vector.search");
        activity?.SetTag("vector.backend", backend);
        activity?.SetTag("vector.limit", limit);
        activity?.SetTag("vector.content_type", contentType);
        activity?.SetTag("vector.excluded", excluded);
        return new VectorSearchTelemetry(backend, activity);
    }

    public void Completed(int results)
    {
        var backend = new KeyValuePair<string, object?>("backend", _backend);
        CyberHubTelemetry.VectorSearchDuration.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, backend);
        CyberHubTelemetry.VectorSearchResults.Record(results, backend);
        Activity?.SetTag("vector.results", results);
    }

    public void Failed(Exception exception) => Activity.RecordFailure(exception);

    public void Dispose() => Activity?.Dispose();
}
