using System.Collections.Concurrent;

namespace CyberHub.ServiceDefaults.RateLimiting;

/// <summary>Where the limits are counted: Redis (shared by every instance) or process memory.</summary>
public interface IRateLimitStore
{
    /// <summary>Takes one permit of <paramref name="rule"/> for <paramref name="partition"/>, if there is one.</summary>
    ValueTask<RateLimitDecision> AcquireAsync(RateLimitRule rule, string partition, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes <paramref name="cost"/> permits of <paramref name="rule"/> at once (a budget of work, such as model tokens,
    /// rather than of requests), or none. A cost above <see cref="RateLimitRule.PermitLimit"/> is never allowed.
    /// </summary>
    ValueTask<RateLimitDecision> AcquireManyAsync(RateLimitRule rule, string partition, int cost, CancellationToken cancellationToken = default);
}

/// <param name="Store"><c>redis</c> or <c>memory</c>: where this decision was taken.</param>
public readonly record struct RateLimitDecision(bool Allowed, TimeSpan RetryAfter, string Store);

/// <summary>
/// The generic cell rate algorithm over one number per partition, its theoretical arrival time (TAT): a request
/// is allowed when the TAT it would leave behind is at most one period ahead of now. The Redis script does the
/// same arithmetic in microseconds.
/// </summary>
internal static class Gcra
{
    public static (bool Allowed, long NewTat, long RetryAfter) Decide(long storedTat, long now, long interval, long period)
    {
        var newTat = Math.Max(storedTat, now) + interval;
        var ahead = newTat - now;
        return ahead > period ? (false, storedTat, ahead - period) : (true, newTat, 0);
    }
}

/// <summary>
/// Limits counted in this process: the store when no Redis is configured, and the fallback while it is unreachable.
/// Partitions whose TAT has passed hold nothing worth keeping and are swept out once a minute.
/// </summary>
public sealed class MemoryRateLimitStore(TimeProvider clock) : IRateLimitStore
{
    public const string Name = "memory";
    private static readonly long SweepEvery = TimeSpan.FromMinutes(1).Ticks;

    private readonly ConcurrentDictionary<string, Cell> _cells = new(StringComparer.Ordinal);
    private long _nextSweep;

    /// <summary>Partitions currently remembered.</summary>
    public int Count => _cells.Count;

    public ValueTask<RateLimitDecision> AcquireAsync(RateLimitRule rule, string partition, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Acquire(rule, partition));

    public ValueTask<RateLimitDecision> AcquireManyAsync(RateLimitRule rule, string partition, int cost, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Acquire(rule, partition, cost));

    public RateLimitDecision Acquire(RateLimitRule rule, string partition, int cost = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cost, 1);
        var now = clock.GetUtcNow().UtcTicks;
        SweepIfDue(now);
        var key = $"{rule.Name}:{partition}";
        while (true)
        {
            var cell = _cells.GetOrAdd(key, static _ => new Cell());
            lock (cell)
            {
                if (cell.Removed)
                {
                    continue;
                }
                var (allowed, tat, retryAfter) = Gcra.Decide(cell.Tat, now, rule.EmissionInterval.Ticks * cost, rule.Period.Ticks);
                cell.Tat = tat;
                return new RateLimitDecision(allowed, TimeSpan.FromTicks(retryAfter), Name);
            }
        }
    }

    private void SweepIfDue(long now)
    {
        if (now < Volatile.Read(ref _nextSweep) || Interlocked.Exchange(ref _nextSweep, now + SweepEvery) > now)
        {
            return;
        }
        foreach (var (key, cell) in _cells)
        {
            lock (cell)
            {
                if (cell.Tat <= now)
                {
                    // A request that already holds this cell sees Removed and starts over with a fresh one.
                    cell.Removed = true;
                    _cells.TryRemove(new KeyValuePair<string, Cell>(key, cell));
                }
            }
        }
    }

    private sealed class Cell
    {
        public long Tat;
        public bool Removed;
    }
}
