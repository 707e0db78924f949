using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Outbox;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace CyberHub.Core.Tests;

/// <summary>
/// Two Core instances over one database (as a scaled-out deployment), both dispatching to one stand-in AI
/// receiver. Short backoffs and polls keep the tests quick; every wait is a poll with a deadline.
/// </summary>
public abstract class OutboxFixture : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));

    public ProgressEventReceiver Receiver { get; } = new();
    public CoreServer First { get; private set; } = null!;
    public CoreServer Second { get; private set; } = null!;

    protected abstract Task<string?> CreateDatabaseAsync();
    protected virtual Task DropDatabaseAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        await Receiver.StartAsync();
        var connectionString = await CreateDatabaseAsync();
        var settings = new Dictionary<string, string?>
        {
            ["CYBERHUB_AI_API_URL"] = Receiver.BaseAddress.ToString(),
            ["Outbox:Enabled"] = "true",
            ["Outbox:PollInterval"] = "00:00:00.200",
            ["Outbox:MinBackoff"] = "00:00:00.050",
            ["Outbox:MaxBackoff"] = "00:00:00.400",
            ["Outbox:LeaseDuration"] = "00:00:10",
        };
        // One after the other: the first migrates the database and generates the signing key both use.
        First = new ConfiguredCoreServer(connectionString, _dataDirectory, settings);
        await First.InitializeAsync();
        Second = new ConfiguredCoreServer(connectionString, _dataDirectory, settings);
        await Second.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Second.DisposeAsync();
        await First.DisposeAsync();
        await Receiver.DisposeAsync();
        await DropDatabaseAsync();
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}

public sealed class SqliteOutboxFixture : OutboxFixture
{
    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
}

public sealed class PostgresOutboxFixture : OutboxFixture
{
    private readonly ThrowawayDatabase _database = new("core_outbox");

    protected override async Task<string?> CreateDatabaseAsync() => await _database.CreateAsync();

    protected override Task DropDatabaseAsync() => _database.DropAsync();
}

public abstract class OutboxTests<TFixture>(TFixture fixture) : IDisposable where TFixture : OutboxFixture
{
    private readonly ProgressEventReceiver _receiver = fixture.Receiver;

    public void Dispose() => _receiver.Respond = _ => 200;

    [Fact]
    public async Task Create_update_and_delete_each_deliver_one_event_with_the_record_in_order()
    {
        var learner = await fixture.First.RegisterAsync();
        var created = await CreateAsync(learner.Client, "course", new JsonObject { ["device"] = "laptop" });
        var url = $"/api/v1/progress/{created.Id}/";
        var updated = await (await learner.Client.PatchJsonAsync(url, new UpdateProgressRequest(null, 40, 75, 600, null))).ReadAsync<ProgressDto>();
        // A refused change commits nothing, so it has no event either.
        await (await learner.Client.PatchJsonAsync(url, new UpdateProgressRequest(null, null, 200, null, null))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.NoContent, (await learner.Client.DeleteAsync(url)).StatusCode);

        await _receiver.WaitForAsync(_ => _receiver.AcceptedFor(learner.User.Id).Count >= 3);
        var events = _receiver.AcceptedFor(learner.User.Id);
        Assert.Equal([ProgressEventTypes.Created, ProgressEventTypes.Updated, ProgressEventTypes.Deleted], events.Select(e => e.Type));
        AssertSameRecord(created, events[0].Progress!);
        AssertSameRecord(updated, events[1].Progress!);
        AssertSameRecord(updated, events[2].Progress!);
        Assert.All(events, e => Assert.Equal(learner.User.Id, e.UserId));
        Assert.Equal(3, events.Select(e => e.EventId).Distinct().Count());
        Assert.True(events[0].Sequence < events[1].Sequence && events[1].Sequence < events[2].Sequence);
        Assert.Equal(created.CreatedAt, events[0].OccurredAt);
        Assert.Equal(updated.UpdatedAt, events[1].OccurredAt);

        // The receiver answers before the dispatcher records the delivery.
        await EventuallyAsync(async () => (await RowsAsync(fixture.First, learner.User.Id)).All(r => r.DeliveredAt is not null));
        var rows = await RowsAsync(fixture.First, learner.User.Id);
        Assert.Equal(events.Select(e => e.Sequence), rows.Select(r => r.Id));
        Assert.All(rows, r => Assert.Null(r.ClaimToken));
    }

