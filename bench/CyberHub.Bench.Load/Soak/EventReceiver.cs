using System.Text.Json;
using CyberHub.Bench.Load.Platform;
using CyberHub.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CyberHub.Bench.Load.Soak;

/// <summary>
/// Stands in for the AI service's sync endpoint during a soak: accepts every batch of progress events Core's outbox
/// sends and notes, per event id, which record version it announced and how often it came.
/// </summary>
public sealed class EventReceiver : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Guid, (long RecordId, int Version, int Deliveries)> _events = [];
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;

    public static async Task<EventReceiver> StartAsync()
    {
        var receiver = new EventReceiver();
        (receiver._app, receiver.BaseAddress) = await LoopbackApp.StartAsync(app => app.MapPost("/api/v1/sync/progress-events", receiver.ReceiveAsync));
        return receiver;
    }

    public int DistinctEvents
    {
        get
        {
            lock (_lock)
            {
                return _events.Count;
            }
        }
    }

    /// <summary>Distinct events, repeated deliveries, and the (record, version) pairs announced with how many event ids each.</summary>
    public (int Distinct, int Repeats, IReadOnlyDictionary<(long RecordId, int Version), int> Changes) Snapshot()
    {
        lock (_lock)
        {
            var changes = _events.Values.GroupBy(e => (e.RecordId, e.Version)).ToDictionary(g => g.Key, g => g.Count());
            return (_events.Count, _events.Values.Sum(e => e.Deliveries - 1), changes);
        }
    }

    private async Task ReceiveAsync(HttpContext http)
    {
        var batch = await JsonSerializer.DeserializeAsync<ProgressEventBatch>(http.Request.Body, CyberHubJson.Options);
        var events = batch?.Events ?? [];
        var repeats = 0;
        lock (_lock)
        {
            foreach (var e in events)
            {
                if (_events.TryGetValue(e.EventId, out var seen))
                {
                    _events[e.EventId] = seen with { Deliveries = seen.Deliveries + 1 };
                    repeats++;
                }
                else
                {
                    _events[e.EventId] = (e.Progress!.Id, e.Progress!.Version, 1);
                }
            }
        }
        await http.Response.WriteAsJsonAsync(new ProgressEventsResult(events.Count - repeats, repeats), CyberHubJson.Options);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
