using System.Net;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Contracts;
using CyberHub.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Ai.Tests;

public abstract class RecommendationsApiTests<TServer>(TServer server) where TServer : AiServer
{
    private static readonly string[] CryptographyLessons =
    [
        "symmetric-encryption-aes-modes",
        "public-key-cryptography-rsa-dh-ecc",
        "hashes-macs-and-password-hashing",
    ];

    private async Task<Learner> CompleteAsync(params string[] lessons)
    {
        var learner = await server.Core.RegisterAsync();
        foreach (var lesson in lessons)
        {
            (await learner.Client.PostJsonAsync("/api/v1/progress/", new CreateProgressRequest(lesson, "lesson", ProgressStatus.Completed, 100, 90, 1200, null)))
                .EnsureSuccessStatusCode();
        }
        return learner;
    }

    private async Task<RecommendationsResponse> RecommendAsync(Learner learner, string query = "") =>
        await (await server.CreateClient(learner.Access).GetAsync($"/api/v1/recommendations/{learner.User.Id}{query}")).ReadAsync<RecommendationsResponse>();

    [Fact]
    public async Task A_new_learner_gets_introductory_picks_across_topics()
    {
        var learner = await server.Core.RegisterAsync();
        var response = await RecommendAsync(learner);

        Assert.Equal(learner.User.Id, response.UserId);
        Assert.Equal(10, response.Total);
        Assert.Equal(10, response.Recommendations.Count);
        Assert.All(response.Recommendations, r => Assert.Contains("get you started", r.Reason, StringComparison.Ordinal));
        // Taking turns across topics: ten picks from a catalog of twelve topics repeat none.
        Assert.Equal(10, response.Recommendations.Select(r => r.Reason).Distinct().Count());
    }

    [Fact]
    public async Task Completed_lessons_drive_the_picks_and_are_named_in_each_reason()
    {
        var learner = await CompleteAsync(CryptographyLessons);
        var titles = new[] { "Symmetric Encryption with AES and Block Cipher Modes", "Public-Key Cryptography: RSA, Diffie-Hellman and Elliptic Curves", "Hash Functions, HMAC and Password Hashing" };

        var response = await RecommendAsync(learner);

        Assert.Equal(10, response.Recommendations.Count);
        Assert.DoesNotContain(response.Recommendations, r => CryptographyLessons.Contains(r.ContentId));
        // Each reason names a completed lesson: as the item it is close to, or as the prerequisite it is the next step after.
        Assert.All(response.Recommendations, r => Assert.Contains(titles, t => r.Reason == $"Because you completed '{t}'" || r.Reason == $"Next step after '{t}'"));
        // The lessons these complete unlock the next steps of the track (the demo catalog's prerequisites).
        Assert.Contains(response.Recommendations, r => r.ContentId == "inside-the-tls-1-3-handshake"
            && r.Reason is "Next step after 'Public-Key Cryptography: RSA, Diffie-Hellman and Elliptic Curves'" or "Next step after 'Hash Functions, HMAC and Password Hashing'");
        // The rest of the cryptography track leads the list.
        Assert.Contains(response.Recommendations.Take(3), r => r.ContentId is "inside-the-tls-1-3-handshake" or "encrypting-files-with-aes-gcm"
            or "introduction-to-cryptography" or "applied-cryptography-for-engineers" or "inspecting-tls-with-openssl" or "breaking-ecb-and-padding-oracles");
        Assert.All(response.Recommendations, r => Assert.InRange(r.Score, -1, 1));
        Assert.Equal(response.Recommendations.Count, response.Recommendations.Select(r => (r.ContentType, r.ContentId)).Distinct().Count());
    }

    [Fact]
    public async Task Content_type_and_limit_narrow_the_list_and_post_answers_like_get()
    {
        var learner = await CompleteAsync(CryptographyLessons);
        var labs = await RecommendAsync(learner, "?content_type=lab&limit=4");
        Assert.Equal(4, labs.Total);
        Assert.All(labs.Recommendations, r => Assert.Equal("lab", r.ContentType));

        var posted = await (await server.CreateClient(learner.Access).PostJsonAsync("/api/v1/recommendations",
            new RecommendationRequest(learner.User.Id, "lab", 4))).ReadAsync<RecommendationsResponse>();
        Assert.Equal(labs.Recommendations, posted.Recommendations);

        var fifty = await RecommendAsync(learner, "?limit=50");
        Assert.Equal(50, fifty.Total);
    }

