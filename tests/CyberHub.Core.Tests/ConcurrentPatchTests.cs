using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Outbox;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Tests;

/// <summary>Optimistic concurrency on one progress record under 50 simultaneous PATCHes.</summary>
public abstract class ConcurrentPatchTests<TServer>(TServer server) where TServer : CoreServer
{
    private const int Writers = 50;

    private static Task<HttpResponseMessage> PatchAsync(HttpClient client, long id, int writer, string? ifMatch = null)
    {
        // Each writer's change is its own: one metadata key (merged, RFC 7396) and a time no other writer sets.
        var change = new UpdateProgressRequest(null, null, null, 1000 + writer, new JsonObject { [$"p{writer}"] = true });
        var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/progress/{id}/")
        {
            Content = new StringContent(JsonSerializer.Serialize(change, CyberHubJson.Options), System.Text.Encoding.UTF8, "application/json"),
        };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        return client.SendAsync(request);
    }

    private static async Task<(ProgressDto Record, string ETag)> CreateAsync(Learner learner)
    {
        var response = await learner.Client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest($"lab-{Guid.NewGuid():N}", "lab", ProgressStatus.InProgress, 10, null, 0, null));
        return (await response.ReadAsync<ProgressDto>(HttpStatusCode.Created), response.Headers.ETag!.Tag);
    }

    [Fact]
    public async Task Fifty_patches_without_if_match_all_apply_one_after_another_with_one_event_each_in_order()
    {
        var learner = await server.RegisterAsync();
        var (created, _) = await CreateAsync(learner);

        var responses = await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => PatchAsync(learner.Client, created.Id, w)));
        var answers = new ProgressDto[Writers];
        for (var w = 0; w < Writers; w++)
        {
            answers[w] = await responses[w].ReadAsync<ProgressDto>();
            Assert.Equal(1000 + w, answers[w].TimeSpentSeconds);
            Assert.True((bool?)answers[w].Metadata[$"p{w}"]);
            Assert.Equal($"\"{answers[w].Version}\"", responses[w].Headers.ETag?.Tag);
        }
        // Every writer saw its own version: they were applied one at a time.
        Assert.Equal(Enumerable.Range(created.Version + 1, Writers), answers.Select(a => a.Version).Order());

        var final = await learner.Client.GetAsync($"/api/v1/progress/{created.Id}/");
        var record = await final.ReadAsync<ProgressDto>();
        Assert.Equal(Enumerable.Range(0, Writers).Select(w => $"p{w}").Order(), record.Metadata.Select(p => p.Key).Order());
        Assert.Equal(created.Version + Writers, record.Version);
        Assert.Equal($"\"{created.Version + Writers}\"", final.Headers.ETag?.Tag);

        var events = await EventsAsync(learner.User.Id);
        Assert.Equal([ProgressEventTypes.Created, .. Enumerable.Repeat(ProgressEventTypes.Updated, Writers)], events.Select(e => e.Type));
        var updates = events.Skip(1).Select(e => JsonSerializer.Deserialize<ProgressDto>(e.Payload, CyberHubJson.Options)!).ToList();
        // In id order the events describe versions 1..50 in turn, each one key more than the one before.
        Assert.Equal(Enumerable.Range(created.Version + 1, Writers), updates.Select(u => u.Version));
        for (var i = 0; i < Writers; i++)
        {
            Assert.Equal(i + 1, updates[i].Metadata.Count);
            Assert.True(i == 0 || updates[i - 1].Metadata.All(p => updates[i].Metadata.ContainsKey(p.Key)), $"event {i} lost a key");
            // The event of a version is exactly what its writer was answered.
            var writer = answers.Single(a => a.Version == updates[i].Version);
            Assert.Equal(writer.TimeSpentSeconds, updates[i].TimeSpentSeconds);
            Assert.True(JsonNode.DeepEquals(writer.Metadata, updates[i].Metadata));
        }
        Assert.Equal(updates[^1].TimeSpentSeconds, record.TimeSpentSeconds);
    }

    [Fact]
    public async Task Fifty_patches_with_the_same_if_match_let_exactly_one_through()
    {
        var learner = await server.RegisterAsync();
        var (created, etag) = await CreateAsync(learner);

        var responses = await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => PatchAsync(learner.Client, created.Id, w, etag)));

        var winners = Enumerable.Range(0, Writers).Where(w => responses[w].StatusCode == HttpStatusCode.OK).ToList();
        var winner = Assert.Single(winners);
        foreach (var loser in Enumerable.Range(0, Writers).Except(winners))
        {
            var detail = await responses[loser].DetailAsync(HttpStatusCode.PreconditionFailed);
            Assert.Contains("has changed", detail, StringComparison.Ordinal);
        }
        var won = await responses[winner].ReadAsync<ProgressDto>();
        Assert.Equal(created.Version + 1, won.Version);

        var record = await (await learner.Client.GetAsync($"/api/v1/progress/{created.Id}/")).ReadAsync<ProgressDto>();
        Assert.Equal([$"p{winner}"], record.Metadata.Select(p => p.Key));
        Assert.Equal(1000 + winner, record.TimeSpentSeconds);
        Assert.Equal(created.Version + 1, record.Version);

        var events = await EventsAsync(learner.User.Id);
        Assert.Equal([ProgressEventTypes.Created, ProgressEventTypes.Updated], events.Select(e => e.Type));
        Assert.Equal(won.Version, JsonSerializer.Deserialize<ProgressDto>(events[1].Payload, CyberHubJson.Options)!.Version);
    }

    /// <summary>
    /// On SQLite a progress write (create, update, delete) waits for its turn in Core's own queue
    /// (<see cref="SqliteWriteGate"/>), asynchronously, rather than asleep in SQLite's busy handler; it goes on when the
    /// writer before it is done. On PostgreSQL nothing waits there.
    /// </summary>
    [Fact]
    public async Task Progress_writes_queue_for_their_turn_on_sqlite_and_go_straight_through_on_postgresql()
    {
        var learner = await server.RegisterAsync();
        var (created, _) = await CreateAsync(learner);
        var (other, _) = await CreateAsync(learner);
        var gate = server.Services.GetRequiredService<SqliteWriteGate>();
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
        var sqlite = db.Database.IsSqlite();

        Task<HttpResponseMessage> patch, create, delete;
        using (await gate.EnterAsync(db, CancellationToken.None))
        {
            patch = PatchAsync(learner.Client, created.Id, 1);
            create = learner.Client.PostJsonAsync("/api/v1/progress/",
                new CreateProgressRequest($"lab-{Guid.NewGuid():N}", "lab", ProgressStatus.InProgress, 10, null, 0, null));
            delete = learner.Client.DeleteAsync($"/api/v1/progress/{other.Id}/");
            if (sqlite)
            {
                for (var waited = 0; gate.Waiting < 3 && waited < 600; waited++)
                {
                    await Task.Delay(50);
                }
                Assert.Equal(3, gate.Waiting);
                Assert.False(patch.IsCompleted || create.IsCompleted || delete.IsCompleted);
            }
            else
            {
                await Task.WhenAll(patch, create, delete);
            }
        }

        Assert.Equal(created.Version + 1, (await (await patch).ReadAsync<ProgressDto>()).Version);
        Assert.Equal(HttpStatusCode.Created, (await create).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await delete).StatusCode);
        Assert.Equal(0, gate.Waiting);
    }

    private async Task<List<OutboxEvent>> EventsAsync(long userId)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CoreDbContext>().OutboxEvents.AsNoTracking()
            .Where(e => e.UserId == userId).OrderBy(e => e.Id).ToListAsync();
    }
}

public sealed class SqliteConcurrentPatchTests(SqliteCoreServer server) : ConcurrentPatchTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresConcurrentPatchTests(PostgresCoreServer server) : ConcurrentPatchTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;
