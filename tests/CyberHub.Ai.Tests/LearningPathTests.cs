using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Contracts;
using CyberHub.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Ai.Tests;

/// <summary>
/// Learning paths: <c>metadata.level</c> and <c>metadata.prerequisites</c> are checked wherever an item is written (the
/// store API and the importer), on both stores; a refused write changes nothing.
/// </summary>
public abstract class LearningPathTests<TServer>(TServer server) where TServer : AiServer
{
    private static string NewId(string name) => $"{name}-{Guid.NewGuid():N}"[..24];

    private static StoreEmbeddingsRequest Item(string type, string id, JsonObject metadata) =>
        new([$"Text of {id}"], type, id, $"Title {id}", $"Description of {id}", metadata);

    private static JsonObject Requires(params string[] references) =>
        new() { ["prerequisites"] = new JsonArray([.. references.Select(r => (JsonNode?)JsonValue.Create(r))]) };

    private static async Task StoreAsync(HttpClient client, string type, string id, JsonObject metadata) =>
        await (await client.PostJsonAsync("/api/v1/embeddings/store", Item(type, id, metadata))).ReadAsync<StoreEmbeddingsResponse>();

    private static async Task<ContentItemDto> GetAsync(HttpClient client, string type, string id) =>
        await (await client.GetAsync($"/api/v1/content/{type}/{id}")).ReadAsync<ContentItemDto>();

    private static string[] Prerequisites(ContentItemDto item) =>
        item.Metadata["prerequisites"] is JsonArray list ? [.. list.Select(n => (string)n!)] : [];

    [Fact]
    public async Task Level_and_prerequisites_are_stored_in_their_normal_form_and_returned()
    {
        using var admin = await server.AdminClientAsync();
        var (basics, lab) = (NewId("basics"), NewId("lab"));
        await StoreAsync(admin, "lesson", basics, new JsonObject { ["level"] = "beginner" });
        await StoreAsync(admin, "lab", lab, new JsonObject
        {
            ["level"] = " Advanced ",
            ["topic"] = "web-security",
            ["prerequisites"] = new JsonArray($" lesson:{basics} ", "lesson:sql-injection-and-parameterized-queries"),
        });

        var stored = await GetAsync(admin, "lab", lab);
        Assert.Equal("advanced", (string?)stored.Metadata["level"]);
        Assert.Equal([$"lesson:{basics}", "lesson:sql-injection-and-parameterized-queries"], Prerequisites(stored));
        Assert.Equal("web-security", (string?)stored.Metadata["topic"]);
        var facts = ContentFacts.From(await server.Services.GetRequiredService<CyberHub.Ai.VectorStore.IVectorStore>()
            .GetAsync(new("lab", lab)) ?? throw new InvalidOperationException("not stored"));
        Assert.Equal("advanced", facts.Level);
        Assert.Equal([new("lesson", basics), new("lesson", "sql-injection-and-parameterized-queries")], facts.Before);
    }

    public static TheoryData<string, string> BadPaths => new()
    {
        { """{"level":"expert"}""", "metadata.level: one of beginner, intermediate, advanced" },
        { """{"level":3}""", "metadata.level:" },
        { """{"prerequisites":"lesson:sql-injection-and-parameterized-queries"}""", "metadata.prerequisites: an array" },
        { """{"prerequisites":["lesson:sql-injection-and-parameterized-queries",42]}""", "metadata.prerequisites[1]: a reference is" },
        { """{"prerequisites":["sql-injection-and-parameterized-queries"]}""", "metadata.prerequisites[0]: a reference is" },
        { """{"prerequisites":["lesson:"]}""", "metadata.prerequisites[0]: a reference is" },
        { """{"prerequisites":["podcast:x"]}""", "metadata.prerequisites[0]: 'podcast' is not a content type" },
        { """{"prerequisites":["lesson:a b"]}""", "metadata.prerequisites[0]: the content id" },
        { """{"prerequisites":["lesson:.."]}""", "metadata.prerequisites[0]: the content id: may not consist of dots" },
        { """{"prerequisites":["lesson:sql-injection-and-parameterized-queries","lesson:sql-injection-and-parameterized-queries"]}""", "metadata.prerequisites[1]: lesson:sql-injection-and-parameterized-queries is given twice" },
        { """{"prerequisites":["lesson:sql-injection-and-parameterized-queries","lab:SELF"]}""", "metadata.prerequisites[1]: an item may not require itself" },
        { """{"prerequisites":["lesson:sql-injection-and-parameterized-queries","lab:no-such-item-anywhere"]}""", "metadata.prerequisites[1]: lab:no-such-item-anywhere is not in the catalog" },
        { $$"""{"prerequisites":[{{string.Join(",", Enumerable.Range(0, 21).Select(i => $"\"lab:x{i}\""))}}]}""", "metadata.prerequisites: at most 20 references (got 21)" },
    };

