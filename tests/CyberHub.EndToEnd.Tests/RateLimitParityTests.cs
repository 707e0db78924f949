using System.Net;
using CyberHub.Contracts;
using CyberHub.EndToEnd.Tests.Infrastructure;
using CyberHub.Testing;

namespace CyberHub.EndToEnd.Tests;

/// <summary>Both services with their production rate limits, counted in process memory (no Redis).</summary>
public sealed class MemoryLimitsPlatform : Platform
{
    protected internal override bool ProductionRateLimits => true;
}

/// <summary>Both services with their production rate limits, counted in one shared Redis (as deployed).</summary>
public sealed class RedisLimitsPlatform : Platform
{
    protected override string? RedisConnectionString => TestRedis.ConnectionString;
    protected internal override bool ProductionRateLimits => true;
}

/// <summary>
/// The same limit scenarios, on both services' configurations, anonymous and authenticated, must give the same answers
/// whether limits are counted in memory or in Redis: each service's limit is its own (Core 100, AI 200 a minute) and
/// one service's requests never spend the other's.
/// </summary>
public abstract class RateLimitParityTests(Platform platform)
{
    private const int CoreLimit = 100;
    private const int AiLimit = 200;
    private static readonly TimeSpan CoreInterval = TimeSpan.FromMilliseconds(600);
    private static readonly TimeSpan AiInterval = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task Each_service_holds_its_own_limit_for_anonymous_callers_and_for_users()
    {
        // Registration is one anonymous Core request from this address.
        var learner = await platform.Core.RegisterAsync();
        using var anonymousCore = platform.Core.CreateClient();
        using var anonymousAi = platform.Ai.CreateClient();
        using var learnerAi = platform.AiClient(learner.Access);

        // Anonymous, per address: the AI service's 200 first, then Core still has its own 100 (less the registration).
        var limited = await RateLimits.SendUntilLimitedAsync(_ => anonymousAi.GetAsync("/api/v1/content/?page_size=1"), AiLimit, AiInterval);
        await limited.DetailAsync(HttpStatusCode.TooManyRequests);
        limited = await RateLimits.SendUntilLimitedAsync(_ => anonymousCore.GetAsync("/api/v1/users/me/"), CoreLimit, CoreInterval, alreadyUsed: 1);
        await limited.DetailAsync(HttpStatusCode.TooManyRequests);

        // Per user: Core's 100 spent, the learner still has the AI service's 200, and the other way round.
        limited = await RateLimits.SendUntilLimitedAsync(_ => learner.Client.GetAsync("/api/v1/users/me/"), CoreLimit, CoreInterval);
        await limited.DetailAsync(HttpStatusCode.TooManyRequests);
        limited = await RateLimits.SendUntilLimitedAsync(_ => learnerAi.GetAsync("/api/v1/content/?page_size=1"), AiLimit, AiInterval);
        await limited.DetailAsync(HttpStatusCode.TooManyRequests);
    }
}

public sealed class MemoryRateLimitParityTests(MemoryLimitsPlatform platform) : RateLimitParityTests(platform), IClassFixture<MemoryLimitsPlatform>;

public sealed class RedisRateLimitParityTests(RedisLimitsPlatform platform) : RateLimitParityTests(platform), IClassFixture<RedisLimitsPlatform>;
