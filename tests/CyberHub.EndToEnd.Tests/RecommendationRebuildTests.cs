using System.Net;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.Core.Data;
using CyberHub.EndToEnd.Tests.Infrastructure;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.EndToEnd.Tests;

/// <summary>
/// The co-completion counts learned from Core's events, and the same counts rebuilt from Core's progress
/// (what <c>cyberhub rebuild-recommendations</c> runs), with Core and AI running: the rebuild equals the events.
/// </summary>
public abstract class RecommendationRebuildTests<TPlatform>(TPlatform platform) where TPlatform : Platform
{
    private static readonly string[] Track = ["owasp-top-10-explained", "sql-injection-and-parameterized-queries", "cross-site-scripting-and-content-security-policy"];

    private async Task<ProgressDto> CompleteAsync(Learner learner, string id, string type = "lesson") =>
        await (await learner.Client.PostJsonAsync("/api/v1/progress/", new CreateProgressRequest(id, type, ProgressStatus.Completed, 100, 80, 900, null)))
            .ReadAsync<ProgressDto>(HttpStatusCode.Created);

    [Fact]
    public async Task Rebuilding_from_core_gives_the_counts_and_completions_the_events_gave()
    {
        var learners = new List<Learner>();
        for (var i = 0; i < 5; i++)
        {
            learners.Add(await platform.Core.RegisterAsync("rebuild"));
        }
        // Four learners take the track in order (their pairs pass the floor of 3); the fifth goes another way.
        foreach (var learner in learners.Take(4))
        {
            foreach (var lesson in Track)
            {
                await CompleteAsync(learner, lesson);
            }
        }
        var odd = learners[4];
        await CompleteAsync(odd, Track[2]);
        var first = await CompleteAsync(odd, Track[0]);
        // Neither a score change of a completed record nor work that is not a completion counts.
        (await odd.Client.PatchJsonAsync($"/api/v1/progress/{first.Id}/", new UpdateProgressRequest(null, null, 55, null, null))).EnsureSuccessStatusCode();
        var lab = await (await odd.Client.PostJsonAsync("/api/v1/progress/", new CreateProgressRequest("exploit-and-fix-sql-injection-login", "lab", ProgressStatus.InProgress, 30, null, 60, null)))
            .ReadAsync<ProgressDto>(HttpStatusCode.Created);
        (await odd.Client.DeleteAsync($"/api/v1/progress/{lab.Id}/")).EnsureSuccessStatusCode();

        var store = platform.Ai.Services.GetRequiredService<ILearnerProfileStore>();
        var counts = platform.Ai.Services.GetRequiredService<ICoCompletionStore>();
        foreach (var learner in learners)
        {
            long last;
            await using (var scope = platform.Core.Services.CreateAsyncScope())
            {
                last = await scope.ServiceProvider.GetRequiredService<CoreDbContext>().OutboxEvents.Where(e => e.UserId == learner.User.Id).MaxAsync(e => e.Id);
            }
            await Platform.EventuallyAsync(async () => (await store.GetAsync(learner.User.Id))?.LastSequence == last,
                $"AI has applied learner {learner.User.Id}'s events up to {last}");
        }
        var keys = Track.Select(id => new ContentKey("lesson", id)).Append(new ContentKey("lab", "exploit-and-fix-sql-injection-login")).ToList();
        var evented = await counts.ReadAsync(keys, 20);
        var completions = new Dictionary<long, IReadOnlyList<LearnerCompletion>>();
        foreach (var learner in learners)
        {
            completions[learner.User.Id] = (await store.GetAsync(learner.User.Id))!.Completions;
        }
        // What the events counted: the track's three pairs from four learners (just under 4 after a few seconds' decay);
        // the fifth learner's pair is below the floor, and the lab was never completed.
        Assert.Equal([(keys[0], keys[2]), (keys[0], keys[1]), (keys[1], keys[2])], evented.Pairs.Select(p => (p.From, p.To)));
        Assert.All(evented.Pairs, p => Assert.InRange(p.Count, 3.99, 4));
        Assert.Equal([(keys[2], 5.0), (keys[0], 5.0), (keys[1], 4.0)], evented.Items.Select(i => (i.Item, Math.Round(i.Count, 2))));
        Assert.Equal([keys[2], keys[0]], completions[odd.User.Id].Select(c => c.Item));

        // A fresh AI store: nothing counted, nothing known of the learners.
        await store.ReplaceAsync(new Dictionary<long, IReadOnlyList<LearnerCompletion>>(), new CoCompletionState([], [], DateTime.MinValue), DateTime.UtcNow);
        Assert.Empty((await counts.ReadAsync(keys, 20)).Items);

        ServiceClientCreated client;
        await using (var scope = platform.Core.Services.CreateAsyncScope())
        {
            client = await scope.ServiceProvider.GetRequiredService<ServiceClientsService>().CreateAsync(new CreateServiceClientRequest("rebuild"), CancellationToken.None);
        }
        using var core = platform.Core.CreateClient();
        var rebuild = new CoCompletionRebuild(store, platform.Ai.Services.GetRequiredService<CoCompletionSettings>(), TimeProvider.System);
        var result = await rebuild.RunAsync(core, client.ClientId, client.ClientSecret);
        Assert.Equal((5, 14), (result.Learners, result.Completions));

        var rebuilt = await counts.ReadAsync(keys, 20);
        Assert.Equal(evented.LastUpdate, rebuilt.LastUpdate);
        Assert.Equal(evented.Pairs.Select(p => (p.From, p.To, p.At)), rebuilt.Pairs.Select(p => (p.From, p.To, p.At)));
        Assert.All(evented.Pairs.Zip(rebuilt.Pairs), p => Assert.Equal(p.First.Count, p.Second.Count, 1e-9));
        Assert.Equal(evented.Items.Select(i => (i.Item, i.At)), rebuilt.Items.Select(i => (i.Item, i.At)));
        Assert.All(evented.Items.Zip(rebuilt.Items), i => Assert.Equal(i.First.Count, i.Second.Count, 1e-9));
        foreach (var learner in learners)
        {
            Assert.Equal(completions[learner.User.Id], (await store.GetAsync(learner.User.Id))!.Completions);
        }

        // Without the service client's secret Core refuses, and the store stays as it was.
        await Assert.ThrowsAsync<CoCompletionRebuildException>(() => rebuild.RunAsync(core, client.ClientId, "not-the-secret"));
        Assert.Equal(rebuilt.Pairs.Select(p => (p.From, p.To, p.Count)), (await counts.ReadAsync(keys, 20)).Pairs.Select(p => (p.From, p.To, p.Count)));
    }
}

public sealed class EmbeddedRecommendationRebuildTests(EmbeddedPlatform platform)
    : RecommendationRebuildTests<EmbeddedPlatform>(platform), IClassFixture<EmbeddedPlatform>;

public sealed class PostgresRecommendationRebuildTests(PostgresPlatform platform)
    : RecommendationRebuildTests<PostgresPlatform>(platform), IClassFixture<PostgresPlatform>;
