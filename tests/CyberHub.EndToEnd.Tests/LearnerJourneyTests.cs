using System.Net;
using System.Text.Json.Nodes;
using CyberHub.Ai.Recommendations;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using Microsoft.EntityFrameworkCore;
using CyberHub.EndToEnd.Tests.Infrastructure;
using CyberHub.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.EndToEnd.Tests;

/// <summary>
/// The seed's flows end to end: a catalog is stored (flow 5), a learner progresses (flow 3), recommendations
/// follow through the outbox → sync → cache invalidation path (flow 4) and the analysis reflects it (flow 6).
/// </summary>
public abstract class LearnerJourneyTests<TPlatform>(TPlatform platform) where TPlatform : Platform
{
    private static readonly (string Id, string Type, string Title, string Text)[] KubernetesTrack =
    [
        ("k8s-rbac-and-service-accounts", "lesson", "Kubernetes RBAC and Service Accounts",
            "Kubernetes role-based access control: Roles, ClusterRoles and bindings, least-privilege service accounts for pods, and auditing who can exec into containers or read secrets in a cluster."),
        ("k8s-pod-security-and-admission", "lesson", "Pod Security Standards and Admission Control",
            "Hardening Kubernetes workloads with the restricted pod security standard, admission controllers and policy engines that reject privileged containers, host mounts and root users."),
        ("k8s-network-policies", "lesson", "Kubernetes Network Policies",
            "Segmenting Kubernetes cluster traffic with network policies: default-deny ingress and egress, namespace isolation and allowing only the pod-to-pod flows a service needs."),
        ("k8s-cluster-attack-lab", "lab", "Attacking and Hardening a Kubernetes Cluster",
            "A hands-on lab: escape a misconfigured Kubernetes pod, abuse an over-privileged service account token to read cluster secrets, then close each hole with RBAC, pod security and network policies."),
    ];

    private async Task StoreTrackAsync()
    {
        using var admin = await platform.AdminAiClientAsync();
        foreach (var (id, type, title, text) in KubernetesTrack)
        {
            (await admin.PostJsonAsync("/api/v1/embeddings/store", new StoreEmbeddingsRequest([text], type, id, title, text,
                new JsonObject { ["topic"] = "kubernetes-security", ["level"] = "intermediate", ["duration_minutes"] = 40 }))).EnsureSuccessStatusCode();
        }
    }

    private async Task<RecommendationsResponse> RecommendAsync(Learner learner) =>
        await (await platform.AiClient(learner.Access).GetAsync($"/api/v1/recommendations/{learner.User.Id}")).ReadAsync<RecommendationsResponse>();

    private static Task<ProgressDto> CompleteAsync(Learner learner, string id, string type, double score) =>
        learner.Client.PostJsonAsync("/api/v1/progress/", new CreateProgressRequest(id, type, ProgressStatus.Completed, 100, score, 1800, null))
            .ContinueWith(t => t.Result.ReadAsync<ProgressDto>(HttpStatusCode.Created)).Unwrap();

    [Fact]
    public async Task Completing_lessons_changes_recommendations_which_explain_themselves_and_the_analysis_follows()
    {
        await StoreTrackAsync();
        var learner = await platform.Core.RegisterAsync();

        var first = await RecommendAsync(learner);
        Assert.All(first.Recommendations, r => Assert.Contains("get you started", r.Reason, StringComparison.Ordinal));

        await CompleteAsync(learner, "k8s-rbac-and-service-accounts", "lesson", 92);
        await CompleteAsync(learner, "k8s-pod-security-and-admission", "lesson", 85);

        // The first answer is cached for an hour; only Core's progress events, delivered through the outbox,
        // can make the next request see the completions.
        await ProfileHoldsAsync(learner, "k8s-pod-security-and-admission", "k8s-rbac-and-service-accounts");
        var after = await RecommendAsync(learner);

        Assert.DoesNotContain(after.Recommendations, r => r.ContentId is "k8s-rbac-and-service-accounts" or "k8s-pod-security-and-admission");
        Assert.All(after.Recommendations, r => Assert.True(
            r.Reason is "Because you completed 'Kubernetes RBAC and Service Accounts'" or "Because you completed 'Pod Security Standards and Admission Control'",
            r.Reason));
        var top = after.Recommendations.Take(3).Select(r => r.ContentId).ToList();
        Assert.Contains("k8s-network-policies", top);
        Assert.Contains("k8s-cluster-attack-lab", top);

        using var ai = platform.AiClient(learner.Access);
        var analysis = await (await ai.PostJsonAsync("/api/v1/personality/analyze", new PersonalityRequest(learner.User.Id, null))).ReadAsync<PersonalityAnalysis>();
        Assert.Equal(2, analysis.RecordsAnalyzed);
        Assert.Contains(analysis.Traits, t => t.Name == "Persistence");
        Assert.Equivalent(analysis, await (await ai.GetAsync($"/api/v1/personality/{learner.User.Id}")).ReadAsync<PersonalityAnalysis>(), strict: true);

        // A further completion drops the stored analysis; the next one counts three records.
        await CompleteAsync(learner, "k8s-cluster-attack-lab", "lab", 97);
        await Platform.EventuallyAsync(async () => (await ai.GetAsync($"/api/v1/personality/{learner.User.Id}")).StatusCode == HttpStatusCode.NotFound,
            "the progress event drops the cached analysis");
        var again = await (await ai.PostJsonAsync("/api/v1/personality/analyze", new PersonalityRequest(learner.User.Id, null))).ReadAsync<PersonalityAnalysis>();
        Assert.Equal(3, again.RecordsAnalyzed);
    }

