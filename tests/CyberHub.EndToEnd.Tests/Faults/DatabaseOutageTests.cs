using System.Diagnostics;
using System.Net;
using System.Text.Json;
using CyberHub.Ai.Recommendations;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.EndToEnd.Tests.Infrastructure;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit.Abstractions;

namespace CyberHub.EndToEnd.Tests.Faults;

/// <summary>
/// PostgreSQL (a private server: Core's database and AI's vector store) stopped and started again under a load of
/// progress reads and writes. While it is down every failed request is a prompt 503 <c>{"detail"}</c> with
/// <c>Retry-After</c>, never a 500 or a hang, and readiness says unhealthy; once it is back both services serve again
/// without being restarted, nothing acknowledged is lost, and the outbox delivers what waited.
/// </summary>
public sealed class DatabaseOutageTests(ITestOutputHelper output)
{
    private const int Learners = 6;
    private const int OutageSeconds = 4;
    // No request may take longer than this, outage or not: well above the slowest honest answer on a busy machine.
    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_postgresql_restart_mid_load_is_answered_503_and_both_services_recover_without_a_restart()
    {
        var clock = Stopwatch.StartNew();
        await using var postgres = await PrivatePostgres.StartAsync();
        var corePort = LoopbackPorts.Free();
        var aiPort = LoopbackPorts.Free();
        var directory = Path.Combine(Path.GetTempPath(), "cyberhub-faults", $"outage-{Guid.NewGuid():N}"[..19]);
        var core = new ConfiguredCoreServer(await postgres.CreateDatabaseAsync("outage_core"), Path.Combine(directory, "core"), new Dictionary<string, string?>
        {
            ["CYBERHUB_CORE_URL"] = $"http://127.0.0.1:{corePort}",
            ["CYBERHUB_AI_API_URL"] = $"http://127.0.0.1:{aiPort}",
            ["Outbox:Enabled"] = "true",
            ["Outbox:PollInterval"] = "00:00:00.200",
            ["Outbox:MinBackoff"] = "00:00:00.200",
            ["Outbox:MaxBackoff"] = "00:00:01",
            // Events claimed when the database went away stay claimed for the lease (30 s by default) before they go out.
            ["Outbox:LeaseDuration"] = "00:00:04",
        });
        var ai = new InProcessAi(new Dictionary<string, string?>
        {
            ["CYBERHUB_DATA_DIR"] = Path.Combine(directory, "ai"),
            ["CYBERHUB_AI_URL"] = $"http://127.0.0.1:{aiPort}",
            ["CYBERHUB_CORE_API_URL"] = $"http://127.0.0.1:{corePort}",
            ["ConnectionStrings:vectors"] = await postgres.CreateDatabaseAsync("outage_vectors"),
            ["CYBERHUB_SEED_DEMO_CATALOG"] = "false",
        });
        try
        {
            await core.InitializeAsync();
            await ai.StartAsync();
            using var anonymous = core.CreateClient();
            var learners = await Task.WhenAll(Enumerable.Range(0, Learners).Select(n => LoadLearner.RegisterAsync(anonymous, $"outage{n}x")));
            using var search = ai.CreateClient(learners[0].Access);
            await StoreCatalogAsync(core, ai);
            await SearchAsync(search, HttpStatusCode.OK);
            output.WriteLine($"services ready in {clock.Elapsed.TotalSeconds:F1} s");

            using var http = core.CreateClient();
            http.Timeout = AnswerBound + TimeSpan.FromSeconds(10);
            var load = new ProgressLoad(http, learners, withReads: true);
            using var stop = new CancellationTokenSource();
            var writers = load.Start(stop.Token);
            await load.WaitForAsync(60, writers);

            var stoppedAt = DateTime.UtcNow;
            await postgres.StopAsync();
            output.WriteLine($"PostgreSQL stopped after {clock.Elapsed.TotalSeconds:F1} s, {load.AcknowledgedCount} writes acknowledged");
            // Readiness of both services says so; AI's search is a 503 as well.
            await Platform.EventuallyAsync(async () => await HealthAsync(core.CreateClient()) is (HttpStatusCode.ServiceUnavailable, "unhealthy"),
                "Core's readiness reports the database down", seconds: 15);
            await Platform.EventuallyAsync(async () => await HealthAsync(ai.CreateClient()) is (HttpStatusCode.ServiceUnavailable, "unhealthy"),
                "AI's readiness reports the vector store down", seconds: 15);
            await SearchAsync(search, HttpStatusCode.ServiceUnavailable);
            await Platform.EventuallyAsync(() => Task.FromResult(load.Outcomes.Count(o => o.StartedAt > stoppedAt && !o.Succeeded) >= 2 * Learners),
                "the load meets the outage", seconds: 15);
            // A few seconds down: long enough for every learner's requests, and the outbox, to meet it repeatedly.
            await Task.Delay(stoppedAt.AddSeconds(OutageSeconds) - DateTime.UtcNow is { Ticks: > 0 } rest ? rest : TimeSpan.Zero);

            await postgres.StartServerAsync();
            var startedAt = DateTime.UtcNow;
            output.WriteLine($"PostgreSQL started again after {clock.Elapsed.TotalSeconds:F1} s");
            // Every learner's requests succeed again, on the same service instances.
            await Platform.EventuallyAsync(() => Task.FromResult(learners.All(l => load.Outcomes.Any(o => o.StartedAt > startedAt && o.Succeeded))),
                "requests succeed again", seconds: 60);
            var recoveredAt = DateTime.UtcNow;
            await Platform.EventuallyAsync(() => Task.FromResult(load.Outcomes.Count(o => o.StartedAt > recoveredAt) >= 10 * Learners),
                "the load runs on after the recovery", seconds: 60);
            await stop.CancelAsync();
            await Task.WhenAll(writers).WaitAsync(AnswerBound + TimeSpan.FromSeconds(15));
            output.WriteLine($"recovered {(recoveredAt - startedAt).TotalSeconds:F1} s after the restart; load stopped after {clock.Elapsed.TotalSeconds:F1} s");

            CheckOutcomes(load.Outcomes, stoppedAt, recoveredAt);
            Assert.Equal((HttpStatusCode.OK, "healthy"), await HealthAsync(core.CreateClient()));
            await Platform.EventuallyAsync(async () => await HealthAsync(ai.CreateClient()) is (HttpStatusCode.OK, "healthy"),
                "AI's readiness is healthy again", seconds: 30);
            await Platform.EventuallyAsync(async () => (await search.PostJsonAsync("/api/v1/content/search",
                new ContentSearchRequest("stopping SQL injection", null, 3))).StatusCode == HttpStatusCode.OK, "AI's search works again", seconds: 30);
            await SearchAsync(search, HttpStatusCode.OK);
            output.WriteLine($"both services healthy after {clock.Elapsed.TotalSeconds:F1} s");

            // Nothing acknowledged is lost, and AI hears of every record that committed, through the outbox.
            var profiles = ai.Services.GetRequiredService<ILearnerProfileStore>();
            foreach (var learner in learners)
            {
                using var client = core.CreateClient(learner.Access);
                var stored = await (await client.GetAsync("/api/v1/progress/?page_size=100")).ReadAsync<PagedResponse<ProgressDto>>();
                Assert.Null(stored.Next);
                load.CheckStored(learner, stored.Results);
                // AI has applied the learner's events up to the last one Core committed (and holds no completion: the load completes nothing).
                long last;
                await using (var scope = core.Services.CreateAsyncScope())
                {
                    last = await scope.ServiceProvider.GetRequiredService<CoreDbContext>().OutboxEvents.Where(e => e.UserId == learner.UserId).MaxAsync(e => e.Id);
                }
                await Platform.EventuallyAsync(async () => await ProfileAsync(profiles, learner.UserId) is { Completions.Count: 0 } profile && profile.LastSequence == last,
                    $"AI has applied learner {learner.UserId}'s events up to sequence {last}", seconds: 60);
            }
            output.WriteLine($"{load.Outcomes.Count} requests, {load.Outcomes.Count(o => !o.Succeeded)} answered 503; checked after {clock.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            await ai.StopAsync();
            await ((IAsyncDisposable)core).DisposeAsync();
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    /// <summary>
    /// Every answer came within the bound; every failure is a 503 <c>{"detail"}</c> with Retry-After, none before the
    /// outage, and the load ends in success. (A pooled connection the restart broke fails its next use, so a few 503s
    /// may come just after the recovery.)
    /// </summary>
    private void CheckOutcomes(IReadOnlyList<LoadOutcome> outcomes, DateTime stoppedAt, DateTime recoveredAt)
    {
        var failures = outcomes.Where(o => !o.Succeeded).ToList();
        output.WriteLine($"failures by status: {string.Join(", ", failures.GroupBy(f => f.Status).Select(g => $"{g.Key}×{g.Count()}"))}, " +
            $"{failures.Count(f => f.StartedAt > recoveredAt)} after the recovery");
        Assert.All(outcomes, o => Assert.True(o.Elapsed < AnswerBound, $"no answer within {AnswerBound.TotalSeconds} s: {o}"));
        Assert.NotEmpty(failures);
        Assert.All(failures, f =>
        {
            Assert.True(f.Status == 503, $"a failure that is not a 503: {f}");
            using var body = JsonDocument.Parse(f.Body);
            Assert.Contains("unavailable", body.RootElement.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
            Assert.True(f.RetryAfter is { Length: > 0 }, $"a 503 without Retry-After: {f}");
            Assert.True(f.StartedAt + f.Elapsed > stoppedAt, $"a failure before the outage: {f}");
        });
        Assert.All(outcomes.OrderBy(o => o.StartedAt).TakeLast(4 * Learners), o => Assert.True(o.Succeeded, $"a failure at the end of the load: {o}"));
    }

    /// <summary>AI's stored profile of the learner; null while the store's pooled connections still meet the restart.</summary>
    private static async Task<LearnerProfile?> ProfileAsync(ILearnerProfileStore profiles, long userId)
    {
        try
        {
            return await profiles.GetAsync(userId);
        }
        catch (NpgsqlException e) when (e.IsTransient)
        {
            return null;
        }
    }

    private static async Task<(HttpStatusCode Status, string State)> HealthAsync(HttpClient client)
    {
        using (client)
        {
            using var response = await client.GetAsync("/api/v1/health/");
            var health = JsonSerializer.Deserialize<HealthResponse>(await response.Content.ReadAsStringAsync(), CyberHubJson.Options)!;
            return (response.StatusCode, health.Status);
        }
    }

    private static async Task SearchAsync(HttpClient ai, HttpStatusCode expected)
    {
        using var response = await ai.PostJsonAsync("/api/v1/content/search", new ContentSearchRequest("stopping SQL injection", null, 3));
        if (expected == HttpStatusCode.OK)
        {
            var found = await response.ReadAsync<ContentSearchResponse>();
            Assert.Equal("sql-injection-lab", found.Results[0].ContentId);
            return;
        }
        var detail = await response.DetailAsync(expected);
        Assert.Contains("unavailable", detail, StringComparison.OrdinalIgnoreCase);
        Assert.NotNull(response.Headers.RetryAfter);
    }

    private static async Task StoreCatalogAsync(ConfiguredCoreServer core, InProcessAi ai)
    {
        using var admin = await core.AdminClientAsync();
        using var client = ai.CreateClient(admin.DefaultRequestHeaders.Authorization!.Parameter);
        (string Id, string Type, string Title)[] items =
        [
            ("sql-injection-lab", "lab", "Finding and fixing SQL injection with parameterized queries"),
            ("tls-handshake", "lesson", "How a TLS 1.3 handshake agrees on keys"),
            ("phishing-basics", "course", "Recognising phishing emails and reporting them"),
        ];
        foreach (var (id, type, title) in items)
        {
            (await client.PostJsonAsync("/api/v1/embeddings/store", new StoreEmbeddingsRequest([title], type, id, title, title, null))).EnsureSuccessStatusCode();
        }
    }
}