    [Fact]
    public async Task The_receiver_is_sent_a_service_token_that_core_accepts()
    {
        var learner = await fixture.First.RegisterAsync();
        var record = await CreateAsync(learner.Client);
        await _receiver.WaitForAsync(_ => _receiver.AcceptedFor(learner.User.Id).Count >= 1);

        var header = _receiver.Attempts.Last(a => a.Events.Any(e => e.UserId == learner.User.Id)).Authorization;
        Assert.StartsWith("Bearer ", header, StringComparison.Ordinal);
        var token = header!["Bearer ".Length..];
        var jwt = new JsonWebToken(token);
        Assert.Equal("service:core-outbox", jwt.Subject);
        Assert.Equal("core-outbox", jwt.GetClaim("client_id").Value);
        Assert.Equal(["service"], jwt.Claims.Where(c => c.Type == "roles").Select(c => c.Value));
        Assert.Equal("at+jwt", jwt.Typ);

        // Both instances verify it (they share the signing key), and it reads any user's progress.
        foreach (var instance in new[] { fixture.First, fixture.Second })
        {
            using var service = instance.CreateClient(token);
            var page = await (await service.GetAsync($"/api/v1/progress/?user={learner.User.Id}")).ReadAsync<PagedResponse<ProgressDto>>();
            Assert.Equal([record.Id], page.Results.Select(r => r.Id));
        }
    }

    [Fact]
    public async Task Events_wait_while_the_receiver_is_down_and_all_arrive_in_order_once_it_is_back()
    {
        var learner = await fixture.First.RegisterAsync();
        await _receiver.StopAsync();
        try
        {
            var first = await CreateAsync(learner.Client);
            var second = await CreateAsync(learner.Client);
            await (await learner.Client.PatchJsonAsync($"/api/v1/progress/{first.Id}/", new UpdateProgressRequest(ProgressStatus.Completed, null, null, null, null)))
                .ReadAsync<ProgressDto>();
            await (await learner.Client.PatchJsonAsync($"/api/v1/progress/{second.Id}/", new UpdateProgressRequest(null, 10, null, null, null)))
                .ReadAsync<ProgressDto>();
            Assert.Equal(HttpStatusCode.NoContent, (await learner.Client.DeleteAsync($"/api/v1/progress/{second.Id}/")).StatusCode);

            // Delivery was tried and failed, and nothing counts as delivered.
            await EventuallyAsync(async () =>
            {
                var rows = await RowsAsync(fixture.First, learner.User.Id);
                return rows.Count == 5 && rows[0].Attempts >= 1 && rows.All(r => r.DeliveredAt is null);
            });
        }
        finally
        {
            await _receiver.StartAsync();
        }

        await _receiver.WaitForAsync(_ => _receiver.AcceptedFor(learner.User.Id).Count >= 5);
        var events = _receiver.AcceptedFor(learner.User.Id);
        Assert.Equal(
            [ProgressEventTypes.Created, ProgressEventTypes.Created, ProgressEventTypes.Updated, ProgressEventTypes.Updated, ProgressEventTypes.Deleted],
            events.Select(e => e.Type));
        Assert.Equal(events.Select(e => e.Sequence).Order(), events.Select(e => e.Sequence));
        Assert.Equal(5, events.Select(e => e.EventId).Distinct().Count());
        await EventuallyAsync(async () => (await RowsAsync(fixture.First, learner.User.Id)).All(r => r.DeliveredAt is not null));
    }

