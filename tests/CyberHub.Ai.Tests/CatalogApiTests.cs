using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Contracts;
using CyberHub.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Ai.Tests;

public abstract class CatalogApiTests<TServer>(TServer server) where TServer : AiServer
{
    private async Task<HttpClient> ContentCreatorAsync()
    {
        var learner = await server.Core.RegisterAsync("author");
        using var admin = await server.Core.AdminClientAsync();
        (await admin.PutAsJsonAsync($"/api/v1/users/{learner.User.Id}/roles/", new SetRolesRequest([Roles.ContentCreator]), CyberHubJson.Options))
            .EnsureSuccessStatusCode();
        using var anonymous = server.Core.CreateClient();
        var pair = await (await anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(learner.User.Email, null, learner.Password))).ReadAsync<TokenPair>();
        return server.CreateClient(pair.Access);
    }

    private static StoreEmbeddingsRequest Item(string id, params string[] texts) =>
        new(texts, "lab", id, $"Title {id}", $"Description of {id}", new JsonObject { ["topic"] = "testing" });

    [Fact]
    public async Task Every_route_needs_a_core_token_and_refuses_forged_ones()
    {
        using var anonymous = server.CreateClient();
        await (await anonymous.PostJsonAsync("/api/v1/embeddings", new EmbeddingsRequest(["x"]))).DetailAsync(HttpStatusCode.Unauthorized);
        await (await anonymous.GetAsync("/api/v1/content/")).DetailAsync(HttpStatusCode.Unauthorized);

        using var forged = server.CreateClient("eyJhbGciOiJFUzI1NiIsImtpZCI6Im5vcGUiLCJ0eXAiOiJhdCtqd3QifQ.eyJzdWIiOiIxIn0.AAAA");
        await (await forged.GetAsync("/api/v1/content/")).DetailAsync(HttpStatusCode.Unauthorized);

        using var learner = await server.LearnerClientAsync();
        var page = await (await learner.GetAsync("/api/v1/content/")).ReadAsync<PagedResponse<ContentItemDto>>();
        Assert.True(page.Count >= 60, $"the demo catalog holds {page.Count} items");
    }

    [Fact]
    public async Task Embeddings_answer_one_unit_vector_per_text_with_the_model_name()
    {
        using var learner = await server.LearnerClientAsync();
        var response = await (await learner.PostJsonAsync("/api/v1/embeddings", new EmbeddingsRequest(["A man is eating food.", "A man is eating a piece of bread."])))
            .ReadAsync<EmbeddingsResponse>();
        Assert.Equal("sentence-transformers/all-MiniLM-L6-v2", response.Model);
        Assert.Equal(384, response.Dimension);
        Assert.Equal(["A man is eating food.", "A man is eating a piece of bread."], response.Embeddings.Select(e => e.Text));
        var (a, b) = (response.Embeddings[0].Embedding, response.Embeddings[1].Embedding);
        Assert.Equal(384, a.Length);
        Assert.Equal(0.7553, a.Zip(b, (x, y) => (double)x * y).Sum(), 0.001);
    }

    [Theory]
    [InlineData(0, 10, "texts: give between 1 and 256")]
    [InlineData(257, 10, "at most 256 texts")]
    [InlineData(1, 8_001, "at most 8000")]
    [InlineData(1, 0, "is empty")]
    public async Task Embedding_limits_are_400_saying_which(int count, int length, string expected)
    {
        using var learner = await server.LearnerClientAsync();
        var texts = Enumerable.Repeat(new string('a', length), count).ToArray();
        var detail = await (await learner.PostJsonAsync("/api/v1/embeddings", new EmbeddingsRequest(texts))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Storing_needs_a_content_role_and_learners_are_refused()
    {
        using var learner = await server.LearnerClientAsync();
        await (await learner.PostJsonAsync("/api/v1/embeddings/store", Item("refused", "text"))).DetailAsync(HttpStatusCode.Forbidden);
        await (await learner.GetAsync("/api/v1/content/lab/refused")).DetailAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Storing_again_replaces_the_item_with_stable_ids()
    {
        using var author = await ContentCreatorAsync();
        var id = $"lab-{Guid.NewGuid():N}";
        var first = await (await author.PostJsonAsync("/api/v1/embeddings/store", Item(id, "one", "two", "three"))).ReadAsync<StoreEmbeddingsResponse>();
        Assert.Equal("success", first.Status);
        Assert.Equal(3, first.StoredCount);
        Assert.Equal([$"lab:{id}:0", $"lab:{id}:1", $"lab:{id}:2"], first.Ids);

        var stored = await (await author.GetAsync($"/api/v1/content/lab/{id}")).ReadAsync<ContentItemDto>();
        var before = (await (await author.GetAsync("/api/v1/content/?content_type=lab&page_size=1")).ReadAsync<PagedResponse<ContentItemDto>>()).Count;

        var second = await (await author.PostJsonAsync("/api/v1/embeddings/store", Item(id, "one again", "two again") with { Title = "Renamed" }))
            .ReadAsync<StoreEmbeddingsResponse>();
        Assert.Equal(first.Ids.Take(2), second.Ids);
        var replaced = await (await author.GetAsync($"/api/v1/content/lab/{id}")).ReadAsync<ContentItemDto>();
        Assert.Equal("Renamed", replaced.Title);
        Assert.Equal(2, replaced.ChunkCount);
        Assert.Equal(stored.CreatedAt, replaced.CreatedAt);
        Assert.Equal("testing", (string?)replaced.Metadata["topic"]);
        var after = (await (await author.GetAsync("/api/v1/content/?content_type=lab&page_size=1")).ReadAsync<PagedResponse<ContentItemDto>>()).Count;
        Assert.Equal(before, after);
    }

    [Theory]
    [InlineData("""{"texts":["x"],"content_id":"a"}""", "content_type is required")]
    [InlineData("""{"texts":["x"],"content_type":"podcast","content_id":"a"}""", "content_type:")]
    [InlineData("""{"texts":["x"],"content_type":"lab"}""", "content_id is required")]
    [InlineData("""{"texts":[],"content_type":"lab","content_id":"a"}""", "texts:")]
    [InlineData("""{"content_type":"lab","content_id":"a"}""", "texts:")]
    [InlineData("""{"texts":"x","content_type":"lab","content_id":"a"}""", "$.texts")]
    [InlineData("""{"texts":["x"],"content_type":"lab","content_id":"a","metadata":"no"}""", "$.metadata")]
    public async Task Invalid_store_requests_are_400_and_store_nothing(string json, string expected)
    {
        using var author = await ContentCreatorAsync();
        var detail = await (await author.SendRawAsync(HttpMethod.Post, "/api/v1/embeddings/store", json)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);
        await (await author.GetAsync("/api/v1/content/lab/a")).DetailAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Search_finds_items_by_meaning_and_honours_the_type_filter()
    {
        using var learner = await server.LearnerClientAsync();
        var results = await (await learner.PostJsonAsync("/api/v1/content/search", new ContentSearchRequest("stopping SQL injection in a login form", null, 5)))
            .ReadAsync<ContentSearchResponse>();
        Assert.Equal(5, results.Total);
        Assert.Contains("inject", results.Results[0].Title + results.Results[0].Description, StringComparison.OrdinalIgnoreCase);
        Assert.True(results.Results.Zip(results.Results.Skip(1)).All(p => p.First.Score >= p.Second.Score));

        var labs = await (await learner.PostJsonAsync("/api/v1/content/search", new ContentSearchRequest("memory forensics", "lab", 10)))
            .ReadAsync<ContentSearchResponse>();
        Assert.Equal(10, labs.Results.Count);
        Assert.All(labs.Results, r => Assert.Equal("lab", r.ContentType));

        await (await learner.PostJsonAsync("/api/v1/content/search", new ContentSearchRequest("", null, 5))).DetailAsync(HttpStatusCode.BadRequest);
        await (await learner.PostJsonAsync("/api/v1/content/search", new ContentSearchRequest("x", null, 51))).DetailAsync(HttpStatusCode.BadRequest);
        await (await learner.PostJsonAsync("/api/v1/content/search", new ContentSearchRequest("x", "podcast", 5))).DetailAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task The_catalog_lists_in_pages_and_admins_delete()
    {
        using var author = await ContentCreatorAsync();
        var id = $"lab-{Guid.NewGuid():N}";
        await (await author.PostJsonAsync("/api/v1/embeddings/store", Item(id, "text"))).ReadAsync<StoreEmbeddingsResponse>();

        var page1 = await (await author.GetAsync("/api/v1/content/?content_type=course&page_size=5")).ReadAsync<PagedResponse<ContentItemDto>>();
        Assert.Equal(5, page1.Results.Count);
        Assert.All(page1.Results, r => Assert.Equal("course", r.ContentType));
        Assert.NotNull(page1.Next);
        var page2 = await (await author.GetAsync(page1.Next)).ReadAsync<PagedResponse<ContentItemDto>>();
        Assert.Empty(page1.Results.Select(r => r.ContentId).Intersect(page2.Results.Select(r => r.ContentId)));

        await (await author.DeleteAsync($"/api/v1/content/lab/{id}")).DetailAsync(HttpStatusCode.Forbidden);
        using var admin = await server.AdminClientAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/content/lab/{id}")).StatusCode);
        await (await admin.DeleteAsync($"/api/v1/content/lab/{id}")).DetailAsync(HttpStatusCode.NotFound);
        await (await author.GetAsync($"/api/v1/content/lab/{id}")).DetailAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_imported_catalog_file_is_searchable_through_the_api()
    {
        var path = Path.Combine(Path.GetTempPath(), $"catalog-{Guid.NewGuid():N}.csv");
        var id = $"quantum-{Guid.NewGuid():N}"[..20];
        await File.WriteAllTextAsync(path, "content_type,content_id,title,description,topic\n" +
            $"course,{id},Post-Quantum Key Exchange,\"Lattice-based ML-KEM (Kyber) replaces RSA and ECDH key exchange, and why hybrid TLS matters now.\",cryptography\n");
        try
        {
            await using (var scope = server.Services.CreateAsyncScope())
            {
                var imported = await scope.ServiceProvider.GetRequiredService<CatalogImporter>().ImportAsync(CatalogImporter.ReadFile(path));
                Assert.Equal(1, imported);
            }
            using var learner = await server.LearnerClientAsync();
            var item = await (await learner.GetAsync($"/api/v1/content/course/{id}")).ReadAsync<ContentItemDto>();
            Assert.Equal("cryptography", (string?)item.Metadata["topic"]);
            var found = await (await learner.PostJsonAsync("/api/v1/content/search", new ContentSearchRequest("post-quantum lattice key exchange Kyber", "course", 3)))
                .ReadAsync<ContentSearchResponse>();
            Assert.Equal(id, found.Results[0].ContentId);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Health_reports_the_vector_store()
    {
        using var anonymous = server.CreateClient();
        var health = await (await anonymous.GetAsync("/api/v1/health/")).ReadAsync<HealthResponse>();
        Assert.Equal("healthy", health.Status);
        Assert.StartsWith(server is PgVectorAiServer ? "pgvector" : "embedded", health.Checks["vector_store"].Description, StringComparison.Ordinal);
        Assert.Equal("healthy", health.Checks["core"].Status);
    }
}

public sealed class EmbeddedCatalogApiTests(EmbeddedAiServer server) : CatalogApiTests<EmbeddedAiServer>(server), IClassFixture<EmbeddedAiServer>;

public sealed class PgVectorCatalogApiTests(PgVectorAiServer server) : CatalogApiTests<PgVectorAiServer>(server), IClassFixture<PgVectorAiServer>;
