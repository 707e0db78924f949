using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Observability;
using Xunit;

namespace CyberHub.Testing;

/// <summary>
/// Listens to the CyberHub spans and instruments, and to ASP.NET Core's request spans so that a request's trace
/// reaches the spans inside it. Each measurement is noted with the trace current where it was made.
/// </summary>
public sealed class TelemetryRecorder : IDisposable
{
    public sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags, ActivityTraceId? Trace);

    private static readonly HashSet<string> Sources = [CyberHubTelemetry.Name, "Microsoft.AspNetCore"];

    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ConcurrentQueue<Measurement> _measurements = new();
    private readonly ConcurrentQueue<Instrument> _instruments = new();
    private readonly MeterListener _meters = new();
    private readonly ActivityListener _activities;

    public TelemetryRecorder()
    {
        // Meters first: a span the recorder sees was measured from its start.
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == CyberHubTelemetry.Name)
            {
                _instruments.Enqueue(instrument);
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<double>((i, value, tags, _) => Note(i, value, tags));
        _meters.SetMeasurementEventCallback<int>((i, value, tags, _) => Note(i, value, tags));
        _meters.SetMeasurementEventCallback<long>((i, value, tags, _) => Note(i, value, tags));
        _meters.Start();

        _activities = new ActivityListener
        {
            ShouldListenTo = source => Sources.Contains(source.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.Source.Name == CyberHubTelemetry.Name)
                {
                    _spans.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(_activities);
    }

    public IReadOnlyList<Instrument> Instruments => [.. _instruments];

    /// <summary>Sends a request in a trace of its own, checks its status and answers the trace id.</summary>
    public async Task<ActivityTraceId> SendAsync(
        HttpClient client, HttpMethod method, string url, object? body = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var trace = ActivityTraceId.CreateRandom();
        // Current while the request is sent, so HttpClient passes its trace on in a traceparent header.
        using var caller = new Activity("cyberhub-test").SetParentId(trace, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded).Start();
        using var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: CyberHubJson.Options);
        }
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"Expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        return trace;
    }

    public void ObserveGauges() => _meters.RecordObservableInstruments();

    /// <summary>Spans named <paramref name="name"/>; with a trace, only those in it.</summary>
    public IReadOnlyList<Activity> Spans(string name) => [.. _spans.Where(s => s.OperationName == name)];

    public IReadOnlyList<Activity> Spans(ActivityTraceId trace, string name) =>
        [.. _spans.Where(s => s.TraceId == trace && s.OperationName == name)];

    /// <summary>Measurements of <paramref name="instrument"/> made in <paramref name="trace"/>; with null, whatever their trace.</summary>
    public IReadOnlyList<Measurement> Measured(ActivityTraceId? trace, string instrument) =>
        [.. _measurements.Where(m => m.Instrument == instrument && (trace is null || m.Trace == trace))];

    /// <summary>The results (hit, miss) of the lookups of one cache in the trace, in order.</summary>
    public IReadOnlyList<string> CacheResults(ActivityTraceId trace, string cache) =>
        [.. Measured(trace, "cyberhub.cache.requests").Where(m => (string?)m.Tags["cache"] == cache).Select(m => (string)m.Tags["result"]!)];

    public void Dispose()
    {
        _activities.Dispose();
        _meters.Dispose();
    }

    private void Note<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags) where T : struct, IConvertible
    {
        var copy = new Dictionary<string, object?>(tags.Length);
        foreach (var (key, tagValue) in tags)
        {
            copy[key] = tagValue;
        }
        _measurements.Enqueue(new Measurement(instrument.Name, value.ToDouble(null), copy, Activity.Current?.TraceId));
    }
}
