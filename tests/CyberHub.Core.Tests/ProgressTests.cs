using System.Net;
using System.Text.Json.Nodes;
using CyberHub.Contracts;
using CyberHub.Core.Tests.Infrastructure;
using CyberHub.Testing;

namespace CyberHub.Core.Tests;

public abstract class ProgressTests<TServer>(TServer server) where TServer : CoreServer
{
    private static CreateProgressRequest Lesson(string? id = null, ProgressStatus? status = null, double? percentage = null, JsonObject? metadata = null) =>
        new(id ?? $"lesson-{Guid.NewGuid():N}", "lesson", status, percentage, null, null, metadata);

    private static async Task<ProgressDto> CreateAsync(HttpClient client, CreateProgressRequest request) =>
        await (await client.PostJsonAsync("/api/v1/progress/", request)).ReadAsync<ProgressDto>(HttpStatusCode.Created);

    [Fact]
    public async Task Create_returns_201_with_the_record_and_an_etag()
    {
        var learner = await server.RegisterAsync();
        var response = await learner.Client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest("web-security-101", "course", null, null, 55.5, 120, new JsonObject { ["device"] = "laptop" }));
        var record = await response.ReadAsync<ProgressDto>(HttpStatusCode.Created);

        Assert.Equal(learner.User.Id, record.UserId);
        Assert.Equal("web-security-101", record.ContentId);
        Assert.Equal("course", record.ContentType);
        Assert.Equal(ProgressStatus.NotStarted, record.Status);
        Assert.Equal(55.5, record.Score);
        Assert.Equal(120, record.TimeSpentSeconds);
        Assert.Equal("laptop", (string?)record.Metadata["device"]);
        Assert.Null(record.StartedAt);
        Assert.Null(record.CompletedAt);
        Assert.Equal($"/api/v1/progress/{record.Id}/", response.Headers.Location?.OriginalString);
        Assert.Equal($"\"{record.Version}\"", response.Headers.ETag?.Tag);
    }

    [Fact]
    public async Task Status_transitions_stamp_started_and_completed_times()
    {
        var learner = await server.RegisterAsync();
        var record = await CreateAsync(learner.Client, Lesson());
        var url = $"/api/v1/progress/{record.Id}/";

        var started = await (await learner.Client.PatchJsonAsync(url, new UpdateProgressRequest(null, 30, null, 60, null))).ReadAsync<ProgressDto>();
        Assert.Equal(ProgressStatus.InProgress, started.Status);
        Assert.NotNull(started.StartedAt);
        Assert.Null(started.CompletedAt);

        var completed = await (await learner.Client.PatchJsonAsync(url, new UpdateProgressRequest(null, 100, 91, 900, null))).ReadAsync<ProgressDto>();
        Assert.Equal(ProgressStatus.Completed, completed.Status);
        Assert.Equal(started.StartedAt, completed.StartedAt);
        Assert.NotNull(completed.CompletedAt);
        Assert.Equal(91, completed.Score);

        var reopened = await (await learner.Client.PatchJsonAsync(url, new UpdateProgressRequest(ProgressStatus.InProgress, 80, null, null, null))).ReadAsync<ProgressDto>();
        Assert.Equal(ProgressStatus.InProgress, reopened.Status);
        Assert.Null(reopened.CompletedAt);
        Assert.Equal(started.StartedAt, reopened.StartedAt);

        var done = await (await learner.Client.PatchJsonAsync(url, new UpdateProgressRequest(ProgressStatus.Completed, null, null, null, null))).ReadAsync<ProgressDto>();
        Assert.Equal(100, done.CompletionPercentage);
        Assert.NotNull(done.CompletedAt);

        var fetched = await (await learner.Client.GetAsync(url)).ReadAsync<ProgressDto>();
        Assert.Equal(done, fetched with { Metadata = done.Metadata });
    }

    [Fact]
    public async Task Creating_a_completed_record_stamps_both_times()
    {
        var learner = await server.RegisterAsync();
        var record = await CreateAsync(learner.Client, Lesson(status: ProgressStatus.Completed));
        Assert.Equal(100, record.CompletionPercentage);
        Assert.NotNull(record.StartedAt);
        Assert.NotNull(record.CompletedAt);
    }

    [Fact]
    public async Task A_second_record_for_the_same_content_is_400_pointing_at_the_first()
    {
        var learner = await server.RegisterAsync();
        var first = await CreateAsync(learner.Client, Lesson("xss-basics"));
        var detail = await (await learner.Client.PostJsonAsync("/api/v1/progress/", Lesson("xss-basics"))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains($"id {first.Id}", detail, StringComparison.Ordinal);

        // Another learner, or another content type, may use the same content id.
        var other = await server.RegisterAsync();
        await CreateAsync(other.Client, Lesson("xss-basics"));
        await CreateAsync(learner.Client, Lesson("xss-basics") with { ContentType = "lab" });
    }

    [Theory]
    [InlineData("""{"content_type":"lesson"}""", "content_id is required")]
    [InlineData("""{"content_id":"a b","content_type":"lesson"}""", "content_id:")]
    [InlineData("""{"content_id":"x"}""", "content_type is required")]
    [InlineData("""{"content_id":"x","content_type":"podcast"}""", "content_type:")]
    [InlineData("""{"content_id":"x","content_type":"lesson","status":"finished"}""", "$.status")]
    [InlineData("""{"content_id":"x","content_type":"lesson","completion_percentage":101}""", "completion_percentage")]
    [InlineData("""{"content_id":"x","content_type":"lesson","completion_percentage":-1}""", "completion_percentage")]
    [InlineData("""{"content_id":"x","content_type":"lesson","completion_percentage":"50"}""", "$.completion_percentage")]
    [InlineData("""{"content_id":"x","content_type":"lesson","score":100.5}""", "score")]
    [InlineData("""{"content_id":"x","content_type":"lesson","time_spent_seconds":-5}""", "time_spent_seconds")]
    [InlineData("""{"content_id":"x","content_type":"lesson","time_spent_seconds":1.5}""", "$.time_spent_seconds")]
    [InlineData("""{"content_id":"x","content_type":"lesson","metadata":[1]}""", "$.metadata")]
    [InlineData("""{"content_id":"x","content_type":"lesson","status":"completed","completion_percentage":50}""", "must be 100")]
    [InlineData("""{"content_id":"x","content_type":"lesson","status":"not_started","completion_percentage":50}""", "must be 0")]
    [InlineData("""{"content_id":"x","content_type":"lesson","status":"in_progress","completion_percentage":100}""", "below 100")]
    [InlineData("""{"content_id":"x","content_type":"lesson","content_id":"y"}""", "Malformed JSON")]
    public async Task Invalid_progress_is_400_and_stores_nothing(string json, string expected)
    {
        var learner = await server.RegisterAsync();
        var detail = await (await learner.Client.SendRawAsync(HttpMethod.Post, "/api/v1/progress/", json)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);
        var list = await (await learner.Client.GetAsync("/api/v1/progress/")).ReadAsync<PagedResponse<ProgressDto>>();
        Assert.Equal(0, list.Count);
    }

    [Fact]
    public async Task Oversized_metadata_is_refused()
    {
        var learner = await server.RegisterAsync();
        var big = new JsonObject { ["notes"] = new string('x', 17 * 1024) };
        var detail = await (await learner.Client.PostJsonAsync("/api/v1/progress/", Lesson(metadata: big))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("metadata", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rejected_patch_changes_nothing()
    {
        var learner = await server.RegisterAsync();
        var record = await CreateAsync(learner.Client, Lesson(percentage: 40));
        var url = $"/api/v1/progress/{record.Id}/";
        await (await learner.Client.PatchJsonAsync(url, new UpdateProgressRequest(null, 60, 200, null, new JsonObject { ["k"] = 1 })))
            .DetailAsync(HttpStatusCode.BadRequest);
        var after = await (await learner.Client.GetAsync(url)).ReadAsync<ProgressDto>();
        Assert.Equal(40, after.CompletionPercentage);
        Assert.Equal(record.Version, after.Version);
        Assert.Empty(after.Metadata);
    }

    [Fact]
    public async Task Metadata_patches_merge_and_null_removes_a_key()
    {
        var learner = await server.RegisterAsync();
        var record = await CreateAsync(learner.Client, Lesson(metadata: new JsonObject { ["a"] = 1, ["nested"] = new JsonObject { ["x"] = 1, ["y"] = 2 } }));
        var patch = new JsonObject { ["b"] = 2, ["a"] = null, ["nested"] = new JsonObject { ["y"] = null, ["z"] = 3 } };
        var updated = await (await learner.Client.PatchJsonAsync($"/api/v1/progress/{record.Id}/", new UpdateProgressRequest(null, null, null, null, patch)))
            .ReadAsync<ProgressDto>();
        Assert.Equal("""{"nested":{"x":1,"z":3},"b":2}""", updated.Metadata.ToJsonString());
    }

    [Fact]
    public async Task If_match_with_a_stale_version_is_412_and_the_current_one_succeeds()
    {
        var learner = await server.RegisterAsync();
        var record = await CreateAsync(learner.Client, Lesson());
        var url = $"/api/v1/progress/{record.Id}/";
        var first = await learner.Client.PatchJsonAsync(url, new UpdateProgressRequest(null, 10, null, null, null));
        var etag = first.Headers.ETag!.Tag;
        Assert.NotEqual($"\"{record.Version}\"", etag);

        var stale = new HttpRequestMessage(HttpMethod.Patch, url) { Content = JsonContent(new UpdateProgressRequest(null, 20, null, null, null)) };
        stale.Headers.TryAddWithoutValidation("If-Match", $"\"{record.Version}\"");
        await (await learner.Client.SendAsync(stale)).DetailAsync(HttpStatusCode.PreconditionFailed);

        var fresh = new HttpRequestMessage(HttpMethod.Patch, url) { Content = JsonContent(new UpdateProgressRequest(null, 20, null, null, null)) };
        fresh.Headers.TryAddWithoutValidation("If-Match", etag);
        var updated = await (await learner.Client.SendAsync(fresh)).ReadAsync<ProgressDto>();
        Assert.Equal(20, updated.CompletionPercentage);

        var garbage = new HttpRequestMessage(HttpMethod.Patch, url) { Content = JsonContent(new UpdateProgressRequest(null, 30, null, null, null)) };
        garbage.Headers.TryAddWithoutValidation("If-Match", "yesterday");
        await (await learner.Client.SendAsync(garbage)).DetailAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Concurrent_patches_of_one_record_lose_no_update()
    {
        var learner = await server.RegisterAsync();
        var record = await CreateAsync(learner.Client, Lesson());
        const int writers = 24;
        var responses = await Task.WhenAll(Enumerable.Range(0, writers).Select(i =>
            learner.Client.PatchJsonAsync($"/api/v1/progress/{record.Id}/",
                new UpdateProgressRequest(null, null, null, null, new JsonObject { [$"step{i}"] = i }))));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));

        var final = await (await learner.Client.GetAsync($"/api/v1/progress/{record.Id}/")).ReadAsync<ProgressDto>();
        Assert.Equal(writers, final.Metadata.Count);
        Assert.Equal(record.Version + writers, final.Version);
    }

    [Fact]
    public async Task Learners_cannot_see_or_change_each_others_records_but_admins_can()
    {
        var owner = await server.RegisterAsync();
        var intruder = await server.RegisterAsync();
        var record = await CreateAsync(owner.Client, Lesson());
        var url = $"/api/v1/progress/{record.Id}/";

        await (await intruder.Client.GetAsync(url)).DetailAsync(HttpStatusCode.Forbidden);
        await (await intruder.Client.PatchJsonAsync(url, new UpdateProgressRequest(ProgressStatus.Completed, null, null, null, null))).DetailAsync(HttpStatusCode.Forbidden);
        await (await intruder.Client.DeleteAsync(url)).DetailAsync(HttpStatusCode.Forbidden);
        await (await intruder.Client.GetAsync($"/api/v1/progress/?user={owner.User.Id}")).DetailAsync(HttpStatusCode.Forbidden);

        var untouched = await (await owner.Client.GetAsync(url)).ReadAsync<ProgressDto>();
        Assert.Equal(record.Version, untouched.Version);

        var admin = await server.AdminClientAsync();
        var seen = await (await admin.GetAsync($"/api/v1/progress/?user={owner.User.Id}")).ReadAsync<PagedResponse<ProgressDto>>();
        Assert.Equal([record.Id], seen.Results.Select(r => r.Id));
        await (await admin.GetAsync(url)).ReadAsync<ProgressDto>();
    }

    [Fact]
    public async Task Unknown_records_are_404_and_delete_removes_a_record()
    {
        var learner = await server.RegisterAsync();
        await (await learner.Client.GetAsync("/api/v1/progress/999999999/")).DetailAsync(HttpStatusCode.NotFound);
        await (await learner.Client.PatchJsonAsync("/api/v1/progress/999999999/", new UpdateProgressRequest(null, 5, null, null, null))).DetailAsync(HttpStatusCode.NotFound);
        await (await learner.Client.DeleteAsync("/api/v1/progress/999999999/")).DetailAsync(HttpStatusCode.NotFound);

        var record = await CreateAsync(learner.Client, Lesson());
        Assert.Equal(HttpStatusCode.NoContent, (await learner.Client.DeleteAsync($"/api/v1/progress/{record.Id}/")).StatusCode);
        await (await learner.Client.GetAsync($"/api/v1/progress/{record.Id}/")).DetailAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task List_filters_by_content_type_and_status_and_pages_with_links()
    {
        var learner = await server.RegisterAsync();
        for (var i = 0; i < 5; i++)
        {
            await CreateAsync(learner.Client, Lesson(status: i < 3 ? ProgressStatus.Completed : ProgressStatus.InProgress, percentage: i < 3 ? null : 50));
        }
        await CreateAsync(learner.Client, Lesson() with { ContentType = "lab" });

        var all = await (await learner.Client.GetAsync("/api/v1/progress/")).ReadAsync<PagedResponse<ProgressDto>>();
        Assert.Equal(6, all.Count);
        Assert.Null(all.Next);

        var labs = await (await learner.Client.GetAsync("/api/v1/progress/?content_type=lab")).ReadAsync<PagedResponse<ProgressDto>>();
        Assert.Equal(1, labs.Count);

        var page1 = await (await learner.Client.GetAsync("/api/v1/progress/?content_type=lesson&status=completed&page_size=2")).ReadAsync<PagedResponse<ProgressDto>>();
        Assert.Equal(3, page1.Count);
        Assert.Equal(2, page1.Results.Count);
        Assert.Null(page1.Previous);
        Assert.NotNull(page1.Next);
        Assert.StartsWith(server.BaseAddress.ToString().TrimEnd('/'), page1.Next, StringComparison.Ordinal);
        Assert.Contains("status=completed", page1.Next, StringComparison.Ordinal);
        Assert.Contains("page=2", page1.Next, StringComparison.Ordinal);

        var page2 = await (await learner.Client.GetAsync(page1.Next)).ReadAsync<PagedResponse<ProgressDto>>();
        Assert.Single(page2.Results);
        Assert.Null(page2.Next);
        Assert.NotNull(page2.Previous);
        Assert.All(page1.Results.Concat(page2.Results), r => Assert.Equal(ProgressStatus.Completed, r.Status));
        Assert.Equal(3, page1.Results.Concat(page2.Results).Select(r => r.Id).Distinct().Count());
    }

    [Theory]
    [InlineData("?page=0", HttpStatusCode.BadRequest)]
    [InlineData("?page=-1", HttpStatusCode.BadRequest)]
    [InlineData("?page=abc", HttpStatusCode.BadRequest)]
    [InlineData("?page_size=0", HttpStatusCode.BadRequest)]
    [InlineData("?page_size=101", HttpStatusCode.BadRequest)]
    [InlineData("?page=2", HttpStatusCode.NotFound)]
    [InlineData("?status=finished", HttpStatusCode.BadRequest)]
    [InlineData("?content_type=podcast", HttpStatusCode.BadRequest)]
    [InlineData("?user=abc", HttpStatusCode.BadRequest)]
    public async Task List_rejects_bad_query_parameters(string query, HttpStatusCode expected)
    {
        var learner = await server.RegisterAsync();
        await CreateAsync(learner.Client, Lesson());
        await (await learner.Client.GetAsync($"/api/v1/progress/{query}")).DetailAsync(expected);
    }

    [Fact]
    public async Task Page_size_100_is_the_largest_page()
    {
        var learner = await server.RegisterAsync();
        var page = await (await learner.Client.GetAsync("/api/v1/progress/?page_size=100")).ReadAsync<PagedResponse<ProgressDto>>();
        Assert.Equal(0, page.Count);
        Assert.Empty(page.Results);
    }

    private static StringContent JsonContent<T>(T value) =>
        new(System.Text.Json.JsonSerializer.Serialize(value, CyberHubJson.Options), System.Text.Encoding.UTF8, "application/json");
}

public sealed class SqliteProgressTests(SqliteCoreServer server) : ProgressTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresProgressTests(PostgresCoreServer server) : ProgressTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;
