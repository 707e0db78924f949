using System.Net;
using System.Text.Json.Nodes;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Contracts;
using CyberHub.Testing;

namespace CyberHub.Ai.Tests;

/// <summary>
/// The catalog list's facets: filters by level, topic, duration and prerequisite, sorting by level, duration and title,
/// and <c>GET /content/facets</c>, the same on both stores; a bad parameter is a 400 naming it.
/// </summary>
public abstract class CatalogFacetTests<TServer>(TServer server) where TServer : AiServer
{
    private static string NewId(string name) => $"{name}-{Guid.NewGuid():N}"[..24];

    private static async Task StoreAsync(HttpClient client, string type, string id, string title, JsonObject metadata) =>
        await (await client.PostJsonAsync("/api/v1/embeddings/store",
            new StoreEmbeddingsRequest([$"Text of {title}"], type, id, title, $"About {title}", metadata))).ReadAsync<StoreEmbeddingsResponse>();

    private static async Task<(int Count, string Ids)> ListAsync(HttpClient client, string query)
    {
        var page = await (await client.GetAsync($"/api/v1/content/?page_size=100&{query}")).ReadAsync<PagedResponse<ContentItemDto>>();
        return (page.Count, Ids([.. page.Results.Select(i => i.ContentId)]));
    }

    private static string Ids(params string[] ids) => string.Join(" ", ids);

    [Fact]
    public async Task The_list_filters_and_sorts_by_level_topic_duration_and_prerequisite()
    {
        using var admin = await server.AdminClientAsync();
        var topic = NewId("facet-topic");
        var (a, b, c, d, e) = (NewId("adv"), NewId("beg"), NewId("mid"), NewId("none"), NewId("beg2"));
        await StoreAsync(admin, "lesson", b, "Bravo basics", new JsonObject { ["topic"] = topic, ["level"] = "beginner", ["duration_minutes"] = "90" });
        await StoreAsync(admin, "lab", a, "Alpha attack lab", new JsonObject { ["topic"] = topic, ["level"] = "advanced", ["duration_minutes"] = 30 });
        await StoreAsync(admin, "course", c, "Charlie course", new JsonObject { ["topic"] = topic, ["level"] = "intermediate", ["duration_minutes"] = 600 });
        await StoreAsync(admin, "article", d, "Delta notes", new JsonObject { ["topic"] = topic });
        await StoreAsync(admin, "article", e, "Echo basics", new JsonObject
        {
            ["topic"] = " " + topic.ToUpperInvariant() + " ", ["level"] = "Beginner", ["duration_minutes"] = 15, ["prerequisites"] = new JsonArray($"lesson:{b}"),
        });

        Assert.Equal((5, Ids(b, e, c, a, d)), await ListAsync(admin, $"topic={topic}&sort=level"));
        Assert.Equal((5, Ids(e, a, b, c, d)), await ListAsync(admin, $"topic={topic}&sort=duration"));
        Assert.Equal((5, Ids(a, b, c, d, e)), await ListAsync(admin, $"topic={topic.ToUpperInvariant()}&sort=title"));
        Assert.Equal((2, Ids(b, e)), await ListAsync(admin, $"topic={topic}&level=BEGINNER&sort=level"));
        Assert.Equal((2, Ids(e, a)), await ListAsync(admin, $"topic={topic}&max_duration=60&sort=duration"));
        Assert.Equal((1, Ids(b)), await ListAsync(admin, $"topic={topic}&max_duration=90&content_type=lesson"));
        Assert.Equal((1, Ids(e)), await ListAsync(admin, $"requires=lesson:{b}"));
        Assert.Equal((0, Ids()), await ListAsync(admin, $"requires=lesson:{a}"));

        // Paging keeps the order and the count.
        var second = await (await admin.GetAsync($"/api/v1/content/?topic={topic}&sort=level&page=2&page_size=2")).ReadAsync<PagedResponse<ContentItemDto>>();
        Assert.Equal((5, Ids(c, a)), (second.Count, Ids([.. second.Results.Select(i => i.ContentId)])));

        var facets = await (await admin.GetAsync("/api/v1/content/facets")).ReadAsync<ContentFacets>();
        Assert.Contains(facets.Topics, f => f.Value == topic && f.Count == 4);
        Assert.Contains(facets.Topics, f => f.Value == topic.ToUpperInvariant() && f.Count == 1);
        Assert.Equal(facets.Levels.Select(l => l.Value).Where(ContentPaths.Levels.Contains), ContentPaths.Levels.Where(facets.Levels.Select(l => l.Value).Contains));
        var articles = await (await admin.GetAsync("/api/v1/content/facets?content_type=article")).ReadAsync<ContentFacets>();
        Assert.Contains(articles.Topics, f => f.Value == topic && f.Count == 1);
        Assert.True(articles.Total < facets.Total);
    }

    [Theory]
    [InlineData("level=expert", "level: one of beginner, intermediate, advanced")]
    [InlineData("sort=popular", "sort: one of level, duration, title")]
    [InlineData("max_duration=0", "max_duration:")]
    [InlineData("max_duration=abc", "max_duration:")]
    [InlineData("max_duration=1.5", "max_duration:")]
    [InlineData("max_duration=100001", "max_duration:")]
    [InlineData("topic=", "topic:")]
    [InlineData("topic=%07bell", "topic:")]
    [InlineData("requires=nope", "requires:")]
    [InlineData("requires=spell:x", "requires:")]
    [InlineData("content_type=bogus", "content_type")]
    public async Task A_bad_list_parameter_is_400_naming_it(string query, string expected)
    {
        using var admin = await server.AdminClientAsync();
        var detail = await (await admin.GetAsync($"/api/v1/content/?{query}")).DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith(expected, detail, StringComparison.Ordinal);
    }
}

public sealed class EmbeddedCatalogFacetTests(EmbeddedAiServer server) : CatalogFacetTests<EmbeddedAiServer>(server), IClassFixture<EmbeddedAiServer>;

public sealed class PgVectorCatalogFacetTests(PgVectorAiServer server) : CatalogFacetTests<PgVectorAiServer>(server), IClassFixture<PgVectorAiServer>;
