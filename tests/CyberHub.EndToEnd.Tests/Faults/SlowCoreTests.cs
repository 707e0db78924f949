using System.Diagnostics;
using System.Net;
using CyberHub.Contracts;
using CyberHub.EndToEnd.Tests.Infrastructure;
using CyberHub.Testing;
using Xunit.Abstractions;

namespace CyberHub.EndToEnd.Tests.Faults;

/// <summary>
/// Core slow to answer AI (a delaying proxy between them adds 6 s to every progress read): AI's resilience pipeline
/// gives each attempt 4 s and the whole read 10 s, so a recommendation that needs Core is a 503 <c>{"detail"}</c>
/// within those bounds, never a hang; after enough failures the circuit breaker opens and requests are refused at
/// once without calling Core; cached recommendations are served throughout; and all is well again once Core is fast.
/// </summary>
public sealed class SlowCoreTests(ITestOutputHelper output)
{
    private static readonly TimeSpan CoreDelay = TimeSpan.FromSeconds(6);
    // The pipeline's total timeout is 10 s; the rest is room for a busy machine, not a measure of speed.
    private static readonly TimeSpan TotalBound = TimeSpan.FromSeconds(15);
    // Refused by an open breaker: no attempt, no timeout; far below the 4 s an attempt may take.
    private static readonly TimeSpan FailFastBound = TimeSpan.FromSeconds(2);
    // Served from the cache: no waiting for Core, whose every attempt may take 4 s.
    private static readonly TimeSpan CachedBound = TimeSpan.FromSeconds(4);
    // The breaker needs 100 calls in its 10 s sampling window before it judges; each of these requests makes two or
    // three (for different learners, so that no two share one cache computation).
    private const int Burst = 60;

