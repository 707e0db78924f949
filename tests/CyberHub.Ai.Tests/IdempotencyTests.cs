using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Idempotency;
using CyberHub.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Ai.Tests;

/// <summary><c>Idempotency-Key</c> on <c>POST /api/v1/embeddings/store</c>, with the keys kept beside the catalog.</summary>
public abstract class IdempotencyTests<TServer>(TServer server) where TServer : AiServer
{
    private const string Route = "/api/v1/embeddings/store";

    private IVectorStore Store => server.Services.GetRequiredService<IVectorStore>();

    private static StoreEmbeddingsRequest Item(string? id = null, string text = "Capture a TLS handshake and read its messages.") =>
        new([text], "lab", id ?? $"lab-{Guid.NewGuid():N}", "TLS in Wireshark", "Watch a handshake packet by packet.", new JsonObject { ["topic"] = "cryptography" });

    private static Task<HttpResponseMessage> StoreAsync(HttpClient client, string? key, StoreEmbeddingsRequest body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Route)
        {
            Content = new StringContent(JsonSerializer.Serialize(body, CyberHubJson.Options), Encoding.UTF8, "application/json"),
        };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation(IdempotencyKeyHeader.Name, key);
        }
        return client.SendAsync(request);
    }

    private static bool IsReplay(HttpResponseMessage response) =>
        response.Headers.TryGetValues(IdempotencyKeyHeader.Replayed, out var values) && values.Single() == "true";

    private static string NewKey() => Guid.NewGuid().ToString();

    /// <summary>The admin's key scope, as the service derives it: the token's subject and the route.</summary>
    private async Task<IdempotentRequest> AdminKeyAsync(string key, StoreEmbeddingsRequest body)
    {
        using var admin = await server.Core.AdminClientAsync();
        var me = await (await admin.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
        return new IdempotentRequest(me.Id.ToString(CultureInfo.InvariantCulture), $"POST {Route}", key, IdempotentRequest.FingerprintOf(body));
    }

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

    [Fact]
    public async Task A_retry_gets_the_first_answer_and_stores_nothing_again()
    {
        using var admin = await server.AdminClientAsync();
        var key = NewKey();
        var body = Item();

        var first = await StoreAsync(admin, key, body);
        var answer = await first.ReadAsync<StoreEmbeddingsResponse>();
        Assert.Equal([$"lab:{body.ContentId}:0"], answer.Ids);
        Assert.False(first.Headers.Contains(IdempotencyKeyHeader.Replayed));
        var stored = await (await admin.GetAsync($"/api/v1/content/lab/{body.ContentId}")).ReadAsync<ContentItemDto>();

        var retry = await StoreAsync(admin, key, body);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.True(IsReplay(retry));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal("application/json; charset=utf-8", retry.Content.Headers.ContentType?.ToString());
        // Not written a second time: the item keeps the time of the first write.
        var after = await (await admin.GetAsync($"/api/v1/content/lab/{body.ContentId}")).ReadAsync<ContentItemDto>();
        Assert.Equal(stored.UpdatedAt, after.UpdatedAt);
    }

    [Fact]
    public async Task The_same_key_with_a_different_body_is_422_and_stores_nothing()
    {
        using var admin = await server.AdminClientAsync();
        var key = NewKey();
        await (await StoreAsync(admin, key, Item())).ReadAsync<StoreEmbeddingsResponse>();

        var other = Item();
        var detail = await (await StoreAsync(admin, key, other)).DetailAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("different request body", detail, StringComparison.Ordinal);
        await (await admin.GetAsync($"/api/v1/content/lab/{other.ContentId}")).DetailAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Keys_are_scoped_per_caller()
    {
        using var admin = await server.AdminClientAsync();
        using var author = await ContentCreatorAsync();
        var key = NewKey();
        var body = Item();

        await (await StoreAsync(admin, key, body)).ReadAsync<StoreEmbeddingsResponse>();
        // The author's own item under the admin's key: were keys shared, this other body would be a 422.
        var authors = await StoreAsync(author, key, Item());
        await authors.ReadAsync<StoreEmbeddingsResponse>();
        Assert.False(authors.Headers.Contains(IdempotencyKeyHeader.Replayed));

        var other = Item();
        await (await StoreAsync(author, key, other)).DetailAsync(HttpStatusCode.UnprocessableEntity);
        Assert.True(IsReplay(await StoreAsync(admin, key, body)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("tab\tinside")]
    [InlineData("256")]
    public async Task A_malformed_key_is_400_and_stores_nothing(string key)
    {
        using var admin = await server.AdminClientAsync();
        var body = Item();
        var detail = await (await StoreAsync(admin, key == "256" ? new string('k', 256) : key, body)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("Idempotency-Key", detail, StringComparison.Ordinal);
        await (await admin.GetAsync($"/api/v1/content/lab/{body.ContentId}")).DetailAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_request_refused_as_invalid_leaves_the_key_unused()
    {
        using var admin = await server.AdminClientAsync();
        var key = NewKey();
        var body = Item();
        await (await StoreAsync(admin, key, body with { ContentType = "podcast" })).DetailAsync(HttpStatusCode.BadRequest);
        var corrected = await StoreAsync(admin, key, body);
        await corrected.ReadAsync<StoreEmbeddingsResponse>();
        Assert.False(corrected.Headers.Contains(IdempotencyKeyHeader.Replayed));
    }

    [Fact]
    public async Task A_duplicate_while_the_first_is_in_flight_is_409_with_retry_after()
    {
        using var admin = await server.AdminClientAsync();
        var key = NewKey();
        var body = Item();
        // The first request holds the key (it is embedding its texts, say).
        var claim = await Store.ClaimKeyAsync(await AdminKeyAsync(key, body), DateTime.UtcNow);
        Assert.Null(claim.Answer);

        var duplicate = await StoreAsync(admin, key, body);
        var detail = await duplicate.DetailAsync(HttpStatusCode.Conflict);
        Assert.Contains("still being processed", detail, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(1), duplicate.Headers.RetryAfter?.Delta);
        await (await admin.GetAsync($"/api/v1/content/lab/{body.ContentId}")).DetailAsync(HttpStatusCode.NotFound);
        // The same key with another body is still a different request.
        await (await StoreAsync(admin, key, Item())).DetailAsync(HttpStatusCode.UnprocessableEntity);

        // The first request failed and gave the key back: the retry is carried out.
        await Store.ReleaseKeyAsync(claim);
        var retry = await StoreAsync(admin, key, body);
        await retry.ReadAsync<StoreEmbeddingsResponse>();
        Assert.False(retry.Headers.Contains(IdempotencyKeyHeader.Replayed));
        Assert.True(IsReplay(await StoreAsync(admin, key, body)));
    }

    [Fact]
    public async Task A_claim_abandoned_by_a_crashed_request_is_taken_over_once_its_lease_runs_out()
    {
        using var admin = await server.AdminClientAsync();
        var key = NewKey();
        var body = Item();
        await Store.ClaimKeyAsync(await AdminKeyAsync(key, body), DateTime.UtcNow - IdempotencyClaim.Lease - TimeSpan.FromSeconds(1));

        var retry = await StoreAsync(admin, key, body);
        await retry.ReadAsync<StoreEmbeddingsResponse>();
        Assert.False(retry.Headers.Contains(IdempotencyKeyHeader.Replayed));
        await (await admin.GetAsync($"/api/v1/content/lab/{body.ContentId}")).ReadAsync<ContentItemDto>();
        Assert.True(IsReplay(await StoreAsync(admin, key, body)));
    }

    [Fact]
    public async Task Concurrent_duplicates_store_once_and_each_gets_the_first_answer_or_409()
    {
        using var admin = await server.AdminClientAsync();
        var key = NewKey();
        var body = Item();

        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => StoreAsync(admin, key, body)));

        var original = Assert.Single(answers, a => a.StatusCode == HttpStatusCode.OK && !IsReplay(a));
        var expected = await original.Content.ReadAsStringAsync();
        foreach (var answer in answers.Where(a => a != original))
        {
            if (answer.StatusCode == HttpStatusCode.Conflict)
            {
                Assert.NotNull(answer.Headers.RetryAfter?.Delta);
                await answer.DetailAsync(HttpStatusCode.Conflict);
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                Assert.True(IsReplay(answer));
                Assert.Equal(expected, await answer.Content.ReadAsStringAsync());
            }
        }
        var late = await StoreAsync(admin, key, body);
        Assert.True(IsReplay(late));
        Assert.Equal(expected, await late.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Expired_keys_are_forgotten_and_purged()
    {
        using var admin = await server.AdminClientAsync();
        var key = NewKey();
        await (await StoreAsync(admin, key, Item())).ReadAsync<StoreEmbeddingsResponse>();

        // Within its 24 hours the key keeps its meaning; a purge then leaves it alone.
        await Store.PurgeExpiredKeysAsync(DateTime.UtcNow.AddHours(23));
        await (await StoreAsync(admin, key, Item())).DetailAsync(HttpStatusCode.UnprocessableEntity);

        Assert.True(await Store.PurgeExpiredKeysAsync(DateTime.UtcNow.AddHours(25)) >= 1);
        var reused = await StoreAsync(admin, key, Item());
        await reused.ReadAsync<StoreEmbeddingsResponse>();
        Assert.False(reused.Headers.Contains(IdempotencyKeyHeader.Replayed));
    }

    [Fact]
    public async Task An_expired_key_means_nothing_even_before_it_is_purged()
    {
        using var admin = await server.AdminClientAsync();
        var key = NewKey();
        // Claimed two days ago for another body and never answered: long expired.
        await Store.ClaimKeyAsync(await AdminKeyAsync(key, Item()), DateTime.UtcNow.AddDays(-2));

        var body = Item();
        var fresh = await StoreAsync(admin, key, body);
        await fresh.ReadAsync<StoreEmbeddingsResponse>();
        Assert.False(fresh.Headers.Contains(IdempotencyKeyHeader.Replayed));
        Assert.True(IsReplay(await StoreAsync(admin, key, body)));
    }
}

public sealed class EmbeddedIdempotencyTests(EmbeddedAiServer server) : IdempotencyTests<EmbeddedAiServer>(server), IClassFixture<EmbeddedAiServer>;

public sealed class PgVectorIdempotencyTests(PgVectorAiServer server) : IdempotencyTests<PgVectorAiServer>(server), IClassFixture<PgVectorAiServer>;
