using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Ai.Tests;

/// <summary><c>POST /embeddings/store</c> is an upsert: who may replace an existing item.</summary>
public abstract class ContentOwnershipApiTests<TServer>(TServer server) where TServer : AiServer
{
    private const string Store = "/api/v1/embeddings/store";

    private async Task<HttpClient> ContentCreatorAsync(string name)
    {
        var learner = await server.Core.RegisterAsync(name);
        using var admin = await server.Core.AdminClientAsync();
        (await admin.PutAsJsonAsync($"/api/v1/users/{learner.User.Id}/roles/", new SetRolesRequest([Roles.ContentCreator]), CyberHubJson.Options))
            .EnsureSuccessStatusCode();
        using var anonymous = server.Core.CreateClient();
        var pair = await (await anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(learner.User.Email, null, learner.Password))).ReadAsync<TokenPair>();
        return server.CreateClient(pair.Access);
    }

    private async Task<HttpClient> ServiceClientAsync()
    {
        using var admin = await server.Core.AdminClientAsync();
        var created = await (await admin.PostJsonAsync("/api/v1/service-clients/", new CreateServiceClientRequest("catalog sync")))
            .ReadAsync<ServiceClientCreated>(HttpStatusCode.Created);
        using var core = server.Core.CreateClient();
        var token = await (await core.PostJsonAsync("/api/v1/token/service/", new ClientCredentialsRequest(created.ClientId, created.ClientSecret)))
            .ReadAsync<ServiceTokenResponse>();
        return server.CreateClient(token.Access);
    }

    private static StoreEmbeddingsRequest Item(string id, string title) =>
        new([$"{title}: how to find and fix it"], "lab", id, title, $"Description of {id}", new JsonObject { ["topic"] = "ownership" });

    private async Task<string> TitleAsync(string id)
    {
        using var learner = await server.LearnerClientAsync();
        return (await (await learner.GetAsync($"/api/v1/content/lab/{id}")).ReadAsync<ContentItemDto>()).Title;
    }

    [Fact]
    public async Task A_content_creator_cannot_overwrite_an_item_an_admin_created()
    {
        using var admin = await server.AdminClientAsync();
        using var creator = await ContentCreatorAsync("writer");
        var id = $"admins-{Guid.NewGuid():N}";
        await (await admin.PostJsonAsync(Store, Item(id, "Official lab"))).ReadAsync<StoreEmbeddingsResponse>();

        var detail = await (await creator.PostJsonAsync(Store, Item(id, "Defaced"))).DetailAsync(HttpStatusCode.Forbidden);
        Assert.Contains("belongs to another author", detail, StringComparison.Ordinal);
        using var keyed = new HttpRequestMessage(HttpMethod.Post, Store) { Content = JsonContent.Create(Item(id, "Defaced again"), options: CyberHubJson.Options) };
        keyed.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        await (await creator.SendAsync(keyed)).DetailAsync(HttpStatusCode.Forbidden);
        Assert.Equal("Official lab", await TitleAsync(id));

        await (await admin.PostJsonAsync(Store, Item(id, "Official lab, revised"))).ReadAsync<StoreEmbeddingsResponse>();
        Assert.Equal("Official lab, revised", await TitleAsync(id));
    }

    [Fact]
    public async Task Content_creators_replace_their_own_items_only_and_keep_them_when_an_admin_edits()
    {
        using var alice = await ContentCreatorAsync("alice");
        using var bob = await ContentCreatorAsync("bob");
        using var admin = await server.AdminClientAsync();
        var id = $"alices-{Guid.NewGuid():N}";
        await (await alice.PostJsonAsync(Store, Item(id, "Alice's lab"))).ReadAsync<StoreEmbeddingsResponse>();

        await (await bob.PostJsonAsync(Store, Item(id, "Bob's now"))).DetailAsync(HttpStatusCode.Forbidden);
        Assert.Equal("Alice's lab", await TitleAsync(id));

        await (await alice.PostJsonAsync(Store, Item(id, "Alice's lab v2"))).ReadAsync<StoreEmbeddingsResponse>();
        await (await admin.PostJsonAsync(Store, Item(id, "Alice's lab, copy-edited"))).ReadAsync<StoreEmbeddingsResponse>();
        // The admin's edit leaves the item Alice's: she may still change it, Bob still may not.
        await (await bob.PostJsonAsync(Store, Item(id, "Bob's now"))).DetailAsync(HttpStatusCode.Forbidden);
        await (await alice.PostJsonAsync(Store, Item(id, "Alice's lab v3"))).ReadAsync<StoreEmbeddingsResponse>();
        Assert.Equal("Alice's lab v3", await TitleAsync(id));
    }

    [Fact]
    public async Task Imported_items_belong_to_the_platform_and_only_admins_and_service_clients_replace_them()
    {
        var id = $"imported-{Guid.NewGuid():N}";
        await using (var scope = server.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<CatalogImporter>().ImportAsync(
                [new CatalogEntry("lab", id, "Imported lab", "From the catalog file", new JsonObject())]);
        }
        using var creator = await ContentCreatorAsync("importer");
        await (await creator.PostJsonAsync(Store, Item(id, "Taken over"))).DetailAsync(HttpStatusCode.Forbidden);
        Assert.Equal("Imported lab", await TitleAsync(id));

        using var service = await ServiceClientAsync();
        await (await service.PostJsonAsync(Store, Item(id, "Synced from the source"))).ReadAsync<StoreEmbeddingsResponse>();
        Assert.Equal("Synced from the source", await TitleAsync(id));
        await (await creator.PostJsonAsync(Store, Item(id, "Taken over"))).DetailAsync(HttpStatusCode.Forbidden);

        // A demo catalog item, stored at start with no owner, likewise.
        using var learner = await server.LearnerClientAsync();
        var demo = (await (await learner.GetAsync("/api/v1/content/?content_type=course&page_size=1")).ReadAsync<PagedResponse<ContentItemDto>>()).Results[0];
        await (await creator.PostJsonAsync(Store, Item(id, "x") with { ContentType = demo.ContentType, ContentId = demo.ContentId }))
            .DetailAsync(HttpStatusCode.Forbidden);
        Assert.Equal(demo.Title, (await (await learner.GetAsync($"/api/v1/content/{demo.ContentType}/{demo.ContentId}")).ReadAsync<ContentItemDto>()).Title);
    }

    [Fact]
    public async Task A_service_client_stores_new_items_and_replaces_a_creators()
    {
        using var service = await ServiceClientAsync();
        using var creator = await ContentCreatorAsync("synced");
        var id = $"creators-{Guid.NewGuid():N}";
        await (await creator.PostJsonAsync(Store, Item(id, "Creator's lab"))).ReadAsync<StoreEmbeddingsResponse>();
        await (await service.PostJsonAsync(Store, Item(id, "Synced lab"))).ReadAsync<StoreEmbeddingsResponse>();
        Assert.Equal("Synced lab", await TitleAsync(id));
        // Still the creator's.
        await (await creator.PostJsonAsync(Store, Item(id, "Creator's lab v2"))).ReadAsync<StoreEmbeddingsResponse>();

        var fresh = $"service-{Guid.NewGuid():N}";
        await (await service.PostJsonAsync(Store, Item(fresh, "Service lab"))).ReadAsync<StoreEmbeddingsResponse>();
        await (await creator.PostJsonAsync(Store, Item(fresh, "Taken over"))).DetailAsync(HttpStatusCode.Forbidden);
    }
}

public sealed class EmbeddedContentOwnershipApiTests(EmbeddedAiServer server)
    : ContentOwnershipApiTests<EmbeddedAiServer>(server), IClassFixture<EmbeddedAiServer>;

public sealed class PgVectorContentOwnershipApiTests(PgVectorAiServer server)
    : ContentOwnershipApiTests<PgVectorAiServer>(server), IClassFixture<PgVectorAiServer>;