    [Fact]
    public async Task A_server_error_is_retried_until_the_receiver_accepts()
    {
        var learner = await fixture.First.RegisterAsync();
        var failures = 0;
        _receiver.Respond = events => events.Any(e => e.UserId == learner.User.Id) && failures++ < 2 ? 500 : 200;
        await CreateAsync(learner.Client);

        await _receiver.WaitForAsync(_ => _receiver.AcceptedFor(learner.User.Id).Count >= 1);
        var attempts = _receiver.Attempts.Where(a => a.Events.Any(e => e.UserId == learner.User.Id)).Select(a => a.Status).ToList();
        Assert.Equal([500, 500, 200], attempts);
        await EventuallyAsync(async () => (await RowsAsync(fixture.First, learner.User.Id))[0].DeliveredAt is not null);
        var row = Assert.Single(await RowsAsync(fixture.First, learner.User.Id));
        Assert.Equal(2, row.Attempts);
        Assert.Contains("500", row.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_event_refused_as_invalid_is_set_aside_and_the_users_later_events_still_arrive()
    {
        var learner = await fixture.First.RegisterAsync();
        var poison = $"poison-{Guid.NewGuid():N}";
        // Hold the learner's events back first, so that the invalid one goes out in a batch with the others.
        _receiver.Respond = events => events.Any(e => e.UserId == learner.User.Id) ? 503 : 200;
        await CreateAsync(learner.Client, contentId: poison);
        var good = await CreateAsync(learner.Client);
        await (await learner.Client.PatchJsonAsync($"/api/v1/progress/{good.Id}/", new UpdateProgressRequest(null, 50, null, null, null))).ReadAsync<ProgressDto>();
        await EventuallyAsync(() => Task.FromResult(_receiver.Attempts.Any(a => a.Events.Count(e => e.UserId == learner.User.Id) == 3)));

        _receiver.Respond = events => events.Any(e => e.Progress!.ContentId == poison) ? 400 : 200;
        await _receiver.WaitForAsync(_ => _receiver.AcceptedFor(learner.User.Id).Count >= 2);

        var events = _receiver.AcceptedFor(learner.User.Id);
        Assert.Equal([ProgressEventTypes.Created, ProgressEventTypes.Updated], events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal(good.Id, e.Progress!.Id));
        Assert.Contains(_receiver.Attempts, a => a.Status == 400 && a.Events.Count == 3);
        var rows = await RowsAsync(fixture.First, learner.User.Id);
        Assert.NotNull(rows[0].FailedAt);
        Assert.Null(rows[0].DeliveredAt);
        Assert.Contains("400", rows[0].LastError, StringComparison.Ordinal);
        await EventuallyAsync(async () => (await RowsAsync(fixture.First, learner.User.Id)).Skip(1).All(r => r.DeliveredAt is not null));
    }

    [Fact]
    public async Task A_round_of_many_learners_goes_out_in_one_request_and_an_invalid_event_in_it_holds_back_no_one_else()
    {
        var learners = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => fixture.First.RegisterAsync()));
        var ids = learners.Select(l => l.User.Id).ToHashSet();
        var poison = $"poison-{Guid.NewGuid():N}";
        // Held back until every learner's event waits, so that one round holds all of them.
        _receiver.Respond = events => events.Any(e => ids.Contains(e.UserId)) ? 503 : 200;
        await CreateAsync(learners[0].Client, contentId: poison);
        var good = await CreateAsync(learners[0].Client);
        foreach (var learner in learners.Skip(1))
        {
            await CreateAsync(learner.Client);
        }
        await EventuallyAsync(() => Task.FromResult(_receiver.Attempts.Any(a => a.Events.Count(e => ids.Contains(e.UserId)) == 4)));

        _receiver.Respond = events => events.Any(e => e.Progress!.ContentId == poison) ? 400 : 200;
        await _receiver.WaitForAsync(all => all.Count(e => ids.Contains(e.UserId)) >= 3);

        // The round went out whole first: four events of three learners in one request, refused for the one.
        Assert.Contains(_receiver.Attempts, a => a.Status == 400 && a.Events.Count(e => ids.Contains(e.UserId)) == 4);
        // Then learner by learner: the others' events arrived, and the first learner's good one after the invalid one.
        var accepted = _receiver.Accepted.Where(e => ids.Contains(e.UserId)).ToList();
        Assert.Equal(ids.Order(), accepted.Select(e => e.UserId).Distinct().Order());
        Assert.DoesNotContain(accepted, e => e.Progress!.ContentId == poison);
        Assert.Contains(accepted, e => e.Progress!.Id == good.Id);
        var rows = await RowsAsync(fixture.First, learners[0].User.Id);
        Assert.NotNull(rows[0].FailedAt);

        // And when the receiver takes them, a round of several learners is delivered in one request. (Events that
        // failed together back off together, so once held in one round they stay in one round.)
        var together = $"together-{Guid.NewGuid():N}";
        _receiver.Respond = events => events.Any(e => ids.Contains(e.UserId)) ? 503 : 200;
        foreach (var learner in learners)
        {
            await CreateAsync(learner.Client, contentId: together);
        }
        await EventuallyAsync(() => Task.FromResult(_receiver.Attempts.Any(a => a.Events.Count(e => e.Progress!.ContentId == together) == 3)));
        _receiver.Respond = _ => 200;
        await _receiver.WaitForAsync(all => all.Count(e => e.Progress!.ContentId == together) >= 3);
        Assert.Contains(_receiver.Attempts, a => a.Status == 200 && a.Events.Count(e => e.Progress!.ContentId == together) == 3);
    }

