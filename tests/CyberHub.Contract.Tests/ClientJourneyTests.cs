using CyberHub.Contract.Tests.Clients.Ai;
using CyberHub.Contract.Tests.Clients.Core;
using CyberHub.Testing;
using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;
using AiModels = CyberHub.Contract.Tests.Clients.Ai.Models;
using CoreModels = CyberHub.Contract.Tests.Clients.Core.Models;

namespace CyberHub.Contract.Tests;

/// <summary>
/// The README's curl journey, through clients generated from the committed documents alone (Kiota, at build time):
/// register, log in, refresh, progress create/update/list, search, store (as admin), recommendations, personality.
/// Errors arrive as the documents' <c>Error</c> (<c>detail</c>, <c>request_id</c>) with the documented status.
/// </summary>
[Collection(ContractCollection.Name)]
public sealed class ClientJourneyTests(ContractServices services)
{
    /// <summary>Sends <c>Authorization: Bearer</c> with the token of the moment (none while it is null).</summary>
    private sealed class Bearer : IAuthenticationProvider
    {
        public string? Token { get; set; }

        public Task AuthenticateRequestAsync(RequestInformation request, Dictionary<string, object>? context = null, CancellationToken cancellationToken = default)
        {
            if (Token is not null)
            {
                request.Headers.Add("Authorization", $"Bearer {Token}");
            }
            return Task.CompletedTask;
        }
    }

    private static HttpClientRequestAdapter Adapter(LoopbackService service, Bearer bearer) =>
        new(bearer) { BaseUrl = service.BaseAddress.ToString().TrimEnd('/') };