    [Theory]
    [MemberData(nameof(BadPaths))]
    public async Task Bad_levels_and_prerequisites_are_400_naming_the_field_and_store_nothing(string metadata, string expected)
    {
        using var admin = await server.AdminClientAsync();
        var id = NewId("bad");
        var body = $$"""{"texts":["x"],"content_type":"lab","content_id":"{{id}}","title":"t","metadata":{{metadata.Replace("SELF", id)}}}""";
        var detail = await (await admin.SendRawAsync(HttpMethod.Post, "/api/v1/embeddings/store", body)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);
        await (await admin.GetAsync($"/api/v1/content/lab/{id}")).DetailAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_existing_item_refused_for_its_prerequisites_is_left_as_it_was()
    {
        using var admin = await server.AdminClientAsync();
        var id = NewId("kept");
        await StoreAsync(admin, "lab", id, new JsonObject { ["level"] = "beginner", ["prerequisites"] = new JsonArray("lesson:sql-injection-and-parameterized-queries") });
        var before = await GetAsync(admin, "lab", id);

        var detail = await (await admin.PostJsonAsync("/api/v1/embeddings/store",
            Item("lab", id, new JsonObject { ["level"] = "intermediate", ["prerequisites"] = new JsonArray("lab:missing-one") }) with { Title = "Renamed" }))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("metadata.prerequisites[0]: lab:missing-one is not in the catalog", detail, StringComparison.Ordinal);

        var after = await GetAsync(admin, "lab", id);
        Assert.Equal(before.Title, after.Title);
        Assert.Equal(before.UpdatedAt, after.UpdatedAt);
        Assert.Equal(before.Metadata.ToJsonString(), after.Metadata.ToJsonString());
    }

    [Fact]
    public async Task A_prerequisite_that_leads_back_to_the_item_is_refused_as_a_cycle()
    {
        using var admin = await server.AdminClientAsync();
        var (a, b, c) = (NewId("a"), NewId("b"), NewId("c"));
        await StoreAsync(admin, "lesson", a, new JsonObject { ["level"] = "beginner" });
        await StoreAsync(admin, "lesson", b, Requires($"lesson:{a}"));
        await StoreAsync(admin, "lab", c, Requires("lesson:sql-injection-and-parameterized-queries", $"lesson:{b}"));
        var before = await GetAsync(admin, "lesson", a);

        // a -> c -> b -> a.
        var detail = await (await admin.PostJsonAsync("/api/v1/embeddings/store", Item("lesson", a, Requires($"lab:{c}")))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains($"metadata.prerequisites[0]: lab:{c} requires this item (lesson:{a} → lab:{c} → lesson:{b} → lesson:{a})", detail, StringComparison.Ordinal);
        // Directly: b requires a, so a may not require b.
        detail = await (await admin.PostJsonAsync("/api/v1/embeddings/store", Item("lesson", a, Requires("lesson:sql-injection-and-parameterized-queries", $"lesson:{b}"))))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains($"metadata.prerequisites[1]: lesson:{b} requires this item", detail, StringComparison.Ordinal);

        var after = await GetAsync(admin, "lesson", a);
        Assert.Equal(before.UpdatedAt, after.UpdatedAt);
        Assert.Empty(Prerequisites(after));

        // Another item may require the whole chain.
        var d = NewId("d");
        await StoreAsync(admin, "course", d, Requires($"lab:{c}", $"lesson:{a}"));
        Assert.Equal([$"lab:{c}", $"lesson:{a}"], Prerequisites(await GetAsync(admin, "course", d)));
    }

    [Fact]
    public async Task Two_writes_at_once_that_each_close_half_of_a_cycle_never_both_commit()
    {
        // a requires b and b requires a, sent at the same time: each alone is fine, together they are a cycle. The check
        // runs in the write's transaction under the catalog's write lock, so the second to take the lock sees the first.
        // Checked before the write only, both passed (each write embeds its text between the check and the commit).
        using var admin = await server.AdminClientAsync();
        for (var round = 0; round < 6; round++)
        {
            var (a, b) = (NewId("a"), NewId("b"));
            await StoreAsync(admin, "lesson", a, new JsonObject { ["level"] = "beginner" });
            await StoreAsync(admin, "lesson", b, new JsonObject { ["level"] = "beginner" });

            var answers = await Task.WhenAll(
                admin.PostJsonAsync("/api/v1/embeddings/store", Item("lesson", a, Requires($"lesson:{b}"))),
                admin.PostJsonAsync("/api/v1/embeddings/store", Item("lesson", b, Requires($"lesson:{a}"))));

            var stored = new[] { Prerequisites(await GetAsync(admin, "lesson", a)), Prerequisites(await GetAsync(admin, "lesson", b)) };
            Assert.Contains(stored, p => p.Length == 0);
            Assert.Equal(1, answers.Count(r => r.StatusCode == HttpStatusCode.OK));
            var refused = Assert.Single(answers, r => r.StatusCode != HttpStatusCode.OK);
            Assert.Contains("prerequisites may not form a cycle", await refused.DetailAsync(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_json_import_may_list_items_before_the_items_they_require()
    {
        var (first, second, third) = (NewId("first"), NewId("second"), NewId("third"));
        var json = $$"""
            [
              {"content_type":"lab","content_id":"{{third}}","title":"Third","description":"Needs both.","level":"ADVANCED","prerequisites":["lesson:{{second}}","course:{{first}}"]},
              {"content_type":"lesson","content_id":"{{second}}","title":"Second","description":"Needs the first.","prerequisites":["course:{{first}}","lesson:sql-injection-and-parameterized-queries"]},
              {"content_type":"course","content_id":"{{first}}","title":"First","description":"Needs nothing.","level":"beginner"}
            ]
            """;
        var entries = CatalogImporter.ReadJson(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        Assert.Equal("advanced", (string?)entries[0].Metadata["level"]);
        await using (var scope = server.Services.CreateAsyncScope())
        {
            Assert.Equal(3, await scope.ServiceProvider.GetRequiredService<CatalogImporter>().ImportAsync(entries));
        }
        using var learner = await server.LearnerClientAsync();
        var item = await GetAsync(learner, "lab", third);
        Assert.Equal("advanced", (string?)item.Metadata["level"]);
        Assert.Equal([$"lesson:{second}", $"course:{first}"], Prerequisites(item));
        Assert.Equal([$"course:{first}", "lesson:sql-injection-and-parameterized-queries"], Prerequisites(await GetAsync(learner, "lesson", second)));
    }

    [Fact]
    public async Task A_csv_import_reads_space_separated_prerequisites_in_any_order()
    {
        var (first, second) = (NewId("first"), NewId("second"));
        var csv = "content_type,content_id,title,description,level,prerequisites\n" +
            $"lab,{second},Second,Needs the first.,Intermediate,course:{first}  lesson:sql-injection-and-parameterized-queries\n" +
            $"course,{first},First,Needs nothing.,,\n";
        var entries = CatalogImporter.ReadCsv(new StringReader(csv));
        Assert.False(entries[1].Metadata.ContainsKey("level"));
        Assert.False(entries[1].Metadata.ContainsKey("prerequisites"));
        await using (var scope = server.Services.CreateAsyncScope())
        {
            Assert.Equal(2, await scope.ServiceProvider.GetRequiredService<CatalogImporter>().ImportAsync(entries));
        }
        using var learner = await server.LearnerClientAsync();
        var item = await GetAsync(learner, "lab", second);
        Assert.Equal("intermediate", (string?)item.Metadata["level"]);
        Assert.Equal([$"course:{first}", "lesson:sql-injection-and-parameterized-queries"], Prerequisites(item));
        await GetAsync(learner, "course", first);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("cycle")]
    [InlineData("cycle-through-the-store")]
    public async Task An_import_with_an_unknown_prerequisite_or_a_cycle_names_the_item_and_stores_nothing(string kind)
    {
        using var admin = await server.AdminClientAsync();
        var (first, second, stored, requiresStored) = (NewId("first"), NewId("second"), NewId("stored"), NewId("requires"));
        await StoreAsync(admin, "lesson", stored, new JsonObject());
        await StoreAsync(admin, "lesson", requiresStored, Requires($"lesson:{stored}"));
        var (line2, line3, expected) = kind switch
        {
            "missing" => ($"lab,{first},First,x,,lab:{second}", $"lab,{second},Second,x,,lab:nowhere-{first}",
                $"Item 3: metadata.prerequisites[0]: lab:nowhere-{first} is neither in the file nor in the catalog"),
            "cycle" => ($"lab,{first},First,x,,lab:{second}", $"lab,{second},Second,x,,lab:{first}",
                $"Item 2: metadata.prerequisites[0]: lab:{second} requires this item (lab:{first} → lab:{second} → lab:{first})"),
            // The stored item requiresStored requires stored, which the file makes require first.
            _ => ($"lab,{first},First,x,,lesson:{requiresStored}", $"lesson,{stored},Stored again,x,,lab:{first}",
                $"Item 2: metadata.prerequisites[0]: lesson:{requiresStored} requires this item (lab:{first} → lesson:{requiresStored} → lesson:{stored} → lab:{first})"),
        };
        var entries = CatalogImporter.ReadCsv(new StringReader($"content_type,content_id,title,description,level,prerequisites\n{line2}\n{line3}\n"));
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var error = await Assert.ThrowsAsync<FormatException>(() => scope.ServiceProvider.GetRequiredService<CatalogImporter>().ImportAsync(entries));
            Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        }
        await (await admin.GetAsync($"/api/v1/content/lab/{first}")).DetailAsync(HttpStatusCode.NotFound);
        await (await admin.GetAsync($"/api/v1/content/lab/{second}")).DetailAsync(HttpStatusCode.NotFound);
        Assert.Equal($"Title {stored}", (await GetAsync(admin, "lesson", stored)).Title);
    }
}

public sealed class EmbeddedLearningPathTests(EmbeddedAiServer server) : LearningPathTests<EmbeddedAiServer>(server), IClassFixture<EmbeddedAiServer>;

public sealed class PgVectorLearningPathTests(PgVectorAiServer server) : LearningPathTests<PgVectorAiServer>(server), IClassFixture<PgVectorAiServer>;

public sealed class PrerequisiteOrderTests
{
    [Fact]
    public void Items_come_in_rounds_after_the_items_of_the_batch_they_require_and_cycles_come_last()
    {
        (string Key, JsonObject Metadata) Item(string key, params string[] before) =>
            (key, new JsonObject { ["prerequisites"] = new JsonArray([.. before.Select(b => (JsonNode?)JsonValue.Create(b))]) });
        var items = new[]
        {
            Item("lab:c", "lesson:b", "course:a"),
            Item("lesson:b", "course:a", "lesson:elsewhere"),
            Item("course:a"),
            Item("lab:x", "lab:y"),
            Item("lab:y", "lab:x"),
            Item("lab:self", "lab:self"),
        };
        var rounds = ContentPaths.InPrerequisiteOrder(items, i => i.Key, i => i.Metadata);
        Assert.Equal([["course:a", "lab:self"], ["lesson:b"], ["lab:c"], ["lab:x", "lab:y"]], rounds.Select(r => r.Select(i => i.Key).ToArray()).ToArray());
    }
}
