using System.Diagnostics;
using CyberHub.Contracts;
using CyberHub.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace CyberHub.EndToEnd.Tests.Faults;

/// <summary>
/// Core killed with SIGKILL in the middle of a load of progress writes, then started again on the same port and data.
/// Every write it acknowledged (2xx) must be stored with at least the acknowledged version and values, and every change
/// that committed must reach the event receiver (a stand-in for AI's sync endpoint). The outbox contract: each committed
/// change has exactly one event (one event id); an event is delivered at least once, so the same event id may arrive
/// again after a crash (AI skips it by event id); first deliveries of one learner's events arrive in sequence order;
/// no event is ever sent for a change that did not commit.
/// </summary>
public sealed class CoreCrashTests(ITestOutputHelper output)
{
    private const int Learners = 12;
    // The receiver stops accepting once this many writes are acknowledged and events delivered, so that events pile
    // up in the outbox ...
    private const int AcknowledgedBeforeOutage = 60;
    private const int DeliveredBeforeOutage = 20;
    // ... and Core is killed after this many, with a request of every learner in flight.
    private const int AcknowledgedBeforeKill = 150;

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Kill_9_mid_load_loses_no_acknowledged_write_and_every_committed_change_is_delivered(string database)
    {
        var clock = Stopwatch.StartNew();
        var postgres = database == "postgres" ? new ThrowawayDatabase("faults_crash") : null;
        await using var receiver = new ProgressEventReceiver();
        var accepting = true;
        receiver.Respond = _ => Volatile.Read(ref accepting) ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        await receiver.StartAsync();
        await using var core = new CoreProcess(postgres is null ? null : await postgres.CreateAsync(), receiver.BaseAddress);
        try
        {
            await core.StartAsync();
            output.WriteLine($"{database}: Core process ready in {clock.Elapsed.TotalSeconds:F1} s");
            using var http = core.CreateClient();
            var learners = await Task.WhenAll(Enumerable.Range(0, Learners).Select(n => LoadLearner.RegisterAsync(http, $"crash{n}x")));

            // Before the kill every write must succeed; after it, each learner stops at its first failure, whose write
            // (sent, unanswered) may or may not have committed.
            var killed = false;
            var load = new ProgressLoad(http, learners, withReads: false)
            {
                OnFailure = failure => Volatile.Read(ref killed) ? false : throw new Xunit.Sdk.XunitException($"before the kill: {failure}"),
            };
            var writers = load.Start(CancellationToken.None);
            await load.WaitForAsync(AcknowledgedBeforeOutage, writers);
            await receiver.WaitForAsync(events => events.Count >= DeliveredBeforeOutage, TimeSpan.FromSeconds(60));
            Volatile.Write(ref accepting, false);
            await load.WaitForAsync(AcknowledgedBeforeKill, writers);
            Volatile.Write(ref killed, true);
            await core.KillAsync();
            await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(60));

            var deliveredAtKill = receiver.Accepted.Select(e => (e.Progress!.Id, e.Progress!.Version)).ToHashSet();
            var undelivered = load.Acknowledged.Count(a => !deliveredAtKill.Contains((a.Id, a.Version)));
            var inFlight = learners.Sum(l => load.Unknown(l.UserId).Count);
            output.WriteLine($"killed after {clock.Elapsed.TotalSeconds:F1} s: {load.AcknowledgedCount} writes acknowledged, " +
                $"{deliveredAtKill.Count} delivered, {undelivered} acknowledged but not yet delivered, {inFlight} in flight");
            Assert.True(undelivered > 0, "every acknowledged change had been delivered before the kill: the test proves nothing about the outbox");
            Assert.Equal(Learners, inFlight);

            Volatile.Write(ref accepting, true);
            await core.StartAsync();
            output.WriteLine($"restarted after {clock.Elapsed.TotalSeconds:F1} s");

            var stored = new Dictionary<long, ProgressDto>();
            foreach (var learner in learners)
            {
                using var client = core.CreateClient(learner.Access);
                var page = await (await client.GetAsync("/api/v1/progress/?page_size=100")).ReadAsync<PagedResponse<ProgressDto>>();
                Assert.Null(page.Next);
                load.CheckStored(learner, page.Results);
                foreach (var record in page.Results)
                {
                    stored[record.Id] = record;
                }
            }

            if (postgres is null)
            {
                // The database file itself came through the kill whole (Core has it open meanwhile, in WAL mode).
                await using var sqlite = new SqliteConnection($"Data Source={Path.Combine(core.DataDirectory, "core.db")};Mode=ReadOnly;Pooling=False");
                await sqlite.OpenAsync();
                await using var check = new SqliteCommand("PRAGMA integrity_check", sqlite);
                Assert.Equal("ok", await check.ExecuteScalarAsync());
            }

            var delivered = await WaitForEveryCommittedChangeAsync(receiver, stored, load.CreatedVersion);
            CheckDeliveries(delivered, stored, load);
            output.WriteLine($"{stored.Count} records checked, {delivered.Count} event deliveries " +
                $"({delivered.Count - delivered.Select(e => e.EventId).Distinct().Count()} repeats) after {clock.Elapsed.TotalSeconds:F1} s");
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\n--- Core's output:\n{core.Diagnostics()}", e);
        }
        finally
        {
            await core.KillAsync();
            if (postgres is not null)
            {
                await postgres.DropAsync();
            }
        }
    }

    /// <summary>Waits until the receiver has seen an event for every version of every stored record.</summary>
    private static async Task<IReadOnlyList<ProgressEvent>> WaitForEveryCommittedChangeAsync(
        ProgressEventReceiver receiver, IReadOnlyDictionary<long, ProgressDto> stored, int createdVersion)
    {
        var expected = stored.Values.SelectMany(r => Enumerable.Range(createdVersion, r.Version - createdVersion + 1).Select(v => (r.Id, v))).ToHashSet();
        try
        {
            return await receiver.WaitForAsync(events => expected.IsSubsetOf(events.Select(e => (e.Progress!.Id, e.Progress!.Version))),
                TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException e)
        {
            var seen = receiver.Accepted.Select(a => (a.Progress!.Id, a.Progress!.Version)).ToHashSet();
            var missing = expected.Where(x => !seen.Contains(x)).Take(10).Select(x => $"record {x.Id} v{x.v}");
            throw new InvalidOperationException($"{e.Message} Missing, for example: {string.Join(", ", missing)}", e);
        }
    }

    private static void CheckDeliveries(IReadOnlyList<ProgressEvent> delivered, IReadOnlyDictionary<long, ProgressDto> stored, ProgressLoad load)
    {
        // One event id per change, and one change per event id: repeats are the same event again.
        foreach (var change in delivered.GroupBy(e => (e.Progress!.Id, e.Progress!.Version)))
        {
            var ids = change.Select(e => e.EventId).Distinct().Count();
            Assert.True(ids == 1, $"record {change.Key.Id} version {change.Key.Version} was announced by {ids} different events");
            var expectedType = change.Key.Version == load.CreatedVersion ? ProgressEventTypes.Created : ProgressEventTypes.Updated;
            Assert.All(change, e => Assert.Equal(expectedType, e.Type));
        }
        foreach (var repeat in delivered.GroupBy(e => e.EventId))
        {
            Assert.Single(repeat.Select(e => (e.Sequence, e.Progress!.Id, e.Progress!.Version)).Distinct());
        }
        // Nothing that did not commit: every event is of a stored record, at most at its stored version.
        Assert.All(delivered, e => Assert.True(stored.TryGetValue(e.Progress!.Id, out var record) && e.Progress!.Version <= record.Version,
            $"event {e.EventId} announces record {e.Progress!.Id} version {e.Progress!.Version}, which never committed"));
        // What was acknowledged is what was announced.
        var announced = delivered.GroupBy(e => (e.Progress!.Id, e.Progress!.Version)).ToDictionary(g => g.Key, g => g.First().Progress!);
        Assert.All(load.Acknowledged, ack =>
        {
            var progress = announced[(ack.Id, ack.Version)];
            Assert.Equal((ack.UserId, ack.CompletionPercentage, ack.TimeSpentSeconds), (progress.UserId, progress.CompletionPercentage, progress.TimeSpentSeconds));
        });
        // In order per learner: the first delivery of each event comes after the first deliveries of the learner's earlier ones.
        foreach (var user in delivered.GroupBy(e => e.UserId))
        {
            var firsts = user.DistinctBy(e => e.EventId).Select(e => e.Sequence).ToList();
            Assert.True(firsts.SequenceEqual(firsts.Order()), $"user {user.Key}'s events first arrived out of order: {string.Join(", ", firsts)}");
        }
    }
}
