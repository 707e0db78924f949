using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Limits;
using CyberHub.Testing;

namespace CyberHub.Ai.Tests;

/// <summary>
/// Input the AI service must refuse with a 400 (413, 415) <c>{"detail"}</c> and never a 500, with the embedded store and
/// with pgvector (whose text and jsonb columns refuse U+0000: a NUL in a title or in metadata used to be a 500), and
/// without storing anything.
/// </summary>
public abstract class BadInputTests<TServer>(TServer server) where TServer : AiServer
{
    private const string Store = "/api/v1/embeddings/store";

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string StoreJson(string field, string literal)
    {
        var item = new JsonObject
        {
            ["texts"] = new JsonArray("A lab about malformed input."),
            ["content_type"] = "lab",
            ["content_id"] = $"bad-{Guid.NewGuid():N}",
            ["title"] = "Bad input",
            ["description"] = "Refused.",
            ["metadata"] = new JsonObject { ["topic"] = "testing" },
        };
        item[field] = "@@VALUE@@";
        return item.ToJsonString().Replace("\"@@VALUE@@\"", literal, StringComparison.Ordinal);
    }

    private async Task<string> CatalogAsync(HttpClient client) =>
        await (await client.GetAsync("/api/v1/content/?page_size=100&page=1")).Content.ReadAsStringAsync() +
        await (await client.GetAsync("/api/v1/content/?page_size=100&page=2")).Content.ReadAsStringAsync();

