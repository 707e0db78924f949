using System.Net;
using CyberHub.Contracts;
using CyberHub.EndToEnd.Tests.Infrastructure;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.EndToEnd.Tests;

/// <summary>Core on PostgreSQL and Redis under both services, with their production rate limits.</summary>
public sealed class RateLimitedPlatform : Platform
{
    private readonly ThrowawayDatabase _core = new("e2e_core");

    protected override string? RedisConnectionString => TestRedis.ConnectionString;
    protected internal override bool ProductionRateLimits => true;

    protected override async Task CreateDatabasesAsync() => CoreConnectionString = await _core.CreateAsync();

    protected override Task DropDatabasesAsync() => _core.DropAsync();
}

/// <summary>Both services with their production rate limits and a Redis that is down.</summary>
public sealed class RateLimitedRedisDownPlatform : Platform
{
    private readonly string _redis = TestRedis.Unreachable;

    protected override string? RedisConnectionString => _redis;
    protected internal override bool ProductionRateLimits => true;
}

public sealed class SharedRateLimitTests(RateLimitedPlatform platform) : IClassFixture<RateLimitedPlatform>
{
    [Fact]
    public async Task Two_core_instances_sharing_redis_hold_one_limit_per_address_and_one_per_user()
    {
        var second = await platform.AddCoreAsync();
        var learner = await platform.Core.RegisterAsync();
        using var first = platform.Core.CreateClient();
        using var other = second.CreateClient();

        // Every request comes from 127.0.0.1: ninety logins between both instances, not ninety on each (the registration was one).
        var limited = await RateLimits.SendUntilLimitedAsync(n => (n % 2 == 0 ? first : other).PostJsonAsync("/api/v1/token/", new { }),
            limit: 90, TimeSpan.FromSeconds(60.0 / 90), alreadyUsed: 1);
        await limited.DetailAsync(HttpStatusCode.TooManyRequests);

        using var viaSecond = second.CreateClient(learner.Access);
        limited = await RateLimits.SendUntilLimitedAsync(n => (n % 2 == 0 ? learner.Client : viaSecond).GetAsync("/api/v1/users/me/"),
            limit: 100, TimeSpan.FromMilliseconds(600));
        await limited.DetailAsync(HttpStatusCode.TooManyRequests);

        var redis = (await platform.Core.Services.GetRequiredService<RedisConnection>().GetAsync()).GetDatabase();
        Assert.True(await redis.KeyExistsAsync($"{platform.CachePrefix}core:ratelimit:auth:ip:127.0.0.1"));
        Assert.True(await redis.KeyExistsAsync($"{platform.CachePrefix}core:ratelimit:general:user:{learner.User.Id}"));

        var health = await (await first.GetAsync("/api/v1/health/")).ReadAsync<HealthResponse>();
        Assert.Equal("healthy", health.Checks["rate_limits"].Status);
        Assert.Contains("redis", health.Checks["rate_limits"].Description, StringComparison.Ordinal);
    }
}

public sealed class RedisDownRateLimitTests(RateLimitedRedisDownPlatform platform) : IClassFixture<RateLimitedRedisDownPlatform>
{
    [Fact]
    public async Task With_redis_down_both_services_keep_serving_and_count_limits_per_process()
    {
        var learner = await platform.Core.RegisterAsync();
        await (await learner.Client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
        using var ai = platform.AiClient(learner.Access);
        await (await ai.GetAsync("/api/v1/content/?page_size=1")).ReadAsync<PagedResponse<ContentItemDto>>();

        using var anonymous = platform.Core.CreateClient();
        var limited = await RateLimits.SendUntilLimitedAsync(_ => anonymous.PostJsonAsync("/api/v1/token/", new { }),
            limit: 90, TimeSpan.FromSeconds(60.0 / 90), alreadyUsed: 1);
        await limited.DetailAsync(HttpStatusCode.TooManyRequests);

        foreach (var service in new LoopbackService[] { platform.Core, platform.Ai })
        {
            using var client = service.CreateClient();
            var health = await (await client.GetAsync("/api/v1/health/")).ReadAsync<HealthResponse>();
            Assert.Equal("degraded", health.Checks["rate_limits"].Status);
            Assert.Contains("counted per process", health.Checks["rate_limits"].Description, StringComparison.Ordinal);
            Assert.Single(service.Logs.Entries, e => e.EventName == "RateLimitsPerProcess");
        }
    }
}
