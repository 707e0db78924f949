using System.Diagnostics;
using System.Diagnostics.Metrics;
using CyberHub.ServiceDefaults.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;

namespace CyberHub.Core.Outbox;

/// <summary>
/// The gauge <c>cyberhub.outbox.backlog</c>: events neither delivered nor set aside. Counting them takes a query,
/// so a count is made only when a metric reader asks, at most every <see cref="RefreshInterval"/> per dispatcher,
/// and off the reader's thread: each reading reports the count the previous one started.
/// The gauge is registered once per process and reads every running dispatcher (tests run many Core servers in
/// one process). It reports the highest count: instances over one database count the same backlog, so their
/// counts must not be added up; across instances, aggregate it with max too.
/// </summary>
internal sealed class OutboxBacklog : IDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    private static readonly Lock LiveLock = new();
    private static readonly List<OutboxBacklog> Live = [];

    internal static readonly ObservableGauge<long> Gauge = CyberHubTelemetry.Meter.CreateObservableGauge(
        CyberHubTelemetry.OutboxBacklogName, Observe, "{event}", "Outbox events waiting for delivery.");

    private readonly IServiceScopeFactory _scopes;
    private readonly ILogger _logger;
    private long _count = -1;
    private long _countStartedAt;
    private int _counting;

    private OutboxBacklog(IServiceScopeFactory scopes, ILogger logger)
    {
        _scopes = scopes;
        _logger = logger;
    }

    /// <summary>Makes a dispatcher's database count in the gauge until the returned object is disposed.</summary>
    public static OutboxBacklog Join(IServiceScopeFactory scopes, ILogger logger)
    {
        var backlog = new OutboxBacklog(scopes, logger);
        lock (LiveLock)
        {
            Live.Add(backlog);
        }
        return backlog;
    }

    public void Dispose()
    {
        lock (LiveLock)
        {
            Live.Remove(this);
        }
    }

    private static IEnumerable<Measurement<long>> Observe()
    {
        OutboxBacklog[] live;
        lock (LiveLock)
        {
            live = [.. Live];
        }
        var highest = -1L;
        foreach (var backlog in live)
        {
            highest = Math.Max(highest, backlog.Read());
        }
        // Nothing before the first count has come back: no reading rather than a made-up zero.
        return highest < 0 ? [] : [new Measurement<long>(highest)];
    }

    /// <summary>The last count (-1 before the first), starting a new one when it is due.</summary>
    private long Read()
    {
        var count = Volatile.Read(ref _count);
        var due = count < 0 || Stopwatch.GetElapsedTime(Volatile.Read(ref _countStartedAt)) >= RefreshInterval;
        if (due && Interlocked.Exchange(ref _counting, 1) == 0)
        {
            Volatile.Write(ref _countStartedAt, Stopwatch.GetTimestamp());
            _ = CountAsync();
        }
        return count;
    }

    private async Task CountAsync()
    {
        try
        {
            // The count is not part of whatever trace the reader's thread is in.
            Activity.Current = null;
            await Task.Yield();
            using var timeout = new CancellationTokenSource(RefreshInterval);
            await using var scope = _scopes.CreateAsyncScope();
            using var untraced = SuppressInstrumentationScope.Begin();
            var count = await scope.ServiceProvider.GetRequiredService<OutboxStore>().CountPendingAsync(timeout.Token);
            Volatile.Write(ref _count, count);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The database is away, or the service stopped meanwhile: the gauge keeps its last count.
            _logger.LogDebug(e, "Could not count the outbox backlog");
        }
        finally
        {
            Volatile.Write(ref _counting, 0);
        }
    }
}
