using BenchmarkDotNet.Attributes;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.ServiceDefaults.RateLimiting;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace CyberHub.Bench.Micro;

/// <summary>
/// What a rate limit decision adds to each limited request: the GCRA in process memory, and the same decision counted
/// in Redis (one Lua script per request, so limits hold across instances). The baseline is the bare Redis round trip
/// (PING) on the same connection: the floor of any decision Redis takes. One decision per invocation, for 1,000
/// learners in turn under the production rule (100 a minute) — never refused here, since each learner comes round
/// only once every 1,000 decisions. Redis is the one scripts/test-services.sh starts (CYBERHUB_BENCH_REDIS, default
/// 127.0.0.1:56379), on loopback.
/// </summary>
public class RateLimitBenchmarks
{
    private const int Learners = 1_000;
    private static readonly RateLimitRule Rule = RateLimitRule.PerMinute("bench-user", 100);
    private readonly string[] _partitions = [.. Enumerable.Range(0, Learners).Select(i => $"user:{i}")];
    private RedisConnection _redis = null!;
    private IDatabase _database = null!;
    private MemoryRateLimitStore _memory = null!;
    private RedisRateLimitStore _redisStore = null!;
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var redis = Environment.GetEnvironmentVariable("CYBERHUB_BENCH_REDIS") is { Length: > 0 } r ? r : "127.0.0.1:56379";
        _redis = new RedisConnection(redis);
        _database = (await _redis.GetAsync()).GetDatabase();
        _memory = new MemoryRateLimitStore(TimeProvider.System);
        _redisStore = new RedisRateLimitStore(_redis, $"bench-{Guid.NewGuid():N}:", new MemoryRateLimitStore(TimeProvider.System),
            TimeProvider.System, NullLogger<RedisRateLimitStore>.Instance);
        var first = await _redisStore.AcquireAsync(Rule, "warm-up");
        if (first.Store != RedisRateLimitStore.Name)
        {
            throw new InvalidOperationException($"Redis at {redis} did not take the decision (it fell back to {first.Store}).");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await _redis.DisposeAsync();

    [Benchmark(Baseline = true, Description = "Redis PING (round trip)")]
    public async Task<TimeSpan> Ping() => await _database.PingAsync();

    [Benchmark(Description = "decision in process memory")]
    public async Task<bool> Memory() => (await _memory.AcquireAsync(Rule, Next())).Allowed;

    [Benchmark(Description = "decision in Redis (Lua GCRA)")]
    public async Task<bool> Redis() => (await _redisStore.AcquireAsync(Rule, Next())).Allowed;

    private string Next() => _partitions[_next++ % Learners];
}