    [Fact]
    public async Task Explain_adds_how_each_pick_was_scored_for_the_learner_and_admins_only()
    {
        var learner = await CompleteAsync(CryptographyLessons);
        var other = await server.Core.RegisterAsync();
        using var client = server.CreateClient(learner.Access);

        var plain = await RecommendAsync(learner);
        Assert.All(plain.Recommendations, r => Assert.Null(r.Explanation));
        var raw = await (await client.GetAsync($"/api/v1/recommendations/{learner.User.Id}?explain=false")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("explanation", raw, StringComparison.Ordinal);

        var explained = await RecommendAsync(learner, "?explain=true");
        Assert.Equal(plain.Recommendations.Select(r => (r.ContentId, r.Reason, r.Score)), explained.Recommendations.Select(r => (r.ContentId, r.Reason, r.Score)));
        Assert.All(explained.Recommendations, r =>
        {
            var why = Assert.IsType<RecommendationExplanation>(r.Explanation);
            Assert.Contains(why.Source, new[] { RecommendationSources.NextStep, RecommendationSources.Content, RecommendationSources.CoCompletion });
            Assert.Contains(CryptographyLessons, id => why.Driver?.ContentId == id);
            // The reason names the driver by its title.
            Assert.Contains($"'{why.Driver!.Title}'", r.Reason, StringComparison.Ordinal);
            foreach (var part in new[] { why.Components.Content, why.Components.CoCompletion, why.Components.Path, why.Components.Popular })
            {
                Assert.InRange(part, 0, 1);
            }
            Assert.Equal(why.Ready, why.MissingPrerequisites.Count == 0);
            // The weights are the ones the served (shrunk) ranking used for this learner, not the blend's nominal ones
            // (content 0.5, co-completion 2, path 0.5): other learners' shares weighed by the evidence Σ w·n / (n + m),
            // content and path sharing the rest as the prior splits it; they sum to 1.
            var weights = why.Components.Weights;
            Assert.NotEqual(new RecommendationWeights(0.5, 2, 0.5, 0), weights);
            Assert.InRange(weights.Content + weights.CoCompletion + weights.Path + weights.Popular, 0.9995, 1.0005);
            var fusion = Assert.IsType<RecommendationFusion>(why.Fusion);
            Assert.Equal("shrunk", fusion.Method);
            Assert.InRange(fusion.Evidence, 0, 1);
            Assert.Equal(fusion.Evidence, weights.CoCompletion, 4);
            Assert.True(fusion.Learners >= 0);
            Assert.Equal(ServedBlend.Default.CoSupport, fusion.PseudoLearners);
            Assert.InRange(fusion.Prior.Content + fusion.Prior.Path, 0.9999, 1.0001);
            Assert.InRange(Math.Abs((1 - fusion.Evidence) * fusion.Prior.Content - weights.Content), 0, 0.0005);
            Assert.InRange(Math.Abs((1 - fusion.Evidence) * fusion.Prior.Path - weights.Path), 0, 0.0005);
            Assert.Equal(0, weights.Popular);
        });
        var posted = await (await client.PostJsonAsync("/api/v1/recommendations", new RecommendationRequest(learner.User.Id, null, null, true))).ReadAsync<RecommendationsResponse>();
        Assert.Equal(explained.Recommendations.Select(r => (r.ContentId, r.Explanation!.Source, r.Explanation.Driver)), posted.Recommendations.Select(r => (r.ContentId, r.Explanation!.Source, r.Explanation.Driver)));

        // Not another learner (as without explain), nor a service; an admin may.
        using var asOther = server.CreateClient(other.Access);
        await (await asOther.GetAsync($"/api/v1/recommendations/{learner.User.Id}?explain=true")).DetailAsync(HttpStatusCode.Forbidden);
        using var service = await ServiceClientAsync();
        await (await service.GetAsync($"/api/v1/recommendations/{learner.User.Id}?explain=true")).DetailAsync(HttpStatusCode.Forbidden);
        var forService = await (await service.GetAsync($"/api/v1/recommendations/{learner.User.Id}")).ReadAsync<RecommendationsResponse>();
        Assert.Equal(plain.Recommendations.Select(r => r.ContentId), forService.Recommendations.Select(r => r.ContentId));
        using var admin = await server.AdminClientAsync();
        var byAdmin = await (await admin.GetAsync($"/api/v1/recommendations/{learner.User.Id}?explain=true")).ReadAsync<RecommendationsResponse>();
        Assert.Equal(explained.Recommendations.Select(r => (r.ContentId, r.Explanation!.Source)), byAdmin.Recommendations.Select(r => (r.ContentId, r.Explanation!.Source)));
        await (await client.GetAsync($"/api/v1/recommendations/{learner.User.Id}?explain=perhaps")).DetailAsync(HttpStatusCode.BadRequest);

        // A newcomer's starter list explains itself as such.
        var newcomer = await server.Core.RegisterAsync();
        var starter = await RecommendAsync(newcomer, "?explain=true");
        Assert.All(starter.Recommendations.Where(r => r.Reason.Contains("get you started", StringComparison.Ordinal)), r =>
        {
            Assert.Equal(RecommendationSources.Starter, r.Explanation!.Source);
            Assert.Null(r.Explanation.Driver);
            Assert.Null(r.Explanation.Fusion);
            Assert.Equal(new RecommendationWeights(0, 0, 0, 0), r.Explanation.Components.Weights);
        });
    }

    private async Task<HttpClient> ServiceClientAsync()
    {
        using var admin = await server.Core.AdminClientAsync();
        var created = await (await admin.PostJsonAsync("/api/v1/service-clients/", new CreateServiceClientRequest("recommendations")))
            .ReadAsync<ServiceClientCreated>(HttpStatusCode.Created);
        using var core = server.Core.CreateClient();
        var token = await (await core.PostJsonAsync("/api/v1/token/service/", new ClientCredentialsRequest(created.ClientId, created.ClientSecret)))
            .ReadAsync<ServiceTokenResponse>();
        return server.CreateClient(token.Access);
    }

    [Fact]
    public async Task Bad_requests_are_refused_with_a_detail()
    {
        var learner = await server.Core.RegisterAsync();
        using var client = server.CreateClient(learner.Access);
        var id = learner.User.Id;
        await (await client.GetAsync($"/api/v1/recommendations/{id}?limit=0")).DetailAsync(HttpStatusCode.BadRequest);
        await (await client.GetAsync($"/api/v1/recommendations/{id}?limit=51")).DetailAsync(HttpStatusCode.BadRequest);
        await (await client.GetAsync($"/api/v1/recommendations/{id}?content_type=podcast")).DetailAsync(HttpStatusCode.BadRequest);
        await (await client.PostJsonAsync("/api/v1/recommendations", new RecommendationRequest(null, null, null))).DetailAsync(HttpStatusCode.BadRequest);
        await (await client.SendRawAsync(HttpMethod.Post, "/api/v1/recommendations", """{"user_id":"x"}""")).DetailAsync(HttpStatusCode.BadRequest);
        await (await client.SendRawAsync(HttpMethod.Post, "/api/v1/recommendations", """{"user_id":1,"limit":1e9}""")).DetailAsync(HttpStatusCode.BadRequest);
        using var anonymous = server.CreateClient();
        await (await anonymous.GetAsync($"/api/v1/recommendations/{id}")).DetailAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Learners_see_only_their_own_and_admins_anyone_who_exists()
    {
        var learner = await server.Core.RegisterAsync();
        var other = await server.Core.RegisterAsync();
        await (await server.CreateClient(learner.Access).GetAsync($"/api/v1/recommendations/{other.User.Id}")).DetailAsync(HttpStatusCode.Forbidden);

        using var admin = await server.AdminClientAsync();
        var forOther = await (await admin.GetAsync($"/api/v1/recommendations/{other.User.Id}")).ReadAsync<RecommendationsResponse>();
        Assert.Equal(other.User.Id, forOther.UserId);
        Assert.Equal("User not found.", await (await admin.GetAsync("/api/v1/recommendations/987654321")).DetailAsync(HttpStatusCode.NotFound));
    }

    [Fact]
    public async Task Cached_picks_stay_until_a_progress_event_drops_them_and_the_event_records_the_completion()
    {
        var learner = await server.Core.RegisterAsync();
        var before = await RecommendAsync(learner);
        Assert.All(before.Recommendations, r => Assert.Contains("get you started", r.Reason, StringComparison.Ordinal));

        var created = await (await learner.Client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest("sql-injection-and-parameterized-queries", "lesson", ProgressStatus.Completed, 100, 95, 900, null))).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        // Nothing told the AI service yet: the hour-long cache still answers.
        Assert.Equal(before.Recommendations, (await RecommendAsync(learner)).Recommendations);

        using var admin = await server.AdminClientAsync();
        var change = new ProgressEvent(Guid.NewGuid(), 1, ProgressEventTypes.Created, learner.User.Id, DateTime.UtcNow, created);
        var applied = await (await admin.PostJsonAsync("/api/v1/sync/progress-events", new ProgressEventBatch([change]))).ReadAsync<ProgressEventsResult>();
        Assert.Equal(new ProgressEventsResult(1, 0), applied);

        var stored = await server.Services.GetRequiredService<ILearnerProfileStore>().GetAsync(learner.User.Id);
        Assert.NotNull(stored);
        var completion = Assert.Single(stored.Completions);
        var key = new ContentKey("lesson", "sql-injection-and-parameterized-queries");
        Assert.Equal((key, ProgressStatus.Completed, 1L), (completion.Item, completion.Status, stored.LastSequence));
        var counts = await server.Services.GetRequiredService<ICoCompletionStore>().ReadAsync([key], 0);
        Assert.Equal(1, Assert.Single(counts.Items, i => i.Item == key).Count, 9);

        var after = await RecommendAsync(learner);
        Assert.All(after.Recommendations, r => Assert.Equal("Because you completed 'SQL Injection Attacks and Parameterized Queries'", r.Reason));

        // Delivered again (at least once): recognised by its id, nothing applied twice.
        var repeat = await (await admin.PostJsonAsync("/api/v1/sync/progress-events", new ProgressEventBatch([change]))).ReadAsync<ProgressEventsResult>();
        Assert.Equal(new ProgressEventsResult(0, 1), repeat);
        // Under another id (as a second outbox delivery might be), the sequence tells: still counted once.
        await (await admin.PostJsonAsync("/api/v1/sync/progress-events", new ProgressEventBatch([change with { EventId = Guid.NewGuid() }]))).ReadAsync<ProgressEventsResult>();
        counts = await server.Services.GetRequiredService<ICoCompletionStore>().ReadAsync([key], 0);
        Assert.Equal(1, Assert.Single(counts.Items, i => i.Item == key).Count, 9);
    }

    [Fact]
    public async Task Progress_events_are_validated_and_only_services_and_admins_may_send_them()
    {
        var learner = await server.Core.RegisterAsync();
        using var asLearner = server.CreateClient(learner.Access);
        var progress = new ProgressDto(1, learner.User.Id, "owasp-top-10-explained", "lesson", ProgressStatus.Completed, 100, null, 60, [], DateTime.UtcNow, DateTime.UtcNow, DateTime.UtcNow, DateTime.UtcNow, 1);
        var change = new ProgressEvent(Guid.NewGuid(), 5, ProgressEventTypes.Updated, learner.User.Id, DateTime.UtcNow, progress);
        await (await asLearner.PostJsonAsync("/api/v1/sync/progress-events", new ProgressEventBatch([change]))).DetailAsync(HttpStatusCode.Forbidden);

        using var admin = await server.AdminClientAsync();
        await (await admin.PostJsonAsync("/api/v1/sync/progress-events", new ProgressEventBatch([]))).DetailAsync(HttpStatusCode.BadRequest);
        await (await admin.PostJsonAsync("/api/v1/sync/progress-events", new ProgressEventBatch([change with { Type = "progress.exploded" }]))).DetailAsync(HttpStatusCode.BadRequest);
        await (await admin.PostJsonAsync("/api/v1/sync/progress-events", new ProgressEventBatch([change with { UserId = learner.User.Id + 1 }]))).DetailAsync(HttpStatusCode.BadRequest);
        await (await admin.PostJsonAsync("/api/v1/sync/progress-events", new ProgressEventBatch([change with { EventId = Guid.Empty }]))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Null(await server.Services.GetRequiredService<ILearnerProfileStore>().GetAsync(learner.User.Id));

        // An older event arriving after a newer one changes nothing.
        await (await admin.PostJsonAsync("/api/v1/sync/progress-events", new ProgressEventBatch([change]))).ReadAsync<ProgressEventsResult>();
        var older = new ProgressEvent(Guid.NewGuid(), 4, ProgressEventTypes.Deleted, learner.User.Id, DateTime.UtcNow, progress);
        await (await admin.PostJsonAsync("/api/v1/sync/progress-events", new ProgressEventBatch([older]))).ReadAsync<ProgressEventsResult>();
        var stored = await server.Services.GetRequiredService<ILearnerProfileStore>().GetAsync(learner.User.Id);
        Assert.Equal(5, stored!.LastSequence);
        Assert.Equal(ProgressStatus.Completed, Assert.Single(stored.Completions).Status);
    }

    [Fact]
    public async Task A_user_deleted_event_drops_everything_the_service_holds_about_the_learner()
    {
        var learner = await server.Core.RegisterAsync();
        using var admin = await server.AdminClientAsync();
        var progress = new ProgressDto(1, learner.User.Id, "owasp-top-10-explained", "lesson", ProgressStatus.Completed, 100, 90, 60, [], DateTime.UtcNow, DateTime.UtcNow, DateTime.UtcNow, DateTime.UtcNow, 1);
        var created = new ProgressEvent(Guid.NewGuid(), 10, ProgressEventTypes.Created, learner.User.Id, DateTime.UtcNow, progress);
        await (await admin.PostJsonAsync("/api/v1/sync/progress-events", new ProgressEventBatch([created]))).ReadAsync<ProgressEventsResult>();
        var store = server.Services.GetRequiredService<ILearnerProfileStore>();
        Assert.Single((await store.GetAsync(learner.User.Id))!.Completions);

        // The account is deleted in Core: its outbox says so, with no progress record.
        var deleted = new ProgressEvent(Guid.NewGuid(), 11, ProgressEventTypes.UserDeleted, learner.User.Id, DateTime.UtcNow, null);
        var applied = await (await admin.PostJsonAsync("/api/v1/sync/progress-events", new ProgressEventBatch([deleted]))).ReadAsync<ProgressEventsResult>();
        Assert.Equal(new ProgressEventsResult(1, 0), applied);
        var stored = await store.GetAsync(learner.User.Id);
        Assert.Empty(stored!.Completions);
        Assert.Equal(11, stored.LastSequence);
        // What the learner added to the co-completion counts stays: an anonymous aggregate of many learners.
        var key = new ContentKey("lesson", "owasp-top-10-explained");
        var counts = await server.Services.GetRequiredService<ICoCompletionStore>().ReadAsync([key], 0);
        Assert.Contains(counts.Items, i => i.Item == key);

        // An older event delivered again later cannot bring the learner back.
        var older = new ProgressEvent(Guid.NewGuid(), 9, ProgressEventTypes.Created, learner.User.Id, DateTime.UtcNow, progress);
        await (await admin.PostJsonAsync("/api/v1/sync/progress-events", new ProgressEventBatch([older]))).ReadAsync<ProgressEventsResult>();
        Assert.Empty((await store.GetAsync(learner.User.Id))!.Completions);

        // A user.deleted event carrying a record is malformed.
        await (await admin.PostJsonAsync("/api/v1/sync/progress-events", new ProgressEventBatch([deleted with { EventId = Guid.NewGuid(), Progress = progress }])))
            .DetailAsync(HttpStatusCode.BadRequest);
    }
}

public sealed class EmbeddedRecommendationsApiTests(EmbeddedAiServer server)
    : RecommendationsApiTests<EmbeddedAiServer>(server), IClassFixture<EmbeddedAiServer>;

public sealed class PgVectorRecommendationsApiTests(PgVectorAiServer server)
    : RecommendationsApiTests<PgVectorAiServer>(server), IClassFixture<PgVectorAiServer>;
