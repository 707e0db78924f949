using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Limits;
using CyberHub.Testing;

namespace CyberHub.Core.Tests;

/// <summary>
/// Input the services must refuse with a 400 (413, 415) <c>{"detail"}</c> and never a 500, on SQLite and on
/// PostgreSQL (whose text and jsonb columns refuse U+0000, so a NUL that reached them used to be a 500), storing nothing.
/// </summary>
public abstract class BadInputTests<TServer>(TServer server) where TServer : CoreServer
{
    private const string Progress = "/api/v1/progress/";

    /// <summary>What a learner and the admin can see, to check that a refused request stored nothing.</summary>
    private async Task<string> StoredAsync(Learner learner)
    {
        using var admin = await server.AdminClientAsync();
        var users = await (await admin.GetAsync("/api/v1/users/?page_size=100")).Content.ReadAsStringAsync();
        var progress = await (await learner.Client.GetAsync($"{Progress}?page_size=100")).Content.ReadAsStringAsync();
        var organizations = await (await learner.Client.GetAsync("/api/v1/organizations/?page_size=100")).Content.ReadAsStringAsync();
        var me = await (await learner.Client.GetAsync("/api/v1/users/me/")).Content.ReadAsStringAsync();
        return string.Join("\n", users, progress, organizations, me);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static ByteArrayContent Bytes(params byte[][] parts)
    {
        var content = new ByteArrayContent([.. parts.SelectMany(p => p)]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    [Theory]
    [InlineData("POST", "/api/v1/users/", """{"email":"nul1@example.com","username":"nul1","password":"s3cure-passphrase","first_name":"A\u0000"}""", "first_name")]
    [InlineData("POST", "/api/v1/users/", """{"email":"nul2@example.com","username":"nul2","password":"s3cure-pass\u0000phrase"}""", "password")]
    [InlineData("POST", "/api/v1/users/", """{"email":"nul3\u0000@example.com","username":"nul3","password":"s3cure-passphrase"}""", "email")]
    [InlineData("PATCH", "/api/v1/users/me/", """{"bio":"line\u0000"}""", "bio")]
    [InlineData("PATCH", "/api/v1/users/me/", """{"last_name":"\u0000"}""", "last_name")]
    [InlineData("PATCH", "/api/v1/users/me/", """{"avatar_url":"https://example.com/\u0000.png"}""", "avatar_url")]
    [InlineData("POST", "/api/v1/organizations/", """{"name":"Org\u0000","slug":"nul-org"}""", "name")]
    [InlineData("POST", "/api/v1/organizations/", """{"name":"Org","slug":"nul-org","description":"\u0000"}""", "description")]
    [InlineData("POST", Progress, """{"content_id":"a\u0000b","content_type":"lesson"}""", "content_id")]
    [InlineData("POST", Progress, """{"content_id":"nul","content_type":"lesson","metadata":{"note":"a\u0000b"}}""", "metadata")]
    [InlineData("POST", Progress, """{"content_id":"nul","content_type":"lesson","metadata":{"a\u0000":1}}""", "metadata")]
    [InlineData("POST", Progress, """{"content_id":"nul","content_type":"lesson","metadata":{"deep":{"list":["\u0000"]}}}""", "metadata")]
    [InlineData("POST", "/api/v1/token/", """{"email":"admin\u0000@cyberhub.test","password":"x"}""", "email")]
    [InlineData("POST", "/api/v1/token/", """{"username":"admin\u0000","password":"x"}""", "username")]
    [InlineData("POST", "/api/v1/token/service/", """{"client_id":"svc_\u0000","client_secret":"x"}""", "client_id")]
    public async Task A_NUL_character_in_any_string_is_400_naming_the_field_and_stores_nothing(string method, string url, string json, string field)
    {
        var learner = await server.RegisterAsync();
        var before = await StoredAsync(learner);
        var detail = await (await learner.Client.SendRawAsync(new HttpMethod(method), url, json)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(field, detail, StringComparison.Ordinal);
        Assert.Equal(before, await StoredAsync(learner));
    }

    [Theory]
    [InlineData("first_name", 150)]
    [InlineData("last_name", 150)]
    [InlineData("bio", 2000)]
    public async Task Profile_text_has_a_maximum_length(string field, int max)
    {
        var learner = await server.RegisterAsync();
        await (await learner.Client.PatchJsonAsync("/api/v1/users/me/", new JsonObject { [field] = new string('é', max) })).ReadAsync<UserDto>();
        var detail = await (await learner.Client.PatchJsonAsync("/api/v1/users/me/", new JsonObject { [field] = new string('é', max + 1) }))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.Equal($"{field}: at most {max} characters.", detail);
        var me = await (await learner.Client.GetAsync("/api/v1/users/me/")).ReadAsync<JsonObject>();
        Assert.Equal(max, ((string)me[field]!).Length);
    }

    [Theory]
    [InlineData("""{"email":"LONG@example.com","username":"USERNAME","password":"s3cure-passphrase"}""", "email", 254)]
    [InlineData("""{"email":"long-user@example.com","username":"USERNAME","password":"s3cure-passphrase"}""", "username", 150)]
    [InlineData("""{"email":"long-pw@example.com","username":"longpw","password":"PASSWORD"}""", "password", 256)]
    public async Task Registration_fields_past_their_maximum_are_400(string template, string field, int max)
    {
        var value = field switch
        {
            "email" => new string('a', max - "@example.com".Length + 1),
            _ => new string('a', max + 1),
        };
        var json = template.Replace("LONG", value, StringComparison.Ordinal).Replace("USERNAME", field == "username" ? value : "longfields", StringComparison.Ordinal)
            .Replace("PASSWORD", value, StringComparison.Ordinal);
        using var anonymous = server.CreateClient();
        var detail = await (await anonymous.SendRawAsync(HttpMethod.Post, "/api/v1/users/", json)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith($"{field}:", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"name":"NAME","slug":"long-name"}""", "name", 200)]
    [InlineData("""{"name":"Org","slug":"NAME"}""", "slug", 100)]
    [InlineData("""{"name":"Org","slug":"long-description","description":"NAME"}""", "description", 2000)]
    public async Task Organization_fields_past_their_maximum_are_400(string template, string field, int max)
    {
        var learner = await server.RegisterAsync();
        var json = template.Replace("NAME", new string('a', max + 1), StringComparison.Ordinal);
        var detail = await (await learner.Client.SendRawAsync(HttpMethod.Post, "/api/v1/organizations/", json)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith($"{field}:", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("%2e%2e")]
    [InlineData("a%2Fb")]
    [InlineData("..\\")]
    [InlineData("a\\b")]
    [InlineData("\uFF0E\uFF0E")]
    [InlineData("a?b")]
    [InlineData("a#b")]
    [InlineData("x\u2066y")]
    public async Task Content_ids_that_a_url_path_normaliser_would_change_are_400_and_store_nothing(string id)
    {
        var learner = await server.RegisterAsync();
        var before = await StoredAsync(learner);
        var detail = await (await learner.Client.PostJsonAsync(Progress, new CreateProgressRequest(id, "lesson", null, null, null, null, null)))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith("content_id:", detail, StringComparison.Ordinal);
        Assert.Equal(before, await StoredAsync(learner));
    }

    [Fact]
    public async Task A_content_id_past_128_characters_or_with_a_slash_or_an_avatar_url_past_2048_is_400()
    {
        var learner = await server.RegisterAsync();
        var longest = new string('c', ContentRules.MaxContentIdLength);
        await (await learner.Client.PostJsonAsync(Progress, new CreateProgressRequest(longest, "lesson", null, null, null, null, null))).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        var detail = await (await learner.Client.PostJsonAsync(Progress, new CreateProgressRequest(longest + "c", "lesson", null, null, null, null, null)))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith("content_id:", detail, StringComparison.Ordinal);
        // A slash would make the id unreachable in a URL path, where %2F is never decoded.
        await (await learner.Client.PostJsonAsync(Progress, new CreateProgressRequest("course/module-1", "lesson", null, null, null, null, null)))
            .DetailAsync(HttpStatusCode.BadRequest);

        var url = "https://example.com/" + new string('a', 2049 - "https://example.com/".Length);
        await (await learner.Client.PatchJsonAsync("/api/v1/users/me/", new UpdateProfileRequest(null, null, null, url))).DetailAsync(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("score", "1e400")]
    [InlineData("score", "-1e400")]
    [InlineData("score", "NaN")]
    [InlineData("score", "Infinity")]
    [InlineData("score", "\"NaN\"")]
    [InlineData("completion_percentage", "1.8e308")]
    [InlineData("completion_percentage", "-0.01")]
    [InlineData("time_spent_seconds", "9223372036854775808")]
    [InlineData("time_spent_seconds", "-9223372036854775809")]
    [InlineData("time_spent_seconds", "-1")]
    [InlineData("time_spent_seconds", "1.5")]
    [InlineData("time_spent_seconds", "1e3")]
    [InlineData("time_spent_seconds", "\"60\"")]
    public async Task Numbers_out_of_range_not_finite_or_of_the_wrong_type_are_400(string field, string literal)
    {
        var learner = await server.RegisterAsync();
        var json = $$"""{"content_id":"numbers","content_type":"lesson","{{field}}":{{literal}}}""";
        var detail = await (await learner.Client.SendRawAsync(HttpMethod.Post, Progress, json)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(field, detail, StringComparison.Ordinal);
        Assert.Equal(0, (await (await learner.Client.GetAsync(Progress)).ReadAsync<PagedResponse<ProgressDto>>()).Count);
    }

    [Theory]
    [InlineData("\"finished\"")]
    [InlineData("\"completed, in_progress\"")]
    [InlineData("\"\"")]
    [InlineData("2")]
    [InlineData("\"2\"")]
    [InlineData("null, \"status\": \"completed\"")]
    public async Task Unknown_status_values_and_duplicate_keys_are_400(string literal)
    {
        var learner = await server.RegisterAsync();
        var json = $$"""{"content_id":"enum","content_type":"lesson","status":{{literal}}}""";
        var detail = await (await learner.Client.SendRawAsync(HttpMethod.Post, Progress, json)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("status", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("CyberHub.", detail, StringComparison.Ordinal);
        Assert.Equal(0, (await (await learner.Client.GetAsync(Progress)).ReadAsync<PagedResponse<ProgressDto>>()).Count);
    }

    [Theory]
    [InlineData("""{"a":1,"a":2}""", "appears twice")]
    [InlineData("""{"outer":{"a":1,"a":1}}""", "appears twice")]
    [InlineData("""{"a":[{"b":1,"b":2}]}""", "appears twice")]
    [InlineData("""{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{}}}}}}}}}}}""", "nested more than 10 levels")]
    [InlineData("""{"a":[[[[[[[[[[1]]]]]]]]]]}""", "nested more than 10 levels")]
    [InlineData("""{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}""", "depth of 32")]
    [InlineData("""[1]""", "expected a JSON object")]
    [InlineData("\"text\"", "expected a JSON object")]
    public async Task Metadata_with_duplicate_keys_or_nested_past_10_levels_is_400(string metadata, string expected)
    {
        var learner = await server.RegisterAsync();
        var json = $$"""{"content_id":"meta","content_type":"lesson","metadata":{{metadata}}}""";
        var detail = await (await learner.Client.SendRawAsync(HttpMethod.Post, Progress, json)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("metadata", detail, StringComparison.Ordinal);
        Assert.Contains(expected, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metadata_10_levels_deep_is_kept_and_every_list_and_event_can_still_carry_it()
    {
        // 29 levels used to be accepted, and then no list holding the record could be written (the answer nests it
        // past the serializer's 32 levels: a 400 "Malformed JSON" to every later GET) and its outbox event never left.
        var learner = await server.RegisterAsync();
        var deepest = JsonNode.Parse("""{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":[1]}}}}}}}}}""")!.AsObject();
        var created = await (await learner.Client.PostJsonAsync(Progress, new CreateProgressRequest("deep", "lesson", null, null, null, null, deepest)))
            .ReadAsync<ProgressDto>(HttpStatusCode.Created);
        Assert.True(JsonNode.DeepEquals(deepest, created.Metadata));
        var page = await (await learner.Client.GetAsync(Progress)).ReadAsync<PagedResponse<ProgressDto>>();
        Assert.True(JsonNode.DeepEquals(deepest, Assert.Single(page.Results).Metadata));
        using var admin = await server.AdminClientAsync();
        await (await admin.GetAsync($"{Progress}?user={learner.User.Id}")).ReadAsync<PagedResponse<ProgressDto>>();
    }

    [Theory]
    [InlineData("""{"n":1e131000}""", "'n'")]
    [InlineData("""{"n":1e200000}""", "'n'")]
    [InlineData("""{"n":-1e200000}""", "'n'")]
    [InlineData("""{"n":1e-200000}""", "'n'")]
    [InlineData("""{"n":1e400}""", "'n'")]
    [InlineData("""{"n":1e16}""", "'n'")]
    [InlineData("""{"n":9007199254740992}""", "'n'")]
    [InlineData("""{"n":1e-16}""", "'n'")]
    [InlineData("""{"n":-5e-324}""", "'n'")]
    [InlineData("""{"a":{"b":[0,1,1e300]}}""", "'a.b[2]'")]
    [InlineData("""{"a":"x\ud800"}""", "'a'")]
    [InlineData("""{"x\udc00y":1}""", "unpaired surrogate")]
    public async Task Metadata_numbers_past_the_sane_range_and_unpaired_surrogates_are_400_naming_the_key(string metadata, string key)
    {
        // 1e131000 used to be stored as numeric and printed back with every digit (131 KB from 16 bytes sent), and
        // 1e200000 or 1e-200000, past numeric's range, were a 500 on PostgreSQL.
        var learner = await server.RegisterAsync();
        var created = await (await learner.Client.PostJsonAsync(Progress, new CreateProgressRequest("kept", "lesson", null, null, null, null, null)))
            .ReadAsync<ProgressDto>(HttpStatusCode.Created);
        var before = await StoredAsync(learner);

        var post = $$"""{"content_id":"meta-number","content_type":"lesson","metadata":{{metadata}}}""";
        var detail = await (await learner.Client.SendRawAsync(HttpMethod.Post, Progress, post)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("metadata", detail, StringComparison.Ordinal);
        Assert.Contains(key, detail, StringComparison.Ordinal);
        detail = await (await learner.Client.SendRawAsync(HttpMethod.Patch, $"{Progress}{created.Id}/", $$"""{"metadata":{{metadata}}}"""))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(key, detail, StringComparison.Ordinal);
        Assert.Equal(before, await StoredAsync(learner));
    }

    [Fact]
    public async Task Metadata_numbers_are_kept_as_the_double_they_denote_in_plain_decimal_on_both_databases()
    {
        var learner = await server.RegisterAsync();
        const string sent = """{"big":9007199254740991,"exp":1e15,"small":1.5e-7,"least":-1e-15,"neg_zero":-0.0,"zero":0e-16000,"one":1.0,"tenth":0.10,"pi":3.14159265358979323846,"list":[2.5E+3,-7e0]}""";
        const string stored = """{"big":9007199254740991,"exp":1000000000000000,"small":0.00000015,"least":-0.000000000000001,"neg_zero":0,"zero":0,"one":1,"tenth":0.1,"pi":3.141592653589793,"list":[2500,-7]}""";
        var response = await learner.Client.SendRawAsync(HttpMethod.Post, Progress, $$"""{"content_id":"plain","content_type":"lesson","metadata":{{sent}}}""");
        var created = await response.ReadAsync<ProgressDto>(HttpStatusCode.Created);
        AssertSameJson(stored, created.Metadata);

        var listed = await (await learner.Client.GetAsync(Progress)).Content.ReadAsStringAsync();
        AssertSameJson(stored, JsonNode.Parse(listed)!["results"]![0]!["metadata"]!.AsObject());
        var patched = await (await learner.Client.SendRawAsync(HttpMethod.Patch, $"{Progress}{created.Id}/", """{"metadata":{"more":12e-2}}"""))
            .ReadAsync<ProgressDto>();
        Assert.Equal("0.12", patched.Metadata["more"]!.ToJsonString());
        Assert.Equal("1000000000000000", patched.Metadata["exp"]!.ToJsonString());
    }

    private static void AssertSameJson(string expected, JsonObject actual)
    {
        // Compared key by key on the text of each value: PostgreSQL's jsonb orders keys its own way.
        var expectedObject = JsonNode.Parse(expected)!.AsObject();
        Assert.Equal(expectedObject.Select(p => p.Key).Order(), actual.Select(p => p.Key).Order());
        foreach (var (key, value) in expectedObject)
        {
            Assert.Equal(value!.ToJsonString(), actual[key]!.ToJsonString());
        }
    }

    [Fact]
    public async Task The_metadata_size_limit_holds_for_what_is_stored_not_only_for_what_was_sent()
    {
        // 3,000 × "1e15," is 15 KB sent; stored, each number has all 16 digits: 51 KB.
        var learner = await server.RegisterAsync();
        var numbers = string.Join(",", Enumerable.Repeat("1e15", 3000));
        var json = $$$"""{"content_id":"sizes","content_type":"lesson","metadata":{"n":[{{{numbers}}}]}}""";
        Assert.True(json.Length < ContentRules.MaxMetadataBytes);
        var detail = await (await learner.Client.SendRawAsync(HttpMethod.Post, Progress, json)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Equal("metadata: at most 16 KB of JSON.", detail);

        // What fits stored fits served: the largest list of numbers that is accepted comes back at its stored size.
        var fits = string.Join(",", Enumerable.Repeat("1e15", 900));
        var created = await (await learner.Client.SendRawAsync(HttpMethod.Post, Progress, $$$"""{"content_id":"sizes","content_type":"lesson","metadata":{"n":[{{{fits}}}]}}"""))
            .ReadAsync<ProgressDto>(HttpStatusCode.Created);
        var page = await (await learner.Client.GetAsync(Progress)).Content.ReadAsByteArrayAsync();
        Assert.InRange(page.Length, 900 * 16, ContentRules.MaxMetadataBytes + 1024);
        Assert.Equal(900, created.Metadata["n"]!.AsArray().Count);
    }

    [Fact]
    public async Task Invalid_utf8_and_unpaired_surrogates_are_400_saying_so()
    {
        var learner = await server.RegisterAsync();
        byte[][] bodies =
        [
            [.. Utf8("""{"bio":"a"""), 0xFF, .. Utf8("\"}")],
            [.. Utf8("""{"bio":"a"""), 0xC3, 0x28, .. Utf8("\"}")],
            [.. Utf8("""{"bio":"a"""), 0xED, 0xA0, 0x80, .. Utf8("\"}")],
            [.. Utf8("""{"first_name":"a"""), 0xC0, 0xAF, .. Utf8("\"}")],
            Utf8("""{"bio":"a\ud800b"}"""),
            Utf8("""{"bio":"\udc00"}"""),
        ];
        foreach (var body in bodies)
        {
            var response = await learner.Client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/users/me/") { Content = Bytes(body) });
            var detail = await response.DetailAsync(HttpStatusCode.BadRequest);
            Assert.Contains("not valid UTF-8", detail, StringComparison.Ordinal);
        }
        var metadata = Bytes(Utf8("""{"content_id":"utf","content_type":"lesson","metadata":{"k":"""), [0x22, 0xFF, 0x22], Utf8("}}"));
        await (await learner.Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, Progress) { Content = metadata })).DetailAsync(HttpStatusCode.BadRequest);
        var me = await (await learner.Client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
        Assert.Equal("", me.Bio);
    }

    [Fact]
    public async Task Bodies_over_the_limit_are_413_whether_announced_or_chunked_and_the_largest_valid_body_fits()
    {
        var learner = await server.RegisterAsync();
        var over = """{"bio":"x""" + new string('x', (int)RequestLimits.CoreMaxRequestBodyBytes) + "\"}";
        var announced = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/users/me/") { Content = Json(over) };
        announced.Headers.ExpectContinue = true;
        Assert.Equal("Request body too large.", await (await learner.Client.SendAsync(announced)).DetailAsync(HttpStatusCode.RequestEntityTooLarge));

        var chunked = new StreamContent(new MemoryStream(Utf8(over)));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var streamed = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/users/me/") { Content = chunked };
        streamed.Headers.TransferEncodingChunked = true;
        await (await learner.Client.SendAsync(streamed)).DetailAsync(HttpStatusCode.RequestEntityTooLarge);

        // Core's largest valid bodies: metadata at its 16 KB, escaped the way .NET clients send non-ASCII (6 bytes a
        // character), and a 2,000-character bio the same way. Both are far under the limit.
        var metadata = new JsonObject { ["notes"] = new string('é', (ContentRules.MaxMetadataBytes - 20) / 6) };
        var request = new CreateProgressRequest("largest", "lesson", ProgressStatus.InProgress, 50, 50, 60, metadata);
        var body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(request, CyberHubJson.Options);
        Assert.InRange(body.Length, ContentRules.MaxMetadataBytes - 100, RequestLimits.CoreMaxRequestBodyBytes / 32);
        await (await learner.Client.PostAsync(Progress, Bytes(body))).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        await (await learner.Client.PatchJsonAsync("/api/v1/users/me/", new UpdateProfileRequest(null, null, new string('é', 2000), null))).ReadAsync<UserDto>();
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("text/html")]
    [InlineData("application/xml")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData(null)]
    public async Task A_valid_body_under_another_content_type_is_415(string? contentType)
    {
        var learner = await server.RegisterAsync();
        var content = new ByteArrayContent(Utf8("""{"content_id":"typed","content_type":"lesson"}"""));
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        await (await learner.Client.PostAsync(Progress, content)).DetailAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(0, (await (await learner.Client.GetAsync(Progress)).ReadAsync<PagedResponse<ProgressDto>>()).Count);
    }

    [Theory]
    [InlineData("?content_type=%00", HttpStatusCode.BadRequest)]
    [InlineData("?content_type=lesson%00", HttpStatusCode.BadRequest)]
    [InlineData("?content_type=%FF%FE", HttpStatusCode.BadRequest)]
    [InlineData("?status=%00", HttpStatusCode.BadRequest)]
    [InlineData("?status=Completed", HttpStatusCode.BadRequest)]
    [InlineData("?user=9223372036854775808", HttpStatusCode.BadRequest)]
    [InlineData("?user=%00", HttpStatusCode.BadRequest)]
    [InlineData("?page=%00", HttpStatusCode.BadRequest)]
    [InlineData("?page=2147483648", HttpStatusCode.BadRequest)]
    [InlineData("?page=2147483647", HttpStatusCode.NotFound)]
    [InlineData("?page=21474837&page_size=100", HttpStatusCode.NotFound)]
    public async Task Query_values_that_are_no_value_of_their_type_are_refused(string query, HttpStatusCode expected)
    {
        // page=2147483647 used to overflow the offset: a 500 on PostgreSQL ("OFFSET must not be negative").
        var learner = await server.RegisterAsync();
        await (await learner.Client.PostJsonAsync(Progress, new CreateProgressRequest("q", "lesson", null, null, null, null, null))).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        await (await learner.Client.GetAsync(Progress + query)).DetailAsync(expected);
    }

    [Theory]
    [InlineData("/api/v1/users/")]
    [InlineData("/api/v1/organizations/")]
    public async Task Pages_so_far_out_that_their_offset_overflows_are_404_like_any_page_past_the_end(string list)
    {
        using var admin = await server.AdminClientAsync();
        await (await admin.GetAsync(list + "?page=2147483647")).DetailAsync(HttpStatusCode.NotFound);
        await (await admin.GetAsync(list + "?page=2147483648")).DetailAsync(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("/api/v1/progress/9223372036854775808/")]
    [InlineData("/api/v1/progress/-1/")]
    [InlineData("/api/v1/progress/..%2F..%2Fusers/")]
    [InlineData("/api/v1/progress/%FF/")]
    [InlineData("/api/v1/users/9223372036854775807/")]
    [InlineData("/api/v1/organizations/1e3/")]
    public async Task Route_values_that_name_nothing_are_404(string url)
    {
        using var admin = await server.AdminClientAsync();
        await (await admin.GetAsync(url)).DetailAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_NUL_in_the_path_is_refused_by_kestrel_before_the_service_sees_it()
    {
        using var admin = await server.AdminClientAsync();
        var response = await admin.GetAsync(new Uri(server.BaseAddress, "/api/v1/progress/1%00/"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Headers_past_kestrels_limit_are_431()
    {
        var learner = await server.RegisterAsync();
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/users/me/");
        request.Headers.TryAddWithoutValidation("X-Padding", new string('h', 40 * 1024));
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, (await learner.Client.SendAsync(request)).StatusCode);
        await (await learner.Client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
    }

    [Fact]
    public async Task A_role_list_holding_null_is_400_and_the_roles_stay()
    {
        // A null item used to pass the check and replace the roles with none at all.
        var learner = await server.RegisterAsync();
        using var admin = await server.AdminClientAsync();
        foreach (var json in new[] { """{"roles":[null]}""", """{"roles":["admin",null]}""", """{"roles":[""]}""" })
        {
            var detail = await (await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/users/{learner.User.Id}/roles/", json)).DetailAsync(HttpStatusCode.BadRequest);
            Assert.StartsWith("roles: unknown role", detail, StringComparison.Ordinal);
        }
        var user = await (await admin.GetAsync($"/api/v1/users/{learner.User.Id}/")).ReadAsync<UserDto>();
        Assert.Equal([Roles.Learner], user.Roles);
    }

    [Fact]
    public async Task Control_characters_are_refused_in_one_line_fields_and_line_breaks_kept_in_bio()
    {
        var learner = await server.RegisterAsync();
        foreach (var json in new[] { """{"first_name":"a\tb"}""", """{"last_name":"\u001b[31m"}""", """{"avatar_url":"https://example.com/\u0007"}""", """{"bio":"\u0008"}""" })
        {
            await (await learner.Client.SendRawAsync(HttpMethod.Patch, "/api/v1/users/me/", json)).DetailAsync(HttpStatusCode.BadRequest);
        }
        var me = await (await learner.Client.SendRawAsync(HttpMethod.Patch, "/api/v1/users/me/", """{"bio":"one\ntwo\tthree"}""")).ReadAsync<UserDto>();
        Assert.Equal("one\ntwo\tthree", me.Bio);
    }
}

public sealed class SqliteBadInputTests(SqliteCoreServer server) : BadInputTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresBadInputTests(PostgresCoreServer server) : BadInputTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;
