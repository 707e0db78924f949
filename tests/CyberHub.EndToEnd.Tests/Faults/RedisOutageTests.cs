using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using CyberHub.Contracts;
using CyberHub.EndToEnd.Tests.Infrastructure;
using CyberHub.Testing;
using Xunit.Abstractions;

namespace CyberHub.EndToEnd.Tests.Faults;

/// <summary>The platform (Core, two AI instances) over a Redis of its own, which the test may kill and start again.</summary>
public sealed class PrivateRedisPlatform : Platform
{
    public PrivateRedis Redis { get; private set; } = null!;

    protected override string? RedisConnectionString => Redis.ConnectionString;

    protected override async Task CreateDatabasesAsync() => Redis = await PrivateRedis.StartAsync();

    protected override async Task DropDatabasesAsync()
    {
        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }
    }
}

/// <summary>
/// Redis killed under load and started again: both services keep answering (their caches fall back to process
/// memory, rate limits are counted per process) and report Redis degraded; once it is back they use it again, and an
/// invalidation one AI instance publishes reaches the other.
/// </summary>
public sealed class RedisOutageTests(PrivateRedisPlatform platform, ITestOutputHelper output) : IClassFixture<PrivateRedisPlatform>
{
    private const int Learners = 4;
    private const int OutageSeconds = 5;

    [Fact]
    public async Task Services_keep_answering_while_redis_is_down_and_invalidate_across_instances_once_it_is_back()
    {
        var clock = Stopwatch.StartNew();
        var second = await platform.AddAiAsync();
        var learners = new List<Learner>();
        for (var i = 0; i < Learners; i++)
        {
            learners.Add(await platform.Core.RegisterAsync());
        }
        foreach (var instance in new LoopbackService[] { platform.Core, platform.Ai, second })
        {
            Assert.Equal(("healthy", "healthy"), await RedisHealthAsync(instance));
        }

        // Core's progress reads and writes, and both AI instances' recommendations and search, until told to stop.
        using var http = platform.Core.CreateClient();
        var core = new ProgressLoad(http, [.. learners.Select(l => new LoadLearner(l.User.Id, l.Access))], withReads: true);
        var ai = new ConcurrentQueue<LoadOutcome>();
        using var stop = new CancellationTokenSource();
        var running = core.Start(stop.Token).Concat(learners.Select((l, n) => AskAiAsync(n % 2 == 0 ? platform.Ai : second, l, ai, stop.Token))).ToArray();
        await core.WaitForAsync(20, running);

        await platform.Redis.KillAsync();
        var killedAt = DateTime.UtcNow;
        output.WriteLine($"Redis killed after {clock.Elapsed.TotalSeconds:F1} s");
        foreach (var instance in new LoopbackService[] { platform.Core, platform.Ai, second })
        {
            await Platform.EventuallyAsync(async () => await RedisHealthAsync(instance) is ("degraded", "degraded"),
                $"{instance.BaseAddress} reports Redis degraded", seconds: 20);
        }
        await Task.Delay(killedAt.AddSeconds(OutageSeconds) - DateTime.UtcNow is { Ticks: > 0 } rest ? rest : TimeSpan.Zero);
        var during = (Core: core.Outcomes.Count(o => o.StartedAt > killedAt), Ai: ai.Count(o => o.StartedAt > killedAt));
        output.WriteLine($"while Redis was down: {during.Core} Core and {during.Ai} AI requests");
        Assert.True(during.Core >= 4 * Learners && during.Ai >= 2 * Learners, "the load hardly ran while Redis was down");

        await platform.Redis.StartServerAsync();
        var restartedAt = DateTime.UtcNow;
        foreach (var instance in new LoopbackService[] { platform.Core, platform.Ai, second })
        {
            await Platform.EventuallyAsync(async () => await RedisHealthAsync(instance) is ("healthy", "healthy"),
                $"{instance.BaseAddress} uses Redis again", seconds: 60);
        }
        output.WriteLine($"Redis back in use {(DateTime.UtcNow - restartedAt).TotalSeconds:F1} s after its restart");
        await stop.CancelAsync();
        await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(60));

        var failures = core.Outcomes.Concat(ai).Where(o => !o.Succeeded).ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} requests failed, e.g. {string.Join("; ", failures.Take(5))}");
        output.WriteLine($"{core.Outcomes.Count} Core and {ai.Count} AI requests, all 2xx");

        // Cross-instance invalidation works again: Core delivers the event to the first AI instance, which drops its own
        // copies and publishes the invalidation; the second must stop serving its cached picks (as in ScaleOutTests).
        var learner = await platform.Core.RegisterAsync();
        using var viaSecond = second.CreateClient(learner.Access);
        var url = $"/api/v1/recommendations/{learner.User.Id}";
        var cold = await (await viaSecond.GetAsync(url)).ReadAsync<RecommendationsResponse>();
        Assert.All(cold.Recommendations, r => Assert.Contains("get you started", r.Reason, StringComparison.Ordinal));
        (await learner.Client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest("introduction-to-cryptography", "course", ProgressStatus.Completed, 100, 88, 3600, null))).EnsureSuccessStatusCode();
        await Platform.EventuallyAsync(async () =>
        {
            var picks = await (await viaSecond.GetAsync(url)).ReadAsync<RecommendationsResponse>();
            // Personal now: every pick explained by the one completed course ("Next step after ..." or "Because you completed ...").
            return picks.Recommendations.Count > 0
                && picks.Recommendations.All(r => r.Reason.Contains("'Introduction to Cryptography'", StringComparison.Ordinal));
        }, "the second AI instance drops its cached picks on the first one's invalidation", seconds: 20);
        output.WriteLine($"done after {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>The overall status and the <c>redis</c> check's status of an instance's readiness answer (200 either way).</summary>
    private static async Task<(string Overall, string Redis)> RedisHealthAsync(LoopbackService instance)
    {
        using var client = instance.CreateClient();
        using var response = await client.GetAsync("/api/v1/health/");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"readiness answered {(int)response.StatusCode}: {body}");
        var health = JsonSerializer.Deserialize<HealthResponse>(body, CyberHubJson.Options)!;
        return (health.Status, health.Checks["redis"].Status);
    }

    private static async Task AskAiAsync(LoopbackService ai, Learner learner, ConcurrentQueue<LoadOutcome> outcomes, CancellationToken stop)
    {
        using var client = ai.CreateClient(learner.Access);
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var (name, send) = (n % 3) switch
            {
                0 => ("POST /content/search", (Func<Task<HttpResponseMessage>>)(() =>
                    client.PostJsonAsync("/api/v1/content/search", new ContentSearchRequest($"network defence topic {n % 7}", null, 5)))),
                1 => ("GET /recommendations/", () => client.GetAsync($"/api/v1/recommendations/{learner.User.Id}?limit=5")),
                _ => ("POST /personality/analyze", () => client.PostJsonAsync("/api/v1/personality/analyze", new PersonalityRequest(learner.User.Id, null))),
            };
            var started = DateTime.UtcNow;
            var clock = Stopwatch.StartNew();
            try
            {
                using var response = await send();
                outcomes.Enqueue(new LoadOutcome(name, started, clock.Elapsed, (int)response.StatusCode, await response.Content.ReadAsStringAsync(), null, null));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                outcomes.Enqueue(new LoadOutcome(name, started, clock.Elapsed, 0, "", null, e.Message));
            }
            await Task.Delay(20, CancellationToken.None);
        }
    }
}
