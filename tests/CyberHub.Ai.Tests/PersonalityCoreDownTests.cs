using System.Net;
using CyberHub.Ai.CoreClient;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Contracts;
using CyberHub.Testing;

namespace CyberHub.Ai.Tests;

/// <summary>
/// An instructor's read of a learner's personality analysis needs Core's word that they share an organization. With
/// Core's port closed and no earlier yes kept, the AI service cannot confirm it: the answer is 503 with a detail, not
/// a 500, and not a 403 that would tell the instructor they may not.
/// </summary>
public sealed class PersonalityCoreDownTests
{
    private static string Last(long userId) => $"/api/v1/personality/{userId}";

    [Fact]
    public async Task An_instructors_read_of_a_learner_is_503_while_core_is_unreachable_and_nothing_is_kept()
    {
        var core = new SqliteCoreServer();
        await core.InitializeAsync();
        var coreRunning = true;
        await using var ai = new AiBehind(core.BaseAddress);
        try
        {
            await ai.InitializeAsync();
            var learner = await core.RegisterAsync();
            var instructor = await core.RegisterAsync("instr");
            var organization = await (await instructor.Client.PostJsonAsync("/api/v1/organizations/",
                new CreateOrganizationRequest("Cohort", $"cohort-{Guid.NewGuid():N}"[..24], ""))).ReadAsync<OrganizationDto>(HttpStatusCode.Created);
            var invitation = await (await instructor.Client.PostJsonAsync($"/api/v1/organizations/{organization.Id}/invitations/",
                new CreateInvitationRequest(learner.User.Email, OrganizationRoles.Member))).ReadAsync<OrganizationInvitationDto>(HttpStatusCode.Created);
            await (await learner.Client.PostAsync($"/api/v1/organizations/invitations/{invitation.Id}/accept/", null)).ReadAsync<OrganizationDto>();

            // Both tokens verify in the AI service, which so holds Core's signing keys; the instructor has not read the
            // learner yet, so no answer of Core's is kept.
            using var learnerAi = ai.CreateClient(learner.Access);
            using var instructorAi = ai.CreateClient(instructor.Access);
            await (await learnerAi.GetAsync(Last(learner.User.Id))).DetailAsync(HttpStatusCode.NotFound);
            Assert.Equal(HttpStatusCode.OK, (await instructorAi.GetAsync("/api/v1/content/")).StatusCode);

            await core.DisposeAsync();
            coreRunning = false;
            using (var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
            {
                await Assert.ThrowsAsync<HttpRequestException>(() => probe.GetAsync(new Uri(core.BaseAddress, "/api/v1/health/live")));
            }

            Assert.Equal(LearnerAccessClient.Unavailable, await (await instructorAi.GetAsync(Last(learner.User.Id))).DetailAsync(HttpStatusCode.ServiceUnavailable));
            Assert.Equal(LearnerAccessClient.Unavailable,
                await (await instructorAi.PostJsonAsync("/api/v1/personality/analyze", new PersonalityRequest(learner.User.Id, null))).DetailAsync(HttpStatusCode.ServiceUnavailable));
            // The learner's own read needs no word from Core.
            await (await learnerAi.GetAsync(Last(learner.User.Id))).DetailAsync(HttpStatusCode.NotFound);
        }
        finally
        {
            if (coreRunning)
            {
                await core.DisposeAsync();
            }
        }
    }

    private sealed class AiBehind(Uri core) : AiServer, IAsyncDisposable
    {
        protected override Uri? ExternalCore => core;
        protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?> { ["CYBERHUB_SEED_DEMO_CATALOG"] = "false" };
        protected override Task<string?> CreateVectorDatabaseAsync() => Task.FromResult<string?>(null);

        ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());
    }
}