    [Fact]
    public async Task Recommendations_answer_503_within_the_timeouts_then_fail_fast_on_the_open_breaker_and_serve_what_is_cached()
    {
        var clock = Stopwatch.StartNew();
        var directory = Path.Combine(Path.GetTempPath(), "cyberhub-faults", $"slow-{Guid.NewGuid():N}"[..17]);
        var core = new ConfiguredCoreServer(null, Path.Combine(directory, "core"), new Dictionary<string, string?>());
        await core.InitializeAsync();
        await using var proxy = new DelayingProxy(core.BaseAddress, "/api/v1/progress");
        await proxy.StartAsync();
        var ai = new InProcessAi(new Dictionary<string, string?>
        {
            ["CYBERHUB_DATA_DIR"] = Path.Combine(directory, "ai"),
            ["CYBERHUB_AI_URL"] = "http://127.0.0.1:0",
            ["CYBERHUB_CORE_API_URL"] = proxy.BaseAddress.ToString(),
            ["CYBERHUB_SEED_DEMO_CATALOG"] = "false",
        });
        try
        {
            await ai.StartAsync();
            using var admin = await core.AdminClientAsync();
            using var asAdmin = ai.CreateClient(admin.DefaultRequestHeaders.Authorization!.Parameter);
            foreach (var (id, title) in new[] { ("tls-handshake", "How a TLS 1.3 handshake agrees on keys"), ("phishing-basics", "Recognising phishing emails") })
            {
                (await asAdmin.PostJsonAsync("/api/v1/embeddings/store", new StoreEmbeddingsRequest([title], "lesson", id, title, title, null))).EnsureSuccessStatusCode();
            }
            var regular = await core.RegisterAsync();
            var newcomer = await core.RegisterAsync();
            using var asRegular = ai.CreateClient(regular.Access);
            using var asNewcomer = ai.CreateClient(newcomer.Access);
            var cached = await (await asRegular.GetAsync($"/api/v1/recommendations/{regular.User.Id}")).ReadAsync<RecommendationsResponse>();
            Assert.NotEmpty(cached.Recommendations);
            output.WriteLine($"ready in {clock.Elapsed.TotalSeconds:F1} s");

            proxy.Delay = CoreDelay;

            // One request that needs Core: three attempts of at most 4 s each within the 10 s total, then a 503.
            var (elapsed, calls) = await TimedAsync(proxy, async () =>
            {
                var detail = await (await asNewcomer.GetAsync($"/api/v1/recommendations/{newcomer.User.Id}")).DetailAsync(HttpStatusCode.ServiceUnavailable);
                // Core's client says so when it can; the total timeout surfaces as the generic dependency outage.
                Assert.Matches("Core service is unavailable|did not answer in time", detail);
            });
            output.WriteLine($"slow Core: 503 after {elapsed.TotalSeconds:F1} s and {calls} attempts");
            Assert.InRange(calls, 2, 3);
            Assert.True(elapsed < TotalBound, $"the answer took {elapsed.TotalSeconds:F1} s");
            // Attempts end at their 4 s timeout, not earlier: the pipeline waited for Core, as long as it should.
            Assert.True(elapsed > TimeSpan.FromSeconds(8), $"the answer came after only {elapsed.TotalSeconds:F1} s");

            await ServesCachedAsync(proxy, asRegular, regular, cached);

            // Enough failing calls to open the breaker; each still answers within the bounds.
            var burst = await Task.WhenAll(Enumerable.Range(1, Burst).Select(async i =>
            {
                var started = Stopwatch.StartNew();
                using var response = await asAdmin.GetAsync($"/api/v1/recommendations/{1_000_000 + i}");
                await response.DetailAsync(HttpStatusCode.ServiceUnavailable);
                return started.Elapsed;
            }));
            output.WriteLine($"burst of {Burst}: all 503, the slowest after {burst.Max().TotalSeconds:F1} s");
            Assert.All(burst, e => Assert.True(e < TotalBound, $"a burst request took {e.TotalSeconds:F1} s"));

            // Open: refused without calling Core. Should the breaker's 5 s have passed already (a busy machine), its
            // half-open probe fails on the slow Core and opens it again, and the next request is refused.
            for (var attempt = 1; ; attempt++)
            {
                (elapsed, calls) = await TimedAsync(proxy, async () =>
                    await (await asNewcomer.GetAsync($"/api/v1/recommendations/{newcomer.User.Id}")).DetailAsync(HttpStatusCode.ServiceUnavailable));
                output.WriteLine($"after the burst: 503 after {elapsed.TotalSeconds:F1} s, {calls} calls to Core");
                if (calls == 0)
                {
                    Assert.True(elapsed < FailFastBound, $"the open breaker took {elapsed.TotalSeconds:F1} s to refuse");
                    break;
                }
                Assert.True(attempt < 3, "the circuit breaker never refused a request without calling Core");
            }
            await ServesCachedAsync(proxy, asRegular, regular, cached);

            // Core fast again: once the breaker lets a probe through, requests succeed.
            proxy.Delay = null;
            await Platform.EventuallyAsync(async () => (await asNewcomer.GetAsync($"/api/v1/recommendations/{newcomer.User.Id}")).StatusCode == HttpStatusCode.OK,
                "recommendations are computed again once Core answers promptly", seconds: 30);
            output.WriteLine($"recovered after {clock.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            await ai.StopAsync();
            await core.DisposeAsync();
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    /// <summary>The learner's cached picks come back promptly, without a call to Core.</summary>
    private static async Task ServesCachedAsync(DelayingProxy proxy, HttpClient client, Learner learner, RecommendationsResponse cached)
    {
        var (elapsed, calls) = await TimedAsync(proxy, async () =>
        {
            var served = await (await client.GetAsync($"/api/v1/recommendations/{learner.User.Id}")).ReadAsync<RecommendationsResponse>();
            Assert.Equal(cached.Recommendations, served.Recommendations);
        });
        Assert.Equal(0, calls);
        Assert.True(elapsed < CachedBound, $"cached recommendations took {elapsed.TotalSeconds:F1} s");
    }

    private static async Task<(TimeSpan Elapsed, int Calls)> TimedAsync(DelayingProxy proxy, Func<Task> request)
    {
        var before = proxy.DelayedPathRequests;
        var clock = Stopwatch.StartNew();
        await request();
        var elapsed = clock.Elapsed;
        return (elapsed, proxy.DelayedPathRequests - before);
    }
}
