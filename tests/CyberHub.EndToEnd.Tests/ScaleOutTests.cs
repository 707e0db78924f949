using System.Net;
using CyberHub.Ai.Recommendations;
using CyberHub.Contracts;
using CyberHub.EndToEnd.Tests.Infrastructure;
using CyberHub.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.EndToEnd.Tests;

/// <summary>Several instances of each service over one PostgreSQL and one Redis.</summary>
public sealed class ScaleOutTests(PostgresPlatform platform) : IClassFixture<PostgresPlatform>
{
    [Fact]
    public async Task An_event_received_by_one_ai_instance_drops_the_cache_of_every_instance()
    {
        var second = await platform.AddAiAsync();
        var learner = await platform.Core.RegisterAsync();
        using var viaSecond = second.CreateClient(learner.Access);
        var url = $"/api/v1/recommendations/{learner.User.Id}";

        var cold = await (await viaSecond.GetAsync(url)).ReadAsync<RecommendationsResponse>();
        Assert.All(cold.Recommendations, r => Assert.Contains("get you started", r.Reason, StringComparison.Ordinal));

        // Core delivers to the first AI instance only; the second must still stop serving its cached copy.
        (await learner.Client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest("introduction-to-cryptography", "course", ProgressStatus.Completed, 100, 88, 3600, null))).EnsureSuccessStatusCode();
        await Platform.EventuallyAsync(async () =>
        {
            var picks = await (await viaSecond.GetAsync(url)).ReadAsync<RecommendationsResponse>();
            // Personal now: every pick explained by the one completed course ("Next step after ..." or "Because you completed ...").
            return picks.Recommendations.Count > 0
                && picks.Recommendations.All(r => r.Reason.Contains("'Introduction to Cryptography'", StringComparison.Ordinal));
        }, "the second AI instance serves fresh recommendations", seconds: 15);
    }

    [Fact]
    public async Task Two_core_instances_share_one_outbox_and_deliver_every_event_once_in_order()
    {
        var secondCore = await platform.AddCoreAsync();
        var learners = new List<Learner>();
        for (var i = 0; i < 6; i++)
        {
            learners.Add(await platform.Core.RegisterAsync());
        }
        string[] lessons = ["owasp-top-10-explained", "sql-injection-and-parameterized-queries", "cross-site-scripting-and-content-security-policy", "csrf-samesite-cookies-and-session-security"];

        // Each learner writes through both instances, concurrently with the others.
        await Task.WhenAll(learners.Select(async (learner, n) =>
        {
            using var other = secondCore.CreateClient(learner.Access);
            foreach (var (lesson, i) in lessons.Select((l, i) => (l, i)))
            {
                var client = (n + i) % 2 == 0 ? learner.Client : other;
                var created = await (await client.PostJsonAsync("/api/v1/progress/",
                    new CreateProgressRequest(lesson, "lesson", ProgressStatus.InProgress, 50, null, 300, null))).ReadAsync<ProgressDto>(HttpStatusCode.Created);
                (await (client == other ? learner.Client : other).PatchJsonAsync($"/api/v1/progress/{created.Id}/",
                    new UpdateProgressRequest(ProgressStatus.Completed, 100, 90, null, null))).EnsureSuccessStatusCode();
            }
        }));

        var store = platform.Ai.Services.GetRequiredService<ILearnerProfileStore>();
        foreach (var learner in learners)
        {
            await Platform.EventuallyAsync(async () =>
            {
                var profile = await store.GetAsync(learner.User.Id);
                return profile is not null && profile.Completions.Count == lessons.Length && profile.Completions.All(c => c.Status == ProgressStatus.Completed);
            }, $"learner {learner.User.Id}'s eight events are applied");
        }
    }
}

/// <summary>What AI does while Core is down: cached answers still served, the rest a clear 503.</summary>
public sealed class CoreOutageTests(SingleInvalidationPlatform platform) : IClassFixture<SingleInvalidationPlatform>
{
    [Fact]
    public async Task Ai_serves_what_it_has_cached_answers_503_for_the_rest_and_analyses_given_progress()
    {
        var learner = await platform.Core.RegisterAsync();
        var newcomer = await platform.Core.RegisterAsync();
        (await learner.Client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest("introduction-to-network-security", "course", ProgressStatus.Completed, 100, 75, 5400, null))).EnsureSuccessStatusCode();
        // Once the event has been applied nothing will drop what the next request caches.
        var profiles = platform.Ai.Services.GetRequiredService<ILearnerProfileStore>();
        await Platform.EventuallyAsync(async () => (await profiles.GetAsync(learner.User.Id))?.Completions.Count == 1, "the progress event is applied");
        using var ai = platform.AiClient(learner.Access);
        var url = $"/api/v1/recommendations/{learner.User.Id}";
        var cached = await (await ai.GetAsync(url)).ReadAsync<RecommendationsResponse>();

        await platform.Core.StopAsync();
        try
        {
            // Cached picks, and new picks computed from the progress AI read from Core minutes ago.
            Assert.Equal(cached.Recommendations, (await (await ai.GetAsync(url)).ReadAsync<RecommendationsResponse>()).Recommendations);
            var labs = await (await ai.GetAsync(url + "?content_type=lab")).ReadAsync<RecommendationsResponse>();
            Assert.All(labs.Recommendations, r => Assert.Equal("lab", r.ContentType));

            // Nothing known about the newcomer: their progress cannot be read, so a clear 503.
            using var asNewcomer = platform.AiClient(newcomer.Access);
            var detail = await (await asNewcomer.GetAsync($"/api/v1/recommendations/{newcomer.User.Id}")).DetailAsync(HttpStatusCode.ServiceUnavailable);
            Assert.Contains("Core service is unavailable", detail, StringComparison.Ordinal);
            await (await asNewcomer.PostJsonAsync("/api/v1/personality/analyze", new PersonalityRequest(newcomer.User.Id, null))).DetailAsync(HttpStatusCode.ServiceUnavailable);

            var given = new ProgressDataRecord(null, newcomer.User.Id, "introduction-to-network-security", "course", ProgressStatus.Completed,
                100, 75, 5400, null, DateTime.UtcNow.AddHours(-2), DateTime.UtcNow, null, DateTime.UtcNow, null);
            var analysis = await (await asNewcomer.PostJsonAsync("/api/v1/personality/analyze", new PersonalityRequest(newcomer.User.Id, [given]))).ReadAsync<PersonalityAnalysis>();
            Assert.Equal(1, analysis.RecordsAnalyzed);
        }
        finally
        {
            await platform.Core.RestartAsync();
        }
        // Back in service as soon as Core is (the client's circuit breaker may need its few seconds).
        using var again = platform.AiClient(newcomer.Access);
        await Platform.EventuallyAsync(async () => (await again.GetAsync($"/api/v1/recommendations/{newcomer.User.Id}")).StatusCode == HttpStatusCode.OK,
            "recommendations are computed again once Core is back", seconds: 15);
    }
}
