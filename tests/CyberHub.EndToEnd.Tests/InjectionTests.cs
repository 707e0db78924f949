using System.Net;
using System.Text.Json.Nodes;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.EndToEnd.Tests.Infrastructure;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.EndToEnd.Tests;

/// <summary>
/// SQL and script injection strings are data: stored in every free-text field (names, bio, organizations, progress
/// metadata, the catalog's texts, titles, descriptions and metadata, and the identifiers that allow them), read back
/// verbatim, never executed against SQLite, PostgreSQL or pgvector (every table is still there), and never served as
/// HTML: every answer that carries them, errors included, is <c>application/json</c> (with <c>nosniff</c> when the
/// security headers are on), which no browser renders.
/// </summary>
public abstract class InjectionTests<TPlatform>(TPlatform platform) where TPlatform : Platform
{
    private static readonly string[] Payloads =
    [
        "'; DROP TABLE users; --",
        "\" OR 1=1 --",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "Robert'); DROP TABLE progress;-- $1 %s {{7*7}} ${7*7} \\' /* */",
    ];

    // Identifiers may hold no spaces, slashes, backslashes, %, ? or #; this is what injection looks like without them.
    private static readonly string[] Identifiers = ["'OR'1'='1", "<svg+onload=alert(1)>", "<img+src=x+onerror=alert(1)>", "x';DROP--TABLE--content_items;--"];

    [Fact]
    public async Task Injection_strings_in_every_free_text_field_are_stored_and_returned_verbatim_as_json()
    {
        var learner = await platform.Core.RegisterAsync("inject");
        using var admin = await platform.AdminAiClientAsync();
        using var ai = platform.AiClient(learner.Access);
        var metadata = new JsonObject(Payloads.Select((p, i) => KeyValuePair.Create<string, JsonNode?>(p, new JsonArray(p, new JsonObject { [$"k{i}"] = p }))));

        for (var i = 0; i < Payloads.Length; i++)
        {
            var payload = Payloads[i];
            var me = await ReadJsonAsync<UserDto>(await learner.Client.PatchJsonAsync("/api/v1/users/me/", new UpdateProfileRequest(payload, payload, payload + "\n" + payload, null)));
            Assert.Equal((payload, payload, payload + "\n" + payload), (me.FirstName, me.LastName, me.Bio));
            var again = await ReadJsonAsync<UserDto>(await learner.Client.GetAsync("/api/v1/users/me/"));
            Assert.Equal((payload, payload, payload + "\n" + payload), (again.FirstName, again.LastName, again.Bio));

            var organization = await ReadJsonAsync<OrganizationDto>(
                await learner.Client.PostJsonAsync("/api/v1/organizations/", new CreateOrganizationRequest(payload, $"inject-{Guid.NewGuid():N}", payload)), HttpStatusCode.Created);
            var fetched = await ReadJsonAsync<OrganizationDto>(await learner.Client.GetAsync($"/api/v1/organizations/{organization.Id}/"));
            Assert.Equal((payload, payload), (fetched.Name, fetched.Description));
        }

        foreach (var id in Identifiers)
        {
            var created = await ReadJsonAsync<ProgressDto>(await learner.Client.PostJsonAsync("/api/v1/progress/",
                new CreateProgressRequest(id, "lesson", ProgressStatus.Completed, 100, null, 60, metadata)), HttpStatusCode.Created);
            var progress = await ReadJsonAsync<ProgressDto>(await learner.Client.GetAsync($"/api/v1/progress/{created.Id}/"));
            Assert.Equal(id, progress.ContentId);
            Assert.True(JsonNode.DeepEquals(metadata, progress.Metadata), progress.Metadata.ToJsonString());
            var patched = await ReadJsonAsync<ProgressDto>(await learner.Client.PatchJsonAsync($"/api/v1/progress/{created.Id}/",
                new UpdateProgressRequest(null, null, null, null, new JsonObject { [Payloads[0]] = Payloads[2] })));
            Assert.Equal(Payloads[2], (string?)patched.Metadata[Payloads[0]]);

            var texts = Payloads.Append(id).ToArray();
            await ReadJsonAsync<StoreEmbeddingsResponse>(await admin.PostJsonAsync("/api/v1/embeddings/store",
                new StoreEmbeddingsRequest(texts, "lab", id, Payloads[2], Payloads[0] + "\n" + Payloads[3], metadata)));
            var item = await ReadJsonAsync<ContentItemDto>(await ai.GetAsync($"/api/v1/content/lab/{Uri.EscapeDataString(id)}"));
            Assert.Equal((id, Payloads[2], Payloads[0] + "\n" + Payloads[3]), (item.ContentId, item.Title, item.Description));
            Assert.True(JsonNode.DeepEquals(metadata, item.Metadata), item.Metadata.ToJsonString());
            var embedded = await ReadJsonAsync<EmbeddingsResponse>(await ai.PostJsonAsync("/api/v1/embeddings", new EmbeddingsRequest(texts)));
            Assert.Equal(texts, embedded.Embeddings.Select(e => e.Text));
        }

        foreach (var payload in Payloads)
        {
            var found = await ReadJsonAsync<ContentSearchResponse>(await ai.PostJsonAsync("/api/v1/content/search", new ContentSearchRequest(payload, "lab", 50)));
            Assert.Equal(payload, found.Query);
            Assert.Contains(found.Results, r => r.ContentId == Identifiers[0] && r.Title == Payloads[2]);
            await ReadJsonAsync<PagedResponse<ProgressDto>>(await learner.Client.GetAsync($"/api/v1/progress/?content_type={Uri.EscapeDataString(payload)}"), HttpStatusCode.BadRequest);
        }

        // The events carrying the metadata went through the outbox (jsonb on PostgreSQL) to the AI service.
        await Platform.EventuallyAsync(async () =>
        {
            await using var scope = platform.Core.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
            var events = await db.OutboxEvents.Where(e => e.UserId == learner.User.Id).ToListAsync();
            Assert.DoesNotContain(events, e => e.FailedAt is not null);
            return events.Count > 0 && events.All(e => e.DeliveredAt is not null);
        }, "the progress events were delivered");
        // The completions, and the co-completion counts they fed, hold the identifiers verbatim.
        var profile = await platform.Ai.Services.GetRequiredService<ILearnerProfileStore>().GetAsync(learner.User.Id);
        Assert.Equal(Identifiers.Order(StringComparer.Ordinal), profile!.Completed.Select(c => c.ContentId).Order(StringComparer.Ordinal));
        var keys = Identifiers.Select(id => new ContentKey("lesson", id)).ToList();
        var counts = await platform.Ai.Services.GetRequiredService<ICoCompletionStore>().ReadAsync(keys, 0);
        Assert.All(keys, key => Assert.Equal(1, Assert.Single(counts.Items, i => i.Item == key).Count, 9));

        await AssertTablesIntactAsync(learner);
    }