    [Theory]
    [InlineData("title", "\"Intro\\u0000\"", "title")]
    [InlineData("title", "\"Tab\\tinside\"", "title: control characters")]
    [InlineData("description", "\"\\u0000\"", "description")]
    [InlineData("description", "\"bell\\u0007\"", "description: control characters")]
    [InlineData("texts", "[\"chunk\\u0000\"]", "texts")]
    [InlineData("texts", "[\"escape \\u001b[31m\"]", "texts[0]: control characters")]
    [InlineData("content_id", "\"a\\u0000b\"", "content_id")]
    [InlineData("content_id", "\"course/module-1\"", "content_id")]
    [InlineData("metadata", "{\"topic\":\"\\u0000\"}", "metadata")]
    [InlineData("metadata", "{\"\\u0000\":1}", "metadata")]
    [InlineData("metadata", "{\"tags\":[\"a\",{\"x\":\"\\u0000\"}]}", "metadata")]
    [InlineData("metadata", "{\"topic\":\"a\",\"topic\":\"b\"}", "appears twice")]
    [InlineData("metadata", "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":{\"j\":{}}}}}}}}}}}", "nested more than 10 levels")]
    [InlineData("metadata", "[\"topic\"]", "expected a JSON object")]
    [InlineData("metadata", "{\"n\":1e131000}", "'n'")]
    [InlineData("metadata", "{\"n\":1e200000}", "'n'")]
    [InlineData("metadata", "{\"n\":-1e200000}", "'n'")]
    [InlineData("metadata", "{\"tags\":[\"a\",{\"weight\":1e-200000}]}", "'tags[1].weight'")]
    [InlineData("metadata", "{\"n\":1e16}", "'n'")]
    [InlineData("metadata", "{\"n\":1e-16}", "'n'")]
    [InlineData("metadata", "{\"topic\":\"\\ud800\"}", "unpaired surrogate")]
    public async Task Nul_and_control_characters_and_malformed_metadata_are_400_and_store_nothing(string field, string literal, string expected)
    {
        using var admin = await server.AdminClientAsync();
        var before = await CatalogAsync(admin);
        var detail = await (await admin.PostAsync(Store, Json(StoreJson(field, literal)))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);
        Assert.Equal(before, await CatalogAsync(admin));
    }

    [Theory]
    [InlineData("title", CatalogService.MaxTitleLength)]
    [InlineData("description", CatalogService.MaxDescriptionLength)]
    [InlineData("content_id", ContentRules.MaxContentIdLength)]
    public async Task Catalog_text_has_a_maximum_length(string field, int max)
    {
        using var admin = await server.AdminClientAsync();
        var fits = StoreJson(field, JsonSerializer.Serialize(new string('t', max)));
        await (await admin.PostAsync(Store, Json(fits))).ReadAsync<StoreEmbeddingsResponse>();
        var before = await CatalogAsync(admin);
        var detail = await (await admin.PostAsync(Store, Json(StoreJson(field, JsonSerializer.Serialize(new string('t', max + 1))))))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith($"{field}:", detail, StringComparison.Ordinal);
        Assert.Equal(before, await CatalogAsync(admin));
    }

    [Fact]
    public async Task Metadata_past_16_KB_is_400()
    {
        using var admin = await server.AdminClientAsync();
        var big = JsonSerializer.Serialize(new { notes = new string('m', ContentRules.MaxMetadataBytes) });
        var detail = await (await admin.PostAsync(Store, Json(StoreJson("metadata", big)))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Equal("metadata: at most 16 KB of JSON.", detail);
    }

    [Fact]
    public async Task Metadata_numbers_are_stored_in_plain_decimal_and_the_size_limit_holds_for_what_is_stored()
    {
        using var admin = await server.AdminClientAsync();
        var item = StoreJson("metadata", """{"hours":1.5e1,"weight":2e-3,"id":1e15}""");
        await (await admin.PostAsync(Store, Json(item))).ReadAsync<StoreEmbeddingsResponse>();
        var contentId = (string)JsonNode.Parse(item)!["content_id"]!;
        var stored = await (await admin.GetAsync($"/api/v1/content/lab/{contentId}")).ReadAsync<JsonObject>();
        Assert.Equal("15", stored["metadata"]!["hours"]!.ToJsonString());
        Assert.Equal("0.002", stored["metadata"]!["weight"]!.ToJsonString());
        Assert.Equal("1000000000000000", stored["metadata"]!["id"]!.ToJsonString());

        // 15 KB sent, 51 KB once every digit is written out.
        var before = await CatalogAsync(admin);
        var numbers = StoreJson("metadata", $$$"""{"n":[{{{string.Join(",", Enumerable.Repeat("1e15", 3000))}}}]}""");
        var detail = await (await admin.PostAsync(Store, Json(numbers))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Equal("metadata: at most 16 KB of JSON.", detail);
        Assert.Equal(before, await CatalogAsync(admin));
    }

    [Theory]
    [InlineData("/api/v1/content/search", """{"query":"x","limit":1e400}""", "limit")]
    [InlineData("/api/v1/content/search", """{"query":"x","limit":2147483648}""", "limit")]
    [InlineData("/api/v1/content/search", """{"query":"x","limit":"5"}""", "limit")]
    [InlineData("/api/v1/content/search", """{"query":"x","limit":NaN}""", "limit")]
    [InlineData("/api/v1/content/search", """{"query":"x\u0000"}""", "query")]
    [InlineData("/api/v1/content/search", """{"query":"x","query":"y"}""", "appears more than once")]
    [InlineData("/api/v1/recommendations", """{"user_id":9223372036854775808}""", "user_id")]
    [InlineData("/api/v1/recommendations", """{"user_id":1,"content_type":"lab\u0000"}""", "content_type")]
    [InlineData("/api/v1/embeddings", """{"texts":[null]}""", "texts[0]")]
    [InlineData("/api/v1/embeddings", """{"texts":"one text"}""", "$.texts")]
    [InlineData("/api/v1/embeddings", """{"texts":["a\ud800"]}""", "not valid UTF-8")]
    public async Task Values_of_the_wrong_type_or_range_are_400_naming_the_field(string url, string json, string expected)
    {
        using var admin = await server.AdminClientAsync();
        var detail = await (await admin.PostAsync(url, Json(json))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);
        Assert.DoesNotContain("CyberHub.", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("score", "1e400")]
    [InlineData("completion_percentage", "-1.8e308")]
    [InlineData("status", "\"completed, in_progress\"")]
    [InlineData("content_id", "\"x\\u0000\"")]
    [InlineData("metadata", "{\"k\":1,\"k\":2}")]
    public async Task Progress_data_given_for_analysis_is_held_to_the_same_rules(string field, string literal)
    {
        using var admin = await server.AdminClientAsync();
        var record = new JsonObject { ["content_id"] = "x", ["content_type"] = "lab", ["status"] = "completed", [field] = "@@VALUE@@" };
        var json = $$"""{"user_id":1,"progress_data":[{{record.ToJsonString().Replace("\"@@VALUE@@\"", literal, StringComparison.Ordinal)}}]}""";
        var detail = await (await admin.PostAsync("/api/v1/personality/analyze", Json(json))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(field == "metadata" ? "appears twice" : field, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_progress_event_with_a_number_no_double_holds_is_400_and_applies_nothing()
    {
        // 1e400 used to arrive as Infinity and was applied to the learner's profile.
        using var admin = await server.AdminClientAsync();
        var json = $$$"""
            {"events":[{"event_id":"{{{Guid.NewGuid()}}}","sequence":1,"type":"progress.created","user_id":1,"occurred_at":"2026-01-01T00:00:00Z",
            "progress":{"id":1,"user_id":1,"content_id":"x","content_type":"lab","status":"in_progress","completion_percentage":1e400,"score":null,
            "time_spent_seconds":0,"metadata":{},"started_at":null,"completed_at":null,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","version":1}}]}
            """;
        var detail = await (await admin.PostAsync("/api/v1/sync/progress-events", Json(json))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Equal("completion_percentage: the number is out of range.", detail);
    }

    [Theory]
    [InlineData("/api/v1/content/?page=2147483647", HttpStatusCode.NotFound)]
    [InlineData("/api/v1/content/?page=2147483648", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/content/?content_type=%00", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/content/?content_type=%FF", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/content/lab/" + "no-such-item", HttpStatusCode.NotFound)]
    [InlineData("/api/v1/content/lab/..%2F..%2Fcourse", HttpStatusCode.NotFound)]
    [InlineData("/api/v1/content/%FF%FE/item", HttpStatusCode.NotFound)]
    [InlineData("/api/v1/personality/9223372036854775808", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/recommendations/-1", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/recommendations/1?limit=51", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/recommendations/1?content_type=%00", HttpStatusCode.BadRequest)]
    public async Task Query_and_route_values_that_are_no_value_of_their_type_are_refused(string url, HttpStatusCode expected)
    {
        // page=2147483647 used to overflow the offset: a 500 from both stores.
        using var admin = await server.AdminClientAsync();
        await (await admin.GetAsync(url)).DetailAsync(expected);
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("...")]
    [InlineData("%2e")]
    [InlineData("%2E%2E")]
    [InlineData(".%2e")]
    [InlineData("a%2Fb")]
    [InlineData("%252e")]
    [InlineData("\\")]
    [InlineData("..\\")]
    [InlineData("a\\b")]
    [InlineData("\uFF0E\uFF0E")]
    [InlineData("\uFF0E")]
    [InlineData("\u2025")]
    [InlineData("?")]
    [InlineData("a?b=c")]
    [InlineData("#top")]
    [InlineData("lab\u202Egnp.exe")]
    public async Task Content_ids_that_a_url_path_normaliser_would_change_are_400_and_store_nothing(string id)
    {
        using var admin = await server.AdminClientAsync();
        var before = await CatalogAsync(admin);
        var detail = await (await admin.PostAsync(Store, Json(StoreJson("content_id", JsonSerializer.Serialize(id))))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith("content_id:", detail, StringComparison.Ordinal);
        Assert.Equal(before, await CatalogAsync(admin));
    }

    [Theory]
    [InlineData("title", "Intro to \u202Egnp.exe")]
    [InlineData("title", "\u2067Intro\u2069")]
    [InlineData("title", "Intro\u200E")]
    [InlineData("description", "Line one\nline \u202Atwo")]
    [InlineData("description", "\u061CA lab")]
    [InlineData("content_id", "lab-\u2068x")]
    [InlineData("content_id", "lab\u200F")]
    public async Task Bidirectional_controls_in_titles_descriptions_and_ids_are_400_and_store_nothing(string field, string value)
    {
        using var admin = await server.AdminClientAsync();
        var before = await CatalogAsync(admin);
        var detail = await (await admin.PostAsync(Store, Json(StoreJson(field, JsonSerializer.Serialize(value))))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith($"{field}:", detail, StringComparison.Ordinal);
        Assert.Contains("bidirectional", detail, StringComparison.Ordinal);
        Assert.Equal(before, await CatalogAsync(admin));
    }

    [Fact]
    public async Task Every_accepted_content_id_with_dots_or_punctuation_is_read_and_deleted_through_its_url()
    {
        using var admin = await server.AdminClientAsync();
        var unique = Guid.NewGuid().ToString("N")[..8];
        foreach (var id in new[] { $"{unique}.", $".{unique}", $"..{unique}", $"{unique}..", $"a..{unique}", $"~{unique}", $"{unique}:1", $"{unique};v=2", $"{unique}+&=@'", $"ünï-{unique}" })
        {
            var stored = StoreJson("content_id", JsonSerializer.Serialize(id));
            await (await admin.PostAsync(Store, Json(stored))).ReadAsync<StoreEmbeddingsResponse>();
            var url = $"/api/v1/content/lab/{Uri.EscapeDataString(id)}";
            Assert.Equal(id, (await (await admin.GetAsync(url)).ReadAsync<ContentItemDto>()).ContentId);
            Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(url)).StatusCode);
            await (await admin.GetAsync(url)).DetailAsync(HttpStatusCode.NotFound);
        }
    }

    [Fact]
    public async Task A_content_id_longer_than_any_stored_one_names_nothing()
    {
        using var admin = await server.AdminClientAsync();
        await (await admin.GetAsync("/api/v1/content/lab/" + new string('z', 5_000))).DetailAsync(HttpStatusCode.NotFound);
        await (await admin.DeleteAsync("/api/v1/content/lab/" + new string('z', 5_000))).DetailAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_largest_valid_embeddings_request_fits_the_body_limit_and_one_byte_more_is_413()
    {
        // 256 texts of 8,000 characters outside ASCII, escaped as .NET's serializer sends them: 6 bytes a character.
        var texts = Enumerable.Range(0, CatalogService.MaxTexts).Select(i => new string((char)('а' + i % 32), CatalogService.MaxTextLength)).ToArray();
        var largest = JsonSerializer.SerializeToUtf8Bytes(new EmbeddingsRequest(texts), CyberHubJson.Options);
        Assert.InRange(largest.Length, 12_000_000, RequestLimits.AiMaxRequestBodyBytes * 0.8);
        // The largest request is a content author's: a learner may send 16 texts (EmbeddingBudgetTests).
        using var author = await server.AdminClientAsync();
        var content = new ByteArrayContent(largest);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var embedded = await (await author.PostAsync("/api/v1/embeddings", content)).ReadAsync<EmbeddingsResponse>();
        Assert.Equal(CatalogService.MaxTexts, embedded.Embeddings.Count);

        var over = new HttpRequestMessage(HttpMethod.Post, "/api/v1/embeddings")
        {
            Content = Json("{\"texts\":[\"" + new string('x', (int)RequestLimits.AiMaxRequestBodyBytes) + "\"]}"),
        };
        over.Headers.ExpectContinue = true;
        Assert.Equal("Request body too large.", await (await author.SendAsync(over)).DetailAsync(HttpStatusCode.RequestEntityTooLarge));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData(null)]
    public async Task A_valid_body_under_another_content_type_is_415(string? contentType)
    {
        using var admin = await server.AdminClientAsync();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(StoreJson("title", "\"Typed\"")));
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        await (await admin.PostAsync(Store, content)).DetailAsync(HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task The_openapi_document_still_describes_every_field()
    {
        // The strict reading must not hide the types from the document (a converter of its own would make each "{}").
        using var anonymous = server.CreateClient();
        var schemas = JsonNode.Parse(await anonymous.GetStringAsync("/openapi/v1.json"))!["components"]!["schemas"]!;
        Assert.Equal("object", (string?)schemas["JsonObject"]!["type"]);
        Assert.Equal(["not_started", "in_progress", "completed"], schemas["ProgressStatus"]!["enum"]!.AsArray().Select(v => (string?)v));
        Assert.Contains("string", schemas["StoreEmbeddingsRequest"]!["properties"]!["title"]!["type"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("number", schemas["ProgressDataRecord"]!["properties"]!["score"]!["type"]!.ToJsonString(), StringComparison.Ordinal);
    }
}

public sealed class EmbeddedBadInputTests(EmbeddedAiServer server) : BadInputTests<EmbeddedAiServer>(server), IClassFixture<EmbeddedAiServer>;

public sealed class PgVectorBadInputTests(PgVectorAiServer server) : BadInputTests<PgVectorAiServer>(server), IClassFixture<PgVectorAiServer>;
