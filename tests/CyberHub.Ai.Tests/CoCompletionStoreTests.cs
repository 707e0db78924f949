using CyberHub.Ai.Recommendations;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using Microsoft.Extensions.Configuration;

namespace CyberHub.Ai.Tests;

/// <summary>
/// The co-completion counts as the sync endpoint feeds them (through <see cref="LearnerProfiles"/> and the learner
/// store), on both stores: one learner's pair means nothing, counts decay as <see cref="CoCompletionModel"/>'s do, a
/// repeat counts nothing, concurrent events lose nothing, a rebuild equals the events, a deleted learner leaves only the
/// anonymous counts, and a store of the previous version is upgraded in place.
/// </summary>
public abstract class CoCompletionStoreTests<TFixture>(TFixture fixture) where TFixture : LearnerStoreFixture
{
    private static readonly DateTime T0 = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);
    private static readonly ContentKey A = new("lesson", "a-first");
    private static readonly ContentKey B = new("lesson", "b-second");
    private static readonly ContentKey C = new("lab", "c-third");
    private static readonly ContentKey D = new("course", "d-fourth");

    private static ProgressEvent Event(long user, long sequence, ContentKey item, ProgressStatus status, DateTime at, double? score = null,
        string type = ProgressEventTypes.Updated) =>
        new(Guid.NewGuid(), sequence, type, user, at, new ProgressDto(user * 100 + item.ContentId.Length, user, item.ContentId, item.ContentType, status,
            status == ProgressStatus.Completed ? 100 : 40, score, 60, [], at, status == ProgressStatus.Completed ? at : null, at, at, 1));

    private static ProgressEvent Completed(long user, long sequence, ContentKey item, DateTime at) => Event(user, sequence, item, ProgressStatus.Completed, at);

    private static async Task<bool> ApplyAsync(LearnerStores stores, ProgressEvent change) =>
        await new LearnerProfiles(stores.Learners, TimeProvider.System).ApplyAsync(change, CancellationToken.None);

    /// <summary>What the store must read for <paramref name="from"/>: the reference model's rows, pairs at or above the floor only.</summary>
    private static void AssertReads(CoCompletionModel reference, CoCompletionState read, IReadOnlyCollection<ContentKey> from, int popular)
    {
        var state = reference.State();
        var pairs = state.Pairs.Where(p => from.Contains(p.From) && reference.PairCount(p.From, p.To) >= reference.Settings.MinSupport).ToList();
        var top = state.Items.OrderByDescending(i => reference.ItemCount(i.Item)).ThenBy(i => i.Item.ContentType, StringComparer.Ordinal)
            .ThenBy(i => i.Item.ContentId, StringComparer.Ordinal).Take(popular).Select(i => i.Item);
        var wanted = from.Concat(pairs.Select(p => p.To)).Concat(top).ToHashSet();
        AssertSame(new CoCompletionState(pairs, [.. state.Items.Where(i => wanted.Contains(i.Item))], state.LastUpdate), read);
    }

    private static void AssertSame(CoCompletionState expected, CoCompletionState actual)
    {
        Assert.Equal(expected.LastUpdate, actual.LastUpdate);
        Assert.Equal(expected.Pairs.Select(p => (p.From, p.To, p.At)), actual.Pairs.Select(p => (p.From, p.To, p.At)));
        Assert.All(expected.Pairs.Zip(actual.Pairs), p => Assert.Equal(p.First.Count, p.Second.Count, 1e-9));
        Assert.Equal(expected.Items.Select(i => (i.Item, i.At)), actual.Items.Select(i => (i.Item, i.At)));
        Assert.All(expected.Items.Zip(actual.Items), i => Assert.Equal(i.First.Count, i.Second.Count, 1e-9));
    }

    [Fact]
    public async Task One_learners_pair_means_nothing_and_three_learners_pair_counts()
    {
        var stores = await fixture.CreateAsync();
        var reference = new CoCompletionModel(stores.Settings);
        for (var user = 1L; user <= 3; user++)
        {
            // Each learner completes A, then B (all at the same instants, so three learners make exactly 3).
            Assert.True(await ApplyAsync(stores, Completed(user, 1, A, T0)));
            Assert.True(await ApplyAsync(stores, Completed(user, 2, B, T0.AddHours(1))));
            reference.Add([], A, T0);
            reference.Add([A], B, T0.AddHours(1));

            var read = await stores.Counts.ReadAsync([A], 0);
            AssertReads(reference, read, [A], 0);
            var scores = CoCompletionModel.From(read, stores.Settings).Score([(A, 1.0)]);
            if (user < 3)
            {
                Assert.Empty(read.Pairs);
                Assert.Empty(scores);
            }
            else
            {
                var pair = Assert.Single(read.Pairs);
                Assert.Equal((A, B, 3.0), (pair.From, pair.To, pair.Count));
                Assert.Equal(new Signal(1.0, A), scores[B]);
            }
        }
        // Another learner's completion moves the clock on (the pair decays below the floor); the popular items come by decayed count.
        Assert.True(await ApplyAsync(stores, Completed(9, 1, C, T0.AddHours(2))));
        reference.Add([], C, T0.AddHours(2));
        AssertReads(reference, await stores.Counts.ReadAsync([A, B, C], 2), [A, B, C], 2);
        AssertReads(reference, await stores.Counts.ReadAsync([], 10), [], 10);
    }

    [Fact]
    public async Task Counts_decay_with_time_as_the_model_counts_them_and_fall_below_the_floor()
    {
        var settings = new CoCompletionSettings(Window: 2, HalfLifeDays: 30, MinSupport: 2);
        var stores = await fixture.CreateAsync(settings);
        var reference = new CoCompletionModel(settings);
        var events = new List<(long User, ContentKey Item, DateTime At)>
        {
            (1, A, T0), (1, B, T0.AddDays(1)), (2, A, T0.AddDays(2)), (2, B, T0.AddDays(3)), (3, A, T0.AddDays(3)), (1, C, T0.AddDays(5)),
            (3, B, T0.AddDays(9)), (3, C, T0.AddDays(10)), (2, D, T0.AddDays(11)), (3, D, T0.AddDays(12)), (2, C, T0.AddDays(20)),
        };
        var sequences = new Dictionary<long, long>();
        var histories = new Dictionary<long, List<ContentKey>>();
        foreach (var (user, item, at) in events)
        {
            var sequence = sequences[user] = sequences.GetValueOrDefault(user) + 1;
            Assert.True(await ApplyAsync(stores, Completed(user, sequence, item, at)));
            var history = histories.TryGetValue(user, out var h) ? h : histories[user] = [];
            reference.Add([.. history], item, at);
            history.Add(item);
            AssertReads(reference, await stores.Counts.ReadAsync([A, B, C], 3), [A, B, C], 3);
        }
        var before = await stores.Counts.ReadAsync([A], 0);
        Assert.Contains(before.Pairs, p => p.From == A && p.To == B);

        // Two months on, one learner's event moves the clock: A → B has lost three quarters and is below the floor.
        Assert.True(await ApplyAsync(stores, Completed(4, 1, D, T0.AddDays(69))));
        reference.Add([], D, T0.AddDays(69));
        Assert.InRange(reference.PairCount(A, B), 0.5, 1);
        var after = await stores.Counts.ReadAsync([A, B, C], 4);
        AssertReads(reference, after, [A, B, C], 4);
        Assert.Empty(after.Pairs);
        Assert.Empty(CoCompletionModel.From(after, settings).Score([(A, 1.0)]));

        // An event older than the rows it touches (out of order across learners) adds what is left of it.
        Assert.True(await ApplyAsync(stores, Completed(5, 1, A, T0.AddDays(1))));
        reference.Add([], A, T0.AddDays(1));
        AssertReads(reference, await stores.Counts.ReadAsync([A, B, C, D], 4), [A, B, C, D], 4);
    }

    [Fact]
    public async Task Redelivered_events_updates_and_completing_again_count_nothing()
    {
        var stores = await fixture.CreateAsync(new CoCompletionSettings(MinSupport: 0));
        var first = Completed(1, 1, A, T0);
        Assert.True(await ApplyAsync(stores, first));
        Assert.False(await ApplyAsync(stores, first));
        Assert.False(await ApplyAsync(stores, first with { EventId = Guid.NewGuid() }));
        // A score change, taking it up again, completing it again, deleting it, creating and completing it again.
        Assert.True(await ApplyAsync(stores, Event(1, 2, A, ProgressStatus.Completed, T0.AddDays(1), score: 75)));
        Assert.True(await ApplyAsync(stores, Event(1, 3, A, ProgressStatus.InProgress, T0.AddDays(2))));
        Assert.True(await ApplyAsync(stores, Event(1, 4, A, ProgressStatus.Completed, T0.AddDays(3))));
        Assert.True(await ApplyAsync(stores, Event(1, 5, A, ProgressStatus.Completed, T0.AddDays(3), type: ProgressEventTypes.Deleted)));
        Assert.True(await ApplyAsync(stores, Event(1, 6, A, ProgressStatus.Completed, T0.AddDays(4), type: ProgressEventTypes.Created)));
        // An older event delivered late changes nothing.
        Assert.False(await ApplyAsync(stores, Event(1, 3, A, ProgressStatus.InProgress, T0.AddDays(2))));
        // Work on B that is not a completion, then its completion, delivered twice.
        Assert.True(await ApplyAsync(stores, Event(1, 7, B, ProgressStatus.InProgress, T0.AddDays(5))));
        var completeB = Completed(1, 8, B, T0.AddDays(6));
        Assert.True(await ApplyAsync(stores, completeB));
        Assert.False(await ApplyAsync(stores, completeB));

        var reference = new CoCompletionModel(stores.Settings);
        reference.Add([], A, T0);
        reference.Add([A], B, T0.AddDays(6));
        AssertReads(reference, await stores.Counts.ReadAsync([A, B], 5), [A, B], 5);

        var learner = (await stores.Learners.GetAsync(1))!;
        Assert.Equal(8, learner.LastSequence);
        Assert.Equal([new LearnerCompletion(A, T0, ProgressStatus.Completed), new LearnerCompletion(B, T0.AddDays(6), ProgressStatus.Completed)], learner.Completions);
        Assert.Equal([A, B], learner.Completed);
    }

    [Fact]
    public async Task Concurrent_events_of_many_learners_on_two_instances_lose_no_increment()
    {
        const int learners = 24;
        var stores = await fixture.CreateAsync();
        // A second instance over the same storage, as a second AI service is.
        var other = await fixture.OpenAsync(stores.Location, stores.Settings);
        var instances = new[] { stores, other };
        // Every learner completes A, B and C at the same instants (so the counts are whole numbers), each event delivered
        // to both instances at once, all learners in parallel.
        await Task.WhenAll(Enumerable.Range(1, learners).Select(user => Task.Run(async () =>
        {
            var sequence = 0;
            foreach (var (item, at) in new[] { (A, T0), (B, T0.AddHours(1)), (C, T0.AddHours(2)) })
            {
                var change = Completed(user, ++sequence, item, at);
                var applied = await Task.WhenAll(instances.Select(s => ApplyAsync(s, change)));
                Assert.Single(applied, a => a);
            }
        })));

        var read = await stores.Counts.ReadAsync([A, B, C], 3);
        const double all = learners;
        Assert.Equal([(A, C, all), (A, B, all), (B, C, all)], read.Pairs.Select(p => (p.From, p.To, p.Count)));
        Assert.Equal([(C, all), (A, all), (B, all)], read.Items.Select(i => (i.Item, i.Count)));
        for (var user = 1; user <= learners; user++)
        {
            Assert.Equal(3, (await other.Learners.GetAsync(user))!.LastSequence);
        }
    }

    [Fact]
    public async Task Concurrent_recording_straight_into_the_counts_loses_no_increment()
    {
        const int writers = 40;
        var stores = await fixture.CreateAsync();
        var other = await fixture.OpenAsync(stores.Location, stores.Settings);
        // Half the writers on each instance, each adding one learner's completion of C after A and B, in both orders.
        await Task.WhenAll(Enumerable.Range(0, writers).Select(n => Task.Run(() => (n % 2 == 0 ? stores : other).Counts.RecordAsync(
            [new ObservedCompletion(C, T0, n % 4 < 2 ? [A, B] : [B, A]), new ObservedCompletion(D, T0, [C])]))));

        const double all = writers;
        var read = await stores.Counts.ReadAsync([A, B, C], 0);
        Assert.Equal([(C, D, all), (A, C, all), (B, C, all)], read.Pairs.Select(p => (p.From, p.To, p.Count)));
        Assert.Equal([(D, all), (C, all)], read.Items.Select(i => (i.Item, i.Count)));
    }

    [Fact]
    public async Task A_rebuild_from_the_same_completions_equals_what_the_events_counted()
    {
        var settings = new CoCompletionSettings(Window: 2, HalfLifeDays: 45, MinSupport: 0);
        var stores = await fixture.CreateAsync(settings);
        var random = new Random(5);
        var items = new[] { A, B, C, D, new ContentKey("lab", "e"), new ContentKey("lab", "f") };
        var records = new List<ProgressDto>();
        var clock = T0;
        for (var user = 1L; user <= 12; user++)
        {
            var sequence = 0L;
            foreach (var item in items.OrderBy(_ => random.Next()).Take(random.Next(1, items.Length + 1)))
            {
                clock = clock.AddHours(random.Next(1, 200)).AddTicks(random.Next(0, 10_000_000));
                var change = Completed(user, ++sequence, item, clock);
                Assert.True(await ApplyAsync(stores, change));
                // A score change afterwards: the record Core reports is the later one; neither counts again.
                var rescored = Event(user, ++sequence, item, ProgressStatus.Completed, clock.AddMinutes(5), score: 60);
                rescored = rescored with { Progress = rescored.Progress! with { CompletedAt = change.Progress!.CompletedAt } };
                Assert.True(await ApplyAsync(stores, rescored));
                records.Add(rescored.Progress!);
            }
        }
        var counted = await stores.Counts.ReadAsync(items, items.Length);
        var completions = new Dictionary<long, IReadOnlyList<LearnerCompletion>>();
        for (var user = 1L; user <= 12; user++)
        {
            completions[user] = (await stores.Learners.GetAsync(user))!.Completions;
        }

        var (learners, counts) = CoCompletionRebuild.Build(records, settings);
        var fresh = await fixture.CreateAsync(settings);
        await fresh.Learners.ReplaceAsync(learners, counts, DateTime.UtcNow);
        AssertSame(counted, await fresh.Counts.ReadAsync(items, items.Length));
        for (var user = 1L; user <= 12; user++)
        {
            Assert.Equal(completions[user], (await fresh.Learners.GetAsync(user))!.Completions);
        }

        // Replacing the event-fed store itself gives the same, and events go on from there.
        await stores.Learners.ReplaceAsync(learners, counts, DateTime.UtcNow);
        AssertSame(counted, await stores.Counts.ReadAsync(items, items.Length));
        Assert.False(await ApplyAsync(stores, Completed(1, 1, A, clock)));
        Assert.True(await ApplyAsync(stores, Completed(1, 100, new ContentKey("lab", "g"), clock.AddDays(1))));
        Assert.Contains((await stores.Counts.ReadAsync([new ContentKey("lab", "g")], 0)).Items, i => i.Item.ContentId == "g");
    }

    [Fact]
    public async Task A_deleted_learner_is_erased_and_their_share_of_the_counts_stays()
    {
        var stores = await fixture.CreateAsync(new CoCompletionSettings(MinSupport: 0));
        Assert.True(await ApplyAsync(stores, Completed(1, 1, A, T0)));
        Assert.True(await ApplyAsync(stores, Completed(1, 2, B, T0.AddDays(1))));
        Assert.True(await ApplyAsync(stores, new ProgressEvent(Guid.NewGuid(), 3, ProgressEventTypes.UserDeleted, 1, T0.AddDays(2), null)));

        var learner = (await stores.Learners.GetAsync(1))!;
        Assert.Empty(learner.Completions);
        Assert.Equal(3, learner.LastSequence);
        // No older event revives them, and the counts they added are anonymous and stay.
        Assert.False(await ApplyAsync(stores, Completed(1, 2, B, T0.AddDays(1))));
        Assert.Empty((await stores.Learners.GetAsync(1))!.Completions);
        var read = await stores.Counts.ReadAsync([A], 0);
        Assert.Equal((A, B, 1.0), (read.Pairs.Single().From, read.Pairs.Single().To, read.Pairs.Single().Count));
    }

    [Fact]
    public async Task Replace_writes_exactly_the_given_counts_in_one_go()
    {
        var stores = await fixture.CreateAsync(new CoCompletionSettings(MinSupport: 0));
        await stores.Counts.RecordAsync([new ObservedCompletion(A, T0, []), new ObservedCompletion(B, T0.AddDays(1), [A])]);
        var model = new CoCompletionModel(stores.Settings);
        model.Add([], C, T0);
        model.Add([C, D], A, T0.AddDays(3));
        await stores.Counts.ReplaceAsync(model.State());
        AssertReads(model, await stores.Counts.ReadAsync([A, B, C, D], 10), [A, B, C, D], 10);
        await stores.Counts.ReplaceAsync(new CoCompletionState([], [], DateTime.MinValue));
        Assert.Equal(DateTime.MinValue, (await stores.Counts.ReadAsync([A], 10)).LastUpdate);
    }

    [Fact]
    public async Task A_store_of_the_previous_version_keeps_its_learners_completions()
    {
        var location = await fixture.NewLocationAsync();
        var entries = """
            [{"content_type":"lesson","content_id":"a-first","status":"completed","percentage":100,"score":90,"updated_at":"2026-01-02T03:04:05.678Z"},
             {"content_type":"lab","content_id":"c-third","status":"in_progress","percentage":40,"score":null,"updated_at":"2026-01-03T00:00:00Z"}]
            """;
        await fixture.ExecuteSqlAsync(location, fixture is PgLearnerStoreFixture
            ? $"""
              CREATE TABLE learner_profiles (user_id bigint PRIMARY KEY, entries jsonb NOT NULL, vector bytea, fingerprint text NOT NULL,
                  last_sequence bigint NOT NULL, updated_at timestamptz NOT NULL);
              INSERT INTO learner_profiles VALUES (7, '{entries}', '\x00', 'F', 12, now());
              CREATE TABLE processed_events (event_id uuid PRIMARY KEY, processed_at timestamptz NOT NULL);
              """
            : $"""
              CREATE TABLE learner_profiles (user_id INTEGER PRIMARY KEY, entries TEXT NOT NULL, vector BLOB, fingerprint TEXT NOT NULL,
                  last_sequence INTEGER NOT NULL, updated_at TEXT NOT NULL);
              INSERT INTO learner_profiles VALUES (7, '{entries}', x'00', 'F', 12, '2026-01-03T00:00:00.0000000Z');
              CREATE TABLE processed_events (event_id TEXT PRIMARY KEY, processed_at TEXT NOT NULL);
              """);

        var stores = await fixture.OpenAsync(location, new CoCompletionSettings(MinSupport: 0));
        var learner = (await stores.Learners.GetAsync(7))!;
        Assert.Equal(12, learner.LastSequence);
        var at = new DateTime(2026, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc);
        Assert.Equal([new LearnerCompletion(A, at, ProgressStatus.Completed)], learner.Completions);
        // Its completion is known (a repeat counts nothing), and a new one pairs with it.
        Assert.True(await ApplyAsync(stores, Completed(7, 13, A, at)));
        Assert.True(await ApplyAsync(stores, Completed(7, 14, B, at.AddDays(1))));
        var read = await stores.Counts.ReadAsync([A], 0);
        Assert.Equal((A, B), (read.Pairs.Single().From, read.Pairs.Single().To));
        Assert.DoesNotContain(read.Items, i => i.Item == A);
        // Opening it again changes nothing.
        var again = await fixture.OpenAsync(location, stores.Settings);
        Assert.Equal(2, (await again.Learners.GetAsync(7))!.Completions.Count);
    }
}

