using System.Net;
using System.Text.Json.Nodes;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Outbox;
using CyberHub.Core.Progress;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Tests;

/// <summary>A Core on PostgreSQL with a single pooled connection: every request uses the connection the previous one used.</summary>
public sealed class SingleConnectionPostgresCoreServer : CoreServer
{
    private readonly ThrowawayDatabase _database = new("core_one_conn");

    protected override async Task<string?> CreateDatabaseAsync() => await _database.CreateAsync() + ";Maximum Pool Size=1";

    protected override Task DropDatabaseAsync() => _database.DropAsync();
}

/// <summary>
/// A Core on PostgreSQL with two pooled connections that are replaced after a second: each new one prepares the
/// statements afresh, as connections do when a pool grows, shrinks or loses one.
/// </summary>
public sealed class ChurningPostgresCoreServer : CoreServer
{
    private readonly ThrowawayDatabase _database = new("core_churn");

    protected override async Task<string?> CreateDatabaseAsync() => await _database.CreateAsync() + ";Maximum Pool Size=2;Connection Lifetime=1";

    protected override Task DropDatabaseAsync() => _database.DropAsync();
}

/// <summary>
/// Writes PostgreSQL refuses while binding their parameters, made the way the service makes its own (same statements),
/// past the API's checks: straight through the service's database context.
/// </summary>
internal static class RefusedWrites
{
    /// <summary>Past numeric's range: jsonb refuses it while binding the parameter, before the statement runs.</summary>
    private const string Refused = """{"n": 1e200000}""";

    public static async Task CreateAsync(CoreServer server, long userId)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
        await using var transaction = await db.BeginOutboxTransactionAsync(userId, CancellationToken.None);
        var now = DateTime.UtcNow;
        db.Progress.Add(new ProgressRecord
        {
            UserId = userId, ContentType = "lesson", ContentId = $"refused-{Guid.NewGuid():N}", Metadata = Refused, CreatedAt = now, UpdatedAt = now,
        });
        await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
    }

    /// <summary>What a PATCH of metadata does (ProgressService.UpdateAsync), with metadata PostgreSQL refuses.</summary>
    public static async Task UpdateAsync(CoreServer server, long progressId)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
        await using var transaction = await db.Database.BeginTransactionAsync();
        var record = (await db.ReadForChangeAsync(progressId, CancellationToken.None))!;
        ProgressRules.Apply(record, new UpdateProgressRequest(null, null, null, null, new JsonObject { ["refused"] = true }), DateTime.UtcNow);
        record.Version++;
        db.AddProgressEvent(ProgressEventTypes.Updated, ProgressService.ToDto(record), record.UpdatedAt);
        record.Metadata = Refused;
        await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
    }
}

/// <summary>
/// A statement that PostgreSQL refuses in the round trip where Npgsql prepares it (a parameter it cannot take, refused
/// at Bind) used to leave that statement half-prepared on the pooled connection: the next caller to run it there got
/// "Received unexpected backend message DataRow", a 500, and their write was lost (npgsql/npgsql#6391). The failing
/// writes here go past the API's own checks, straight to the service's database context, as any server-side failure
/// would: what is proven is that no failure, whatever its cause, reaches another caller.
/// </summary>
public sealed class FailedWriteIsolationTests(SingleConnectionPostgresCoreServer server) : IClassFixture<SingleConnectionPostgresCoreServer>
{
    private static async Task<ProgressDto> CreateAsync(Learner learner, string contentId) =>
        await (await learner.Client.PostJsonAsync("/api/v1/progress/", new CreateProgressRequest(contentId, "lesson", null, 10, null, null, null)))
            .ReadAsync<ProgressDto>(HttpStatusCode.Created);

    [Fact]
    public async Task An_honest_write_after_a_write_postgresql_refused_on_the_same_connection_succeeds()
    {
        // Npgsql prepares a statement on its fifth run on a connection; alternating refused and honest runs of the same
        // insert puts a refused one on that run whichever count the connection had reached.
        var victim = await server.RegisterAsync();
        var attacker = await server.RegisterAsync();
        for (var i = 0; i < 12; i++)
        {
            await RefusedWrites.CreateAsync(server, attacker.User.Id);
            await CreateAsync(victim, $"honest-{i}");
        }
        var page = await (await victim.Client.GetAsync("/api/v1/progress/?page_size=100")).ReadAsync<PagedResponse<ProgressDto>>();
        Assert.Equal(12, page.Count);
    }
}

/// <summary>The same on connections that come and go, with writes from many users at once.</summary>
public sealed class InterleavedFailedWritesTests(ChurningPostgresCoreServer server) : IClassFixture<ChurningPostgresCoreServer>
{
    private static async Task<ProgressDto> CreateAsync(Learner learner, string contentId) =>
        await (await learner.Client.PostJsonAsync("/api/v1/progress/", new CreateProgressRequest(contentId, "lesson", null, 10, null, null, null)))
            .ReadAsync<ProgressDto>(HttpStatusCode.Created);

    [Fact]
    public async Task A_thousand_interleaved_refused_and_honest_writes_from_different_users_lose_no_honest_write()
    {
        const int Users = 10;
        const int Operations = 1000;
        var learners = new Learner[Users];
        var records = new long[Users];
        for (var u = 0; u < Users; u++)
        {
            learners[u] = await server.RegisterAsync();
            records[u] = (await CreateAsync(learners[u], "first")).Id;
        }

        // Even operations are refused writes (inserts and updates, by users 0-4), odd ones honest (creates and
        // patches, by users 5-9); four run at a time over the one connection, so they interleave in every order.
        var failures = new List<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, Operations), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            if (i % 2 == 0)
            {
                var user = i / 2 % 5;
                await (i % 4 == 0 ? RefusedWrites.CreateAsync(server, learners[user].User.Id) : RefusedWrites.UpdateAsync(server, records[user]));
                return;
            }
            var honest = 5 + i / 2 % 5;
            var response = i % 4 == 1
                ? await learners[honest].Client.PostJsonAsync("/api/v1/progress/", new CreateProgressRequest($"op-{i}", "lesson", null, 10, null, null, null))
                : await learners[honest].Client.PatchJsonAsync($"/api/v1/progress/{records[honest]}/",
                    new UpdateProgressRequest(null, null, null, null, new JsonObject { [$"op{i}"] = i }));
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync();
                lock (failures)
                {
                    failures.Add($"{i}: {(int)response.StatusCode} {body}");
                }
            }
        });
        Assert.Empty(failures);

        for (var honest = 5; honest < Users; honest++)
        {
            var page = await (await learners[honest].Client.GetAsync("/api/v1/progress/?page_size=100")).ReadAsync<PagedResponse<ProgressDto>>();
            var created = Enumerable.Range(0, Operations).Where(i => i % 4 == 1 && 5 + i / 2 % 5 == honest).Select(i => $"op-{i}");
            Assert.Equal(created.Append("first").Order(), page.Results.Select(r => r.ContentId).Order());
            var patched = Enumerable.Range(0, Operations).Where(i => i % 4 == 3 && 5 + i / 2 % 5 == honest).Select(i => $"op{i}");
            var first = page.Results.Single(r => r.ContentId == "first");
            Assert.Equal(patched.Order(), first.Metadata.Select(p => p.Key).Order());
        }
        for (var user = 0; user < 5; user++)
        {
            var page = await (await learners[user].Client.GetAsync("/api/v1/progress/?page_size=100")).ReadAsync<PagedResponse<ProgressDto>>();
            Assert.Equal(["first"], page.Results.Select(r => r.ContentId));
            Assert.Empty(page.Results[0].Metadata);
        }
    }
}