    [Fact]
    public async Task Progress_written_while_ai_is_down_reaches_it_when_it_returns()
    {
        var learner = await platform.Core.RegisterAsync();
        await platform.Ai.StopAsync();
        try
        {
            // Core does not depend on AI being up: every write is acknowledged.
            await CompleteAsync(learner, "owasp-top-10-explained", "lesson", 80);
            await CompleteAsync(learner, "sql-injection-and-parameterized-queries", "lesson", 90);
            var progress = await learner.Client.PostJsonAsync("/api/v1/progress/",
                new CreateProgressRequest("exploit-and-fix-sql-injection-login", "lab", ProgressStatus.InProgress, 30, null, 600, null));
            var lab = await progress.ReadAsync<ProgressDto>(HttpStatusCode.Created);
            (await learner.Client.DeleteAsync($"/api/v1/progress/{lab.Id}/")).EnsureSuccessStatusCode();
            await Task.Delay(1000);
        }
        finally
        {
            await platform.Ai.StartAsync();
        }

        // All four events arrive, in order: the lab's creation and then its deletion.
        await Platform.EventuallyAsync(async () =>
        {
            await using var scope = platform.Core.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
            return await db.OutboxEvents.CountAsync(e => e.UserId == learner.User.Id && e.DeliveredAt != null) == 4;
        }, "Core delivers the four events written while AI was down");
        await ProfileHoldsAsync(learner, "owasp-top-10-explained", "sql-injection-and-parameterized-queries");
        var picks = await RecommendAsync(learner);
        // Each reason names a completed lesson: as the item it is close to, or as the prerequisite it is the next step after.
        Assert.All(picks.Recommendations, r => Assert.True(
            r.Reason.StartsWith("Because you completed", StringComparison.Ordinal) || r.Reason.StartsWith("Next step after", StringComparison.Ordinal), r.Reason));
    }

    /// <summary>Waits until the AI service's stored completions of the learner are exactly <paramref name="contentIds"/>, all applied from events.</summary>
    private async Task ProfileHoldsAsync(Learner learner, params string[] contentIds)
    {
        var store = platform.Ai.Services.GetRequiredService<ILearnerProfileStore>();
        await Platform.EventuallyAsync(async () =>
        {
            var profile = await store.GetAsync(learner.User.Id);
            return profile is not null && profile.Completed.Select(c => c.ContentId).Order().SequenceEqual(contentIds.Order());
        }, $"the AI service holds the completions {string.Join(", ", contentIds)}");
    }
}

public sealed class EmbeddedLearnerJourneyTests(EmbeddedPlatform platform)
    : LearnerJourneyTests<EmbeddedPlatform>(platform), IClassFixture<EmbeddedPlatform>;

public sealed class PostgresLearnerJourneyTests(PostgresPlatform platform)
    : LearnerJourneyTests<PostgresPlatform>(platform), IClassFixture<PostgresPlatform>;

public sealed class RedisDownLearnerJourneyTests(RedisDownPlatform platform)
    : LearnerJourneyTests<RedisDownPlatform>(platform), IClassFixture<RedisDownPlatform>;
