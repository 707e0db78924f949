using System.Diagnostics;
using System.Net;
using CyberHub.Contracts;
using CyberHub.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Tests;

/// <summary>The system's time plus an offset that a test moves forward.</summary>
public sealed class ShiftedClock : TimeProvider
{
    private long _offsetTicks;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}

/// <summary>
/// Core keeping the cohort views 120 s, on a clock the test moves forward: a view goes stale when the test says so,
/// not when the machine happens to be slow. Tokens are checked against the real time, so only tokens made before the
/// clock moves are used.
/// </summary>
public sealed class ShiftedClockCoreServer : CoreServer
{
    public const int CacheSeconds = 120;

    public ShiftedClock Clock { get; } = new();

    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Insights:CacheSeconds"] = CacheSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        // The joins' repeated invalidation (Cache:SettleDelay later) would drop the views in the middle of the test.
        ["Cache:SettleDelay"] = "00:00:00",
    };

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(Clock);
}

/// <summary>
/// A cohort view older than Insights:CacheSeconds is answered as it was kept while it is computed again in the
/// background, and the recomputed view replaces it: a learner's progress shows without anyone waiting for it.
/// </summary>
public sealed class InsightsRefreshTests(ShiftedClockCoreServer server) : IClassFixture<ShiftedClockCoreServer>
{
    private const string Organizations = "/api/v1/organizations/";

    [Fact]
    public async Task A_stale_view_is_answered_as_kept_and_the_recomputed_one_replaces_it()
    {
        var owner = await server.RegisterAsync("owner");
        var ann = await server.RegisterAsync("ann");
        var bob = await server.RegisterAsync("bob");
        var organization = await (await owner.Client.PostJsonAsync(Organizations,
            new CreateOrganizationRequest("Cohort", $"cohort-{Guid.NewGuid():N}"[..20], null))).ReadAsync<OrganizationDto>(HttpStatusCode.Created);
        foreach (var learner in new[] { ann, bob })
        {
            var invitation = await (await owner.Client.PostJsonAsync($"{Organizations}{organization.Id}/invitations/",
                new CreateInvitationRequest(learner.User.Email, OrganizationRoles.Member))).ReadAsync<OrganizationInvitationDto>(HttpStatusCode.Created);
            await (await learner.Client.PostAsync($"{Organizations}invitations/{invitation.Id}/accept/", null)).ReadAsync<OrganizationDto>();
        }
        var lab = await (await ann.Client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest("sqli", ContentTypes.Lab, ProgressStatus.InProgress, 40, null, 600, null))).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        await (await bob.Client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest("xss", ContentTypes.Lab, ProgressStatus.InProgress, 10, null, 60, null))).ReadAsync<ProgressDto>(HttpStatusCode.Created);

        var url = $"{Organizations}{organization.Id}/insights/";
        // Each view as the owner sees it: Ann's completed count (the summary's is the cohort's, Ann's the only one that changes).
        var views = new (string Name, Func<Task<int>> Completed)[]
        {
            ("summary", async () => (await (await owner.Client.GetAsync(url)).ReadAsync<CohortSummaryDto>()).CompletedItems),
            ("learners by name", async () => AnnsCompleted(await (await owner.Client.GetAsync(url + "learners/?sort=username")).ReadAsync<PagedResponse<LearnerInsightDto>>())),
            ("learners by figure", async () => AnnsCompleted(await (await owner.Client.GetAsync(url + "learners/?sort=-completed")).ReadAsync<PagedResponse<LearnerInsightDto>>())),
            ("items", async () => (await (await owner.Client.GetAsync(url + "items/")).ReadAsync<PagedResponse<ItemInsightDto>>()).Results.Sum(i => i.Completed)),
        };
        int AnnsCompleted(PagedResponse<LearnerInsightDto> page) => page.Results.Single(r => r.UserId == ann.User.Id).Completed;

        // Computed and kept.
        foreach (var (name, completed) in views)
        {
            Assert.True(await completed() == 0, $"{name}: nothing is completed yet");
        }

        // Ann completes the lab; a progress write does not drop the views, so they are answered as kept.
        await (await ann.Client.PatchJsonAsync($"/api/v1/progress/{lab.Id}/",
            new UpdateProgressRequest(ProgressStatus.Completed, 100, 90, 900, null))).ReadAsync<ProgressDto>();
        foreach (var (name, completed) in views)
        {
            Assert.True(await completed() == 0, $"{name}: a kept view is answered as kept within Insights:CacheSeconds");
        }

        // Past Insights:CacheSeconds (well short of four times it, when a view is no longer answered): the first answer is
        // the kept view, as it was, while it is computed again in the background ...
        server.Clock.Advance(TimeSpan.FromSeconds(ShiftedClockCoreServer.CacheSeconds + 1));
        foreach (var (name, completed) in views)
        {
            Assert.True(await completed() == 0, $"{name}: a stale view is answered as kept, not computed while the reader waits");
        }

        // ... and the recomputed view replaces it.
        foreach (var (name, completed) in views)
        {
            var waited = Stopwatch.StartNew();
            while (await completed() != 1)
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), $"{name}: the recomputed view did not replace the stale one");
                await Task.Delay(50);
            }
        }
    }
}