    [Fact]
    public async Task The_readme_journey_runs_through_clients_generated_from_the_documents()
    {
        var learner = new Bearer();
        var core = new CoreClient(Adapter(services.Core, learner));
        var ai = new AiClient(Adapter(services.Ai, learner));
        var name = $"ann{Guid.NewGuid():N}"[..16];

        // register (201: the user and a token pair)
        var registered = await core.Api.V1.Users.PostAsync(new CoreModels.RegisterRequest
        {
            Email = $"{name}@example.com", Username = name, Password = "correct horse", FirstName = "Ann", LastName = "Lee",
        });
        Assert.Equal(name, registered!.User!.Username);
        Assert.False(string.IsNullOrEmpty(registered.Access));

        // log in, then refresh: a new pair, and the old refresh token stops working (401 in the documented error shape)
        var pair = await core.Api.V1.Token.PostAsync(new CoreModels.TokenRequest { Email = $"{name}@example.com", Password = "correct horse" });
        var refreshed = await core.Api.V1.Token.Refresh.PostAsync(new CoreModels.RefreshRequest { Refresh = pair!.Refresh });
        Assert.NotEqual(pair.Refresh, refreshed!.Refresh);
        var reused = await Assert.ThrowsAsync<CoreModels.Error>(() => core.Api.V1.Token.Refresh.PostAsync(new CoreModels.RefreshRequest { Refresh = pair.Refresh }));
        Assert.Equal(401, reused.ResponseStatusCode);
        Assert.False(string.IsNullOrEmpty(reused.Detail));
        Assert.False(string.IsNullOrEmpty(reused.RequestId));
        learner.Token = refreshed.Access;

        // record progress (with an Idempotency-Key: a retry gets the same record), update it, list it filtered and paged
        var key = Guid.NewGuid().ToString("N");
        var create = new CoreModels.CreateProgressRequest { ContentId = "web-security-101", ContentType = "course", CompletionPercentage = 40 };
        var created = await core.Api.V1.Progress.PostAsync(create, c => c.Headers.Add("Idempotency-Key", key));
        var retried = await core.Api.V1.Progress.PostAsync(create, c => c.Headers.Add("Idempotency-Key", key));
        Assert.Equal(created!.Id, retried!.Id);
        Assert.Equal(CoreModels.ProgressStatus.In_progress, created.Status);
        var updated = await core.Api.V1.Progress[created.Id!.Value].PatchAsync(
            new CoreModels.UpdateProgressRequest { Status = CoreModels.ProgressStatus.Completed, Score = 92, TimeSpentSeconds = 1800 });
        Assert.Equal(CoreModels.ProgressStatus.Completed, updated!.Status);
        var stale = await Assert.ThrowsAsync<CoreModels.Error>(() => core.Api.V1.Progress[created.Id.Value].PatchAsync(
            new CoreModels.UpdateProgressRequest { Score = 95 }, c => c.Headers.Add("If-Match", $"\"{created.Version}\"")));
        Assert.Equal(412, stale.ResponseStatusCode);
        var page = await core.Api.V1.Progress.GetAsync(c =>
        {
            c.QueryParameters.Status = "completed";
            c.QueryParameters.Page = 1;
            c.QueryParameters.PageSize = 20;
        });
        Assert.Equal("web-security-101", Assert.Single(page!.Results!).ContentId);
        var me = await core.Api.V1.Users.Me.GetAsync();
        Assert.Equal(registered.User.Id, me!.Id);

        // search the catalog (by meaning and by words)
        var found = await ai.Api.V1.Content.Search.PostAsync(new AiModels.ContentSearchRequest { Query = "stopping SQL injection", ContentType = "lab", Limit = 5 });
        Assert.True(found!.Matched);
        Assert.All(found.Results!, hit => Assert.Equal("lab", hit.ContentType));

        // storing content takes the content_creator or admin role: a learner gets 403, an admin stores it
        var item = new AiModels.StoreEmbeddingsRequest
        {
            Texts = ["Capture and read a TLS 1.3 handshake in Wireshark."],
            ContentType = "lab", ContentId = "tls-wireshark", Title = "TLS in Wireshark", Description = "Watch a handshake packet by packet.",
            Metadata = new AiModels.JsonObject { AdditionalData = new Dictionary<string, object> { ["topic"] = "cryptography" } },
        };
        var refused = await Assert.ThrowsAsync<AiModels.Error>(() => ai.Api.V1.Embeddings.Store.PostAsync(item));
        Assert.Equal(403, refused.ResponseStatusCode);
        var admin = new Bearer();
        var adminCore = new CoreClient(Adapter(services.Core, admin));
        admin.Token = (await adminCore.Api.V1.Token.PostAsync(new CoreModels.TokenRequest { Email = CoreServer.AdminEmail, Password = CoreServer.AdminPassword }))!.Access;
        var stored = await new AiClient(Adapter(services.Ai, admin)).Api.V1.Embeddings.Store.PostAsync(item);
        Assert.NotNull(stored);
        var read = await ai.Api.V1.Content["lab"]["tls-wireshark"].GetAsync();
        Assert.Equal("TLS in Wireshark", read!.Title);

        // recommendations, by user id and as a POST with the query as a body
        var picks = await ai.Api.V1.Recommendations[me.Id!.Value].GetAsync();
        Assert.NotEmpty(picks!.Recommendations!);
        var labs = await ai.Api.V1.Recommendations.PostAsync(new AiModels.RecommendationRequest { UserId = me.Id, ContentType = "lab", Limit = 5 });
        Assert.All(labs!.Recommendations!, r => Assert.Equal("lab", r.ContentType));

        // personality analysis of the progress Core holds, then the stored analysis; another learner's is refused
        var analysis = await ai.Api.V1.Personality.Analyze.PostAsync(new AiModels.PersonalityRequest { UserId = me.Id });
        Assert.Equal(1, analysis!.RecordsAnalyzed);
        Assert.NotEmpty(analysis.Traits!);
        var last = await ai.Api.V1.Personality[me.Id.Value].GetAsync();
        Assert.Equal(analysis.Summary, last!.Summary);
        var other = await Assert.ThrowsAsync<AiModels.Error>(() => ai.Api.V1.Personality.Analyze.PostAsync(new AiModels.PersonalityRequest { UserId = me.Id + 1_000_000 }));
        Assert.Equal(403, other.ResponseStatusCode);
    }
}