    [Fact]
    public async Task Two_instances_deliver_every_event_of_many_concurrent_writers_exactly_once_and_in_order()
    {
        const int users = 12;
        var instances = new[] { fixture.First, fixture.Second };
        var learners = await Task.WhenAll(Enumerable.Range(0, users).Select(i => instances[i % 2].RegisterAsync()));

        // Each learner writes through both instances: three records, then six concurrent updates of them.
        var finals = new ConcurrentDictionary<long, int>();
        await Task.WhenAll(learners.Select(async learner =>
        {
            var clients = instances.Select(s => s.CreateClient(learner.Access)).ToArray();
            var records = new List<ProgressDto>();
            for (var k = 0; k < 3; k++)
            {
                records.Add(await CreateAsync(clients[k % 2]));
            }
            var updates = await Task.WhenAll(Enumerable.Range(0, 6).Select(async k =>
                await (await clients[k % 2].PatchJsonAsync($"/api/v1/progress/{records[k % 3].Id}/",
                    new UpdateProgressRequest(null, null, null, null, new JsonObject { [$"step{k}"] = k }))).ReadAsync<ProgressDto>()));
            foreach (var record in updates.GroupBy(u => u.Id))
            {
                finals[record.Key] = record.Max(r => r.Version);
            }
        }));

        var ids = learners.Select(l => l.User.Id).ToHashSet();
        await _receiver.WaitForAsync(all => all.Count(e => ids.Contains(e.UserId)) >= users * 9);
        var delivered = _receiver.Accepted.Where(e => ids.Contains(e.UserId)).ToList();
        Assert.Equal(users * 9, delivered.Count);
        Assert.Equal(delivered.Count, delivered.Select(e => e.EventId).Distinct().Count());
        foreach (var user in delivered.GroupBy(e => e.UserId))
        {
            var sequences = user.Select(e => e.Sequence).ToList();
            Assert.Equal(sequences.Order(), sequences);
            // Per record, versions arrive in the order they were written, ending with the final one.
            foreach (var record in user.GroupBy(e => e.Progress!.Id))
            {
                var versions = record.Select(e => e.Progress!.Version).ToList();
                Assert.Equal(versions.Order(), versions);
                Assert.Equal(finals[record.Key], versions[^1]);
            }
        }
        await EventuallyAsync(async () =>
        {
            await using var scope = fixture.First.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
            return !await db.OutboxEvents.AnyAsync(e => ids.Contains(e.UserId) && e.DeliveredAt == null);
        });
    }

