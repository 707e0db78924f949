using System.Net;
using System.Text;
using System.Text.Json;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Outbox;
using CyberHub.ServiceDefaults.Idempotency;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Tests;

/// <summary><c>Idempotency-Key</c> on <c>POST /api/v1/progress/</c>: a retried create changes nothing and gets the first answer.</summary>
public abstract class IdempotencyTests<TServer>(TServer server) where TServer : CoreServer
{
    private const string Route = "/api/v1/progress/";

    private static CreateProgressRequest Lesson(string? id = null, double? percentage = 40) =>
        new(id ?? $"lesson-{Guid.NewGuid():N}", "lesson", null, percentage, null, 60, null);

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, string? key, CreateProgressRequest body) =>
        PostRawAsync(client, key, JsonSerializer.Serialize(body, CyberHubJson.Options));

    private static Task<HttpResponseMessage> PostRawAsync(HttpClient client, string? key, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Route) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation(IdempotencyKeyHeader.Name, key);
        }
        return client.SendAsync(request);
    }

    private static bool IsReplay(HttpResponseMessage response) =>
        response.Headers.TryGetValues(IdempotencyKeyHeader.Replayed, out var values) && values.Single() == "true";

    private static string NewKey() => Guid.NewGuid().ToString();

    [Fact]
    public async Task A_retry_gets_the_first_answer_and_creates_one_record_and_one_event()
    {
        var learner = await server.RegisterAsync();
        var key = NewKey();
        var body = Lesson();

        var first = await PostAsync(learner.Client, key, body);
        var created = await first.ReadAsync<ProgressDto>(HttpStatusCode.Created);
        Assert.False(first.Headers.Contains(IdempotencyKeyHeader.Replayed));
        var retry = await PostAsync(learner.Client, key, body);

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(IsReplay(retry));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal($"/api/v1/progress/{created.Id}/", retry.Headers.Location?.OriginalString);
        Assert.Equal(first.Headers.ETag, retry.Headers.ETag);
        Assert.Equal("application/json; charset=utf-8", retry.Content.Headers.ContentType?.ToString());

        Assert.Equal([created.Id], await RecordIdsAsync(learner));
        var events = await EventsAsync(learner.User.Id);
        Assert.Equal([ProgressEventTypes.Created], events.Select(e => e.Type));
        Assert.Single(await KeysAsync(learner.User.Id));
    }

    [Fact]
    public async Task A_retry_with_its_json_formatted_differently_is_the_same_request()
    {
        var learner = await server.RegisterAsync();
        var key = NewKey();
        var first = await PostRawAsync(learner.Client, key, """{"content_id":"tls-basics","content_type":"lesson","score":70}""");
        await first.ReadAsync<ProgressDto>(HttpStatusCode.Created);
        var retry = await PostRawAsync(learner.Client, key, """{ "score": 70.0, "content_type": "lesson", "content_id": "tls-basics" }""");
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(IsReplay(retry));
    }

    [Fact]
    public async Task The_same_key_with_a_different_body_is_422_and_changes_nothing()
    {
        var learner = await server.RegisterAsync();
        var key = NewKey();
        var created = await (await PostAsync(learner.Client, key, Lesson("first"))).ReadAsync<ProgressDto>(HttpStatusCode.Created);

        var detail = await (await PostAsync(learner.Client, key, Lesson("second"))).DetailAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("Idempotency-Key", detail, StringComparison.Ordinal);
        Assert.Contains("different request body", detail, StringComparison.Ordinal);
        await (await PostAsync(learner.Client, key, Lesson("first", percentage: 41))).DetailAsync(HttpStatusCode.UnprocessableEntity);

        Assert.Equal([created.Id], await RecordIdsAsync(learner));
        Assert.Single(await EventsAsync(learner.User.Id));
    }

    [Fact]
    public async Task Keys_are_scoped_per_caller()
    {
        var ann = await server.RegisterAsync();
        var bob = await server.RegisterAsync();
        var key = NewKey();
        var body = Lesson("shared-lesson");

        var anns = await (await PostAsync(ann.Client, key, body)).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        var bobsAnswer = await PostAsync(bob.Client, key, body);
        var bobs = await bobsAnswer.ReadAsync<ProgressDto>(HttpStatusCode.Created);

        Assert.False(bobsAnswer.Headers.Contains(IdempotencyKeyHeader.Replayed));
        Assert.NotEqual(anns.Id, bobs.Id);
        Assert.Equal(bob.User.Id, bobs.UserId);
        // Bob's key is his own from now on: his retry with another body is refused, Ann's is untouched.
        await (await PostAsync(bob.Client, key, Lesson("other"))).DetailAsync(HttpStatusCode.UnprocessableEntity);
        Assert.True(IsReplay(await PostAsync(ann.Client, key, body)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("tab\tinside")]
    [InlineData("\"unterminated")]
    [InlineData("\"bad \\escape\"")]
    [InlineData("\"\"")]
    [InlineData("256")]
    public async Task A_malformed_key_is_400_and_creates_nothing(string key)
    {
        var learner = await server.RegisterAsync();
        key = key == "256" ? new string('k', 256) : key;
        var detail = await (await PostAsync(learner.Client, key, Lesson())).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("Idempotency-Key must be 1 to 255 printable ASCII characters", detail, StringComparison.Ordinal);
        Assert.Empty(await RecordIdsAsync(learner));
    }

    [Fact]
    public async Task Keys_of_255_printable_characters_work_and_the_quoted_form_is_the_same_key()
    {
        var learner = await server.RegisterAsync();
        var longest = string.Concat(Enumerable.Range(0, 255).Select(i => (char)(' ' + 1 + (i % 94))));
        await (await PostAsync(learner.Client, longest, Lesson())).ReadAsync<ProgressDto>(HttpStatusCode.Created);

        var body = Lesson();
        await (await PostAsync(learner.Client, "order 66 \"quoted\"", body)).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        var quoted = await PostAsync(learner.Client, "\"order 66 \\\"quoted\\\"\"", body);
        Assert.Equal(HttpStatusCode.Created, quoted.StatusCode);
        Assert.True(IsReplay(quoted));
        Assert.Equal(2, (await RecordIdsAsync(learner)).Count);
    }

    [Fact]
    public async Task A_request_refused_as_invalid_is_not_stored_so_the_corrected_one_may_use_the_key()
    {
        var learner = await server.RegisterAsync();
        var key = NewKey();
        await (await PostAsync(learner.Client, key, Lesson("fixed-later", percentage: 150))).DetailAsync(HttpStatusCode.BadRequest);
        var corrected = await PostAsync(learner.Client, key, Lesson("fixed-later", percentage: 50));
        await corrected.ReadAsync<ProgressDto>(HttpStatusCode.Created);
        Assert.False(corrected.Headers.Contains(IdempotencyKeyHeader.Replayed));
    }

    [Fact]
    public async Task A_refusal_of_the_request_itself_is_stored_and_replayed()
    {
        var learner = await server.RegisterAsync();
        var existing = await (await PostAsync(learner.Client, null, Lesson("taken"))).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        var key = NewKey();
        var refused = await (await PostAsync(learner.Client, key, Lesson("taken"))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains($"id {existing.Id}", refused, StringComparison.Ordinal);

        // The answer to this key is final: even with the obstacle gone, a retry is answered as the first attempt was.
        Assert.Equal(HttpStatusCode.NoContent, (await learner.Client.DeleteAsync($"/api/v1/progress/{existing.Id}/")).StatusCode);
        var retry = await PostAsync(learner.Client, key, Lesson("taken"));
        Assert.True(IsReplay(retry));
        Assert.Equal(refused, await retry.DetailAsync(HttpStatusCode.BadRequest));
        Assert.Empty(await RecordIdsAsync(learner));
    }

    [Fact]
    public async Task Concurrent_duplicates_create_one_record_and_all_get_the_first_answer()
    {
        var learner = await server.RegisterAsync();
        var key = NewKey();
        var body = Lesson();
        const int attempts = 10;

        var answers = await Task.WhenAll(Enumerable.Range(0, attempts).Select(_ => PostAsync(learner.Client, key, body)));

        // A duplicate waits for the learner's lock, which the first attempt holds until its record and key commit.
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.StatusCode));
        Assert.Single(answers, a => !IsReplay(a));
        var bodies = await Task.WhenAll(answers.Select(a => a.Content.ReadAsStringAsync()));
        Assert.Single(bodies.Distinct());
        var created = JsonSerializer.Deserialize<ProgressDto>(bodies[0], CyberHubJson.Options)!;
        Assert.Equal([created.Id], await RecordIdsAsync(learner));
        Assert.Single(await EventsAsync(learner.User.Id));
        Assert.Single(await KeysAsync(learner.User.Id));
    }

    [Fact]
    public async Task Expired_keys_are_forgotten_and_purged()
    {
        var learner = await server.RegisterAsync();
        var (expiring, kept) = (NewKey(), NewKey());
        var body = Lesson();
        await (await PostAsync(learner.Client, expiring, body)).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        await (await PostAsync(learner.Client, kept, Lesson())).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        var now = DateTime.UtcNow;
        await ExpireAsync(learner.User.Id, expiring, now.AddSeconds(-1));

        // Past its lifetime the key means nothing: the request is carried out again (and refused, the record exists).
        var again = await PostAsync(learner.Client, expiring, body);
        Assert.False(again.Headers.Contains(IdempotencyKeyHeader.Replayed));
        Assert.Contains("already exists", await again.DetailAsync(HttpStatusCode.BadRequest), StringComparison.Ordinal);

        await ExpireAsync(learner.User.Id, kept, now.AddSeconds(-1));
        await using (var scope = server.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<CoreDbContext>().PurgeExpiredAsync(DateTime.UtcNow, CancellationToken.None);
        }
        var left = await KeysAsync(learner.User.Id);
        var survivor = Assert.Single(left);
        Assert.Equal(expiring, survivor.Key);
        Assert.Equal(400, survivor.StatusCode);
        Assert.InRange(survivor.ExpiresAt, now.AddHours(24).AddMinutes(-5), now.AddHours(24).AddMinutes(5));
    }

    private static async Task<List<long>> RecordIdsAsync(Learner learner) =>
        [.. (await (await learner.Client.GetAsync(Route)).ReadAsync<PagedResponse<ProgressDto>>()).Results.Select(r => r.Id)];

    private async Task<List<OutboxEvent>> EventsAsync(long userId)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CoreDbContext>().OutboxEvents.AsNoTracking()
            .Where(e => e.UserId == userId).OrderBy(e => e.Id).ToListAsync();
    }

    private async Task<List<IdempotencyKey>> KeysAsync(long userId)
    {
        var caller = userId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var scope = server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CoreDbContext>().IdempotencyKeys.AsNoTracking()
            .Where(k => k.Caller == caller).OrderBy(k => k.Id).ToListAsync();
    }

    private async Task ExpireAsync(long userId, string key, DateTime expiresAt)
    {
        var caller = userId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var scope = server.Services.CreateAsyncScope();
        var updated = await scope.ServiceProvider.GetRequiredService<CoreDbContext>().IdempotencyKeys
            .Where(k => k.Caller == caller && k.Key == key).ExecuteUpdateAsync(s => s.SetProperty(k => k.ExpiresAt, expiresAt));
        Assert.Equal(1, updated);
    }
}

public sealed class SqliteIdempotencyTests(SqliteCoreServer server) : IdempotencyTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresIdempotencyTests(PostgresCoreServer server) : IdempotencyTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;

/// <summary>Which answers are kept for retries: the final ones.</summary>
public sealed class IdempotentAnswerTests
{
    [Theory]
    [InlineData(200, true)]
    [InlineData(201, true)]
    [InlineData(400, true)]
    [InlineData(403, true)]
    [InlineData(404, true)]
    [InlineData(422, true)]
    [InlineData(408, false)]
    [InlineData(409, false)]
    [InlineData(429, false)]
    [InlineData(500, false)]
    [InlineData(503, false)]
    public void Successes_and_final_client_errors_are_kept_server_errors_are_not(int status, bool kept) =>
        Assert.Equal(kept, IdempotentAnswer.IsFinal(status));
}