public sealed class SqliteCoCompletionStoreTests(SqliteLearnerStoreFixture fixture)
    : CoCompletionStoreTests<SqliteLearnerStoreFixture>(fixture), IClassFixture<SqliteLearnerStoreFixture>;

public sealed class PgCoCompletionStoreTests(PgLearnerStoreFixture fixture)
    : CoCompletionStoreTests<PgLearnerStoreFixture>(fixture), IClassFixture<PgLearnerStoreFixture>;

public sealed class CoCompletionSettingsTests
{
    [Theory]
    [InlineData("Window", "0")]
    [InlineData("Window", "101")]
    [InlineData("HalfLifeDays", "0")]
    [InlineData("HalfLifeDays", "NaN")]
    [InlineData("MinSupport", "-1")]
    public void Settings_out_of_range_stop_the_start_naming_the_setting(string name, string value)
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"Recommendations:CoCompletion:{name}"] = value }).Build();
        var problem = Assert.Throws<InvalidOperationException>(() => CoCompletionConfiguration.From(configuration));
        Assert.Contains($"Recommendations:CoCompletion:{name}", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_default_to_the_model_and_are_read_from_configuration()
    {
        var empty = new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build();
        Assert.Equal(CoCompletionSettings.Default, CoCompletionConfiguration.From(empty));
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Recommendations:CoCompletion:Window"] = "5",
            ["Recommendations:CoCompletion:HalfLifeDays"] = "90",
            ["Recommendations:CoCompletion:MinSupport"] = "2.5",
        }).Build();
        Assert.Equal(new CoCompletionSettings(5, 90, 2.5), CoCompletionConfiguration.From(configuration));
    }
}
