using CyberHub.ServiceDefaults.Caching;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace CyberHub.ServiceDefaults.RateLimiting;

/// <summary>
/// Limits counted in Redis, so that they hold across every instance: one key per partition,
/// <c>{Cache:Prefix}{service}:ratelimit:{rule}:{partition}</c> (<paramref name="keyPrefix"/> is all before <c>ratelimit</c>), holding its TAT in microseconds of Redis' own clock (instances'
/// clocks may differ), read and written by one script so concurrent requests cannot both take the last permit.
/// While Redis fails, limits are counted in this process instead (each instance then allows the full limit) and
/// Redis is tried again after <see cref="RetryAfterFailure"/>; a rate limit never fails a request.
/// </summary>
public sealed partial class RedisRateLimitStore(
    RedisConnection redis, string keyPrefix, MemoryRateLimitStore fallback, TimeProvider clock, ILogger<RedisRateLimitStore> logger) : IRateLimitStore
{
    public const string Name = "redis";
    public static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(5);

    // KEYS[1] the partition; ARGV[1] the emission interval, ARGV[2] the period, both in microseconds.
    // Returns {1, 0} when allowed, {0, microseconds until the next permit} when not.
    private const string Script = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
        local interval = tonumber(ARGV[1])
        local period = tonumber(ARGV[2])
        local tat = tonumber(redis.call('GET', KEYS[1]))
        if tat == nil or tat < now then tat = now end
        local ahead = tat + interval - now
        if ahead > period then return {0, ahead - period} end
        redis.call('SET', KEYS[1], string.format('%.0f', tat + interval), 'PX', math.max(1, math.ceil(ahead / 1000)))
        return {1, 0}
        """;

    private long _retryRedisAt;
    private int _fallingBack;
    private long _fallingBackSince;

    /// <summary>Whether the last attempt to count in Redis failed, so limits are counted per process for now.</summary>
    public bool FallingBack => Volatile.Read(ref _fallingBack) == 1;

    public ValueTask<RateLimitDecision> AcquireAsync(RateLimitRule rule, string partition, CancellationToken cancellationToken = default) =>
        AcquireManyAsync(rule, partition, 1, cancellationToken);

    public async ValueTask<RateLimitDecision> AcquireManyAsync(RateLimitRule rule, string partition, int cost, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cost, 1);
        var now = clock.GetUtcNow();
        if (now.UtcTicks < Volatile.Read(ref _retryRedisAt))
        {
            return fallback.Acquire(rule, partition, cost);
        }
        try
        {
            var connection = await redis.GetAsync().WaitAsync(cancellationToken);
            var result = (RedisResult[])(await connection.GetDatabase().ScriptEvaluateAsync(Script,
                [new RedisKey($"{keyPrefix}ratelimit:{rule.Name}:{partition}")],
                [Microseconds(rule.EmissionInterval) * cost, Microseconds(rule.Period)]))!;
            Recovered();
            return new RateLimitDecision((long)result[0] == 1, TimeSpan.FromMicroseconds((long)result[1]), Name);
        }
        catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            Failed(e, now);
            return fallback.Acquire(rule, partition, cost);
        }
    }

    private static long Microseconds(TimeSpan span) => Math.Max(1, span.Ticks / TimeSpan.TicksPerMicrosecond);

    private void Failed(Exception exception, DateTimeOffset now)
    {
        Volatile.Write(ref _retryRedisAt, (now + RetryAfterFailure).UtcTicks);
        if (Interlocked.Exchange(ref _fallingBack, 1) == 0)
        {
            Volatile.Write(ref _fallingBackSince, now.UtcTicks);
            FallingBackToMemory(logger, exception.GetType().Name, exception.Message);
        }
    }

    private void Recovered()
    {
        if (Interlocked.Exchange(ref _fallingBack, 0) == 1)
        {
            SharedAgain(logger);
        }
    }

    [LoggerMessage(EventId = 1, EventName = "RateLimitsPerProcess", Level = LogLevel.Warning,
        Message = "Rate limits are counted per process until Redis answers again: {ErrorType}: {Error}")]
    private static partial void FallingBackToMemory(ILogger logger, string errorType, string error);

    [LoggerMessage(EventId = 2, EventName = "RateLimitsShared", Level = LogLevel.Information,
        Message = "Rate limits are counted in Redis again, shared by every instance")]
    private static partial void SharedAgain(ILogger logger);

    /// <summary>Degraded while limits are counted per process: each instance then allows a caller the full limit.</summary>
    internal sealed class HealthCheck(RedisRateLimitStore store) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(store.FallingBack
                ? HealthCheckResult.Degraded($"redis unreachable since {new DateTimeOffset(Volatile.Read(ref store._fallingBackSince), TimeSpan.Zero):O}: limits counted per process")
                : HealthCheckResult.Healthy("counted in redis, shared by every instance"));
    }
}