    private async Task AssertTablesIntactAsync(Learner learner)
    {
        await using var scope = platform.Core.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
        Assert.True(await db.Users.CountAsync() >= 2);
        Assert.Equal(Identifiers.Length, await db.Progress.CountAsync(p => p.UserId == learner.User.Id));
        Assert.Equal(Payloads.Length, await db.Organizations.CountAsync(o => o.OwnerId == learner.User.Id));
        Assert.True(await db.OutboxEvents.AnyAsync());
        Assert.True(await db.RefreshTokens.AnyAsync());
        var catalog = platform.Ai.Services.GetRequiredService<IVectorStore>();
        Assert.True(await catalog.CountAsync() > Identifiers.Length);
        foreach (var id in Identifiers)
        {
            Assert.NotNull(await catalog.GetVectorAsync(new ContentKey("lab", id)));
        }
    }

    /// <summary>Reads an answer after checking it is JSON, with nosniff wherever security headers are sent.</summary>
    private static async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        if (response.Headers.TryGetValues("X-Content-Type-Options", out var options))
        {
            Assert.Equal("nosniff", options.Single());
        }
        if (expected == HttpStatusCode.BadRequest)
        {
            await response.DetailAsync(expected);
            return default!;
        }
        return await response.ReadAsync<T>(expected);
    }
}

public sealed class EmbeddedInjectionTests(EmbeddedPlatform platform) : InjectionTests<EmbeddedPlatform>(platform), IClassFixture<EmbeddedPlatform>;

public sealed class PostgresInjectionTests(PostgresPlatform platform) : InjectionTests<PostgresPlatform>(platform), IClassFixture<PostgresPlatform>;