    [Fact]
    public async Task Events_claimed_by_a_crashed_instance_are_taken_over_once_its_lease_ends_and_not_before()
    {
        var learner = await fixture.First.RegisterAsync();
        var record = await CreateAsync(learner.Client);
        await _receiver.WaitForAsync(_ => _receiver.AcceptedFor(learner.User.Id).Count >= 1);

        // An instance wrote an event, claimed it, and died before delivering: its lease still runs for a while.
        var leaseEnd = DateTime.UtcNow.AddSeconds(1.5);
        var orphan = OutboxEvent.For(ProgressEventTypes.Updated, record with { Version = record.Version + 1 }, DateTime.UtcNow);
        orphan.ClaimToken = Guid.NewGuid();
        orphan.LockedUntil = leaseEnd;
        await using (var scope = fixture.Second.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
            db.OutboxEvents.Add(orphan);
            await db.SaveChangesAsync();
        }
        // A later event of the same user has to wait for it.
        await (await learner.Client.PatchJsonAsync($"/api/v1/progress/{record.Id}/", new UpdateProgressRequest(null, 30, null, null, null))).ReadAsync<ProgressDto>();

        await _receiver.WaitForAsync(_ => _receiver.AcceptedFor(learner.User.Id).Count >= 3);
        var events = _receiver.AcceptedFor(learner.User.Id);
        Assert.Equal(orphan.EventId, events[1].EventId);
        Assert.Equal(3, events.Select(e => e.EventId).Distinct().Count());
        var sent = _receiver.Attempts.Where(a => a.Events.Any(e => e.EventId == orphan.EventId)).ToList();
        Assert.All(sent, a => Assert.True(a.ReceivedAt >= leaseEnd.AddMilliseconds(-1), $"sent at {a.ReceivedAt:O}, lease ended {leaseEnd:O}"));
        Assert.True(_receiver.Attempts.Where(a => a.Events.Any(e => e.UserId == learner.User.Id && e.Type == ProgressEventTypes.Updated))
            .All(a => a.ReceivedAt >= leaseEnd.AddMilliseconds(-1)));
    }

    private static async Task<ProgressDto> CreateAsync(HttpClient client, string contentType = "lesson", JsonObject? metadata = null, string? contentId = null) =>
        await (await client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest(contentId ?? $"item-{Guid.NewGuid():N}", contentType, null, null, null, null, metadata))).ReadAsync<ProgressDto>(HttpStatusCode.Created);

    private static void AssertSameRecord(ProgressDto expected, ProgressDto actual) =>
        Assert.True(JsonNode.DeepEquals(JsonSerializer.SerializeToNode(expected, CyberHubJson.Options), JsonSerializer.SerializeToNode(actual, CyberHubJson.Options)),
            $"expected {JsonSerializer.Serialize(expected, CyberHubJson.Options)}, got {JsonSerializer.Serialize(actual, CyberHubJson.Options)}");

    internal static async Task<List<OutboxEvent>> RowsAsync(CoreServer server, long userId)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
        return await db.OutboxEvents.AsNoTracking().Where(e => e.UserId == userId).OrderBy(e => e.Id).ToListAsync();
    }

    internal static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not come true within 20 seconds.");
            await Task.Delay(25);
        }
    }
}

public sealed class SqliteOutboxTests(SqliteOutboxFixture fixture) : OutboxTests<SqliteOutboxFixture>(fixture), IClassFixture<SqliteOutboxFixture>;

public sealed class PostgresOutboxTests(PostgresOutboxFixture fixture) : OutboxTests<PostgresOutboxFixture>(fixture), IClassFixture<PostgresOutboxFixture>;

/// <summary>A Core server whose dispatcher is off, so that tests drive the outbox store by hand.</summary>
public sealed class SqliteQuietCoreServer : CoreServer
{
    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?> { ["Outbox:Enabled"] = "false" };
}

public sealed class PostgresQuietCoreServer : CoreServer
{
    private readonly ThrowawayDatabase _database = new("core_outbox_store");

    protected override async Task<string?> CreateDatabaseAsync() => await _database.CreateAsync();
    protected override Task DropDatabaseAsync() => _database.DropAsync();
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?> { ["Outbox:Enabled"] = "false" };
}

/// <summary>The claim protocol itself, with many claimers racing over one table.</summary>
public abstract class OutboxStoreTests<TServer>(TServer server) where TServer : CoreServer
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static long _nextUser = 1_000_000;

    [Fact]
    public async Task Concurrent_claimers_never_share_an_event_and_each_takes_a_users_events_in_order()
    {
        const int users = 10;
        const int perUser = 12;
        var userIds = Enumerable.Range(0, users).Select(_ => Interlocked.Increment(ref _nextUser)).ToArray();
        // Round-robin, so that the users' events interleave in the table.
        await InsertAsync([.. Enumerable.Range(0, perUser).SelectMany(_ => userIds)]);
        var mine = await IdsByUserAsync(userIds);
        var total = mine.Values.Sum(v => v.Count);

        var taken = new ConcurrentDictionary<long, Guid>();
        var violations = new ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            var idle = 0;
            while (taken.Count < total && idle < 2000)
            {
                var token = Guid.NewGuid();
                await using var scope = server.Services.CreateAsyncScope();
                var store = scope.ServiceProvider.GetRequiredService<OutboxStore>();
                var claimed = await store.ClaimAsync(token, DateTime.UtcNow, 5, Lease, CancellationToken.None);
                if (claimed.Count == 0)
                {
                    idle++;
                    await Task.Delay(2);
                    continue;
                }
                foreach (var user in claimed.GroupBy(e => e.UserId))
                {
                    var ids = user.Select(e => e.Id).ToList();
                    var all = mine[user.Key];
                    // Everything of this user before the claim is already delivered, and the claim has no gaps.
                    var expected = all.SkipWhile(id => taken.ContainsKey(id)).Take(ids.Count).ToList();
                    if (!expected.SequenceEqual(ids))
                    {
                        violations.Add($"user {user.Key}: claimed [{string.Join(",", ids)}], next undelivered were [{string.Join(",", expected)}]");
                    }
                    foreach (var id in ids.Where(id => !taken.TryAdd(id, token)))
                    {
                        violations.Add($"event {id} claimed twice");
                    }
                }
                await store.MarkDeliveredAsync([.. claimed.Select(e => e.Id)], DateTime.UtcNow, CancellationToken.None);
            }
        })));

        Assert.Empty(violations);
        Assert.Equal(total, taken.Count);
    }

    [Fact]
    public async Task A_claim_keeps_others_away_until_its_lease_ends_and_is_then_taken_over()
    {
        var user = Interlocked.Increment(ref _nextUser);
        await InsertAsync([user, user, user]);
        await using var scope = server.Services.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<OutboxStore>();
        var now = DateTime.UtcNow;
        var crashed = Guid.NewGuid();

        var first = await store.ClaimAsync(crashed, now, 100, TimeSpan.FromSeconds(1), CancellationToken.None);
        var ids = Mine(first, user);
        Assert.Equal(3, ids.Count);
        Assert.Empty(Mine(await store.ClaimAsync(Guid.NewGuid(), now.AddSeconds(0.5), 100, Lease, CancellationToken.None), user));

        var successor = Guid.NewGuid();
        var later = now.AddSeconds(2);
        Assert.Equal(ids, Mine(await store.ClaimAsync(successor, later, 100, Lease, CancellationToken.None), user));
        // The crashed claimer, were it to come back, finds its claim gone and must not send.
        Assert.False(await store.RenewAsync(crashed, ids, later, Lease, CancellationToken.None));
        Assert.True(await store.RenewAsync(successor, ids, later, Lease, CancellationToken.None));
        await store.MarkDeliveredAsync(ids, later, CancellationToken.None);
    }

    [Fact]
    public async Task A_failed_attempt_holds_back_the_users_later_events_until_it_is_due()
    {
        var user = Interlocked.Increment(ref _nextUser);
        await InsertAsync([user, user]);
        await using var scope = server.Services.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<OutboxStore>();
        var now = DateTime.UtcNow;
        var token = Guid.NewGuid();
        var ids = Mine(await store.ClaimAsync(token, now, 100, Lease, CancellationToken.None), user);

        await store.MarkAttemptFailedAsync(token, [ids[0]], now.AddSeconds(10), "503 Service Unavailable", CancellationToken.None);
        await store.ReleaseAsync(token, [ids[1]], CancellationToken.None);
        Assert.Empty(Mine(await store.ClaimAsync(Guid.NewGuid(), now.AddSeconds(5), 100, Lease, CancellationToken.None), user));
        Assert.Equal(ids, Mine(await store.ClaimAsync(Guid.NewGuid(), now.AddSeconds(11), 100, Lease, CancellationToken.None), user));

        // Set aside as poison, the head no longer holds the user back.
        await store.MarkPoisonAsync(ids[0], now, "400 Bad Request", CancellationToken.None);
        await store.ReleaseAsync(token, ids, CancellationToken.None);
        Assert.Equal([ids[1]], Mine(await store.ClaimAsync(Guid.NewGuid(), now.AddSeconds(60), 100, Lease, CancellationToken.None), user));
        await store.MarkDeliveredAsync([ids[1]], now, CancellationToken.None);
    }

    [Fact]
    public async Task Purge_removes_only_delivered_events_past_the_retention()
    {
        var user = Interlocked.Increment(ref _nextUser);
        await InsertAsync([user, user, user]);
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
        var ids = (await IdsByUserAsync([user]))[user];
        var old = DateTime.UtcNow.AddDays(-8);
        await db.OutboxEvents.Where(e => e.Id == ids[0] || e.Id == ids[1]).ExecuteUpdateAsync(s => s.SetProperty(e => e.CreatedAt, old));
        await db.OutboxEvents.Where(e => e.Id == ids[0] || e.Id == ids[2]).ExecuteUpdateAsync(s => s.SetProperty(e => e.DeliveredAt, DateTime.UtcNow));

        await scope.ServiceProvider.GetRequiredService<OutboxStore>().PurgeAsync(DateTime.UtcNow.AddDays(-7), CancellationToken.None);
        Assert.Equal([ids[1], ids[2]], (await IdsByUserAsync([user]))[user]);
        await db.OutboxEvents.Where(e => e.UserId == user).ExecuteDeleteAsync();
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 1, 2)]
    [InlineData(5, 8, 16)]
    [InlineData(30, 150, 300)]
    public void Backoff_grows_exponentially_with_jitter_between_the_bounds(int attempt, double lowSeconds, double highSeconds)
    {
        for (var i = 0; i < 50; i++)
        {
            var wait = OutboxDispatcher.Backoff(attempt, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));
            Assert.InRange(wait.TotalSeconds, lowSeconds, highSeconds);
        }
    }

    private static List<long> Mine(List<OutboxEvent> claimed, long user) => [.. claimed.Where(e => e.UserId == user).Select(e => e.Id)];

    private async Task InsertAsync(long[] users)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
        var now = DateTime.UtcNow;
        foreach (var user in users)
        {
            var progress = new ProgressDto(1, user, "c", "lesson", ProgressStatus.NotStarted, 0, null, 0, [], null, null, now, now, 1);
            db.OutboxEvents.Add(OutboxEvent.For(ProgressEventTypes.Created, progress, now));
            // One by one, so that ids follow the order given.
            await db.SaveChangesAsync();
        }
    }

    private async Task<Dictionary<long, List<long>>> IdsByUserAsync(long[] users)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
        var rows = await db.OutboxEvents.AsNoTracking().Where(e => users.Contains(e.UserId)).OrderBy(e => e.Id)
            .Select(e => new { e.UserId, e.Id }).ToListAsync();
        return users.ToDictionary(u => u, u => rows.Where(r => r.UserId == u).Select(r => r.Id).ToList());
    }
}

public sealed class SqliteOutboxStoreTests(SqliteQuietCoreServer server) : OutboxStoreTests<SqliteQuietCoreServer>(server), IClassFixture<SqliteQuietCoreServer>;

public sealed class PostgresOutboxStoreTests(PostgresQuietCoreServer server) : OutboxStoreTests<PostgresQuietCoreServer>(server), IClassFixture<PostgresQuietCoreServer>;
