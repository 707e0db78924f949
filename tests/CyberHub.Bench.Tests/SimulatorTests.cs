using CyberHub.Ai.Catalog;
using CyberHub.Ai.VectorStore;
using CyberHub.Bench.Recommendations;

namespace CyberHub.Bench.Tests;

/// <summary>The simulated populations are a function of their seed, and keep the rules they are documented to keep.</summary>
public sealed class SimulatorTests
{
    // The demo catalog's items as the simulator sees them; it never reads vectors, so they stay empty here.
    private static readonly IReadOnlyList<CatalogItem> Demo = [.. CatalogImporter.DemoCatalog().Select(e => new CatalogItem(
        new ContentKey(e.ContentType, e.ContentId), e.Title, (string)e.Metadata["topic"]!,
        (string)e.Metadata["level"]! switch { "beginner" => 0, "intermediate" => 1, _ => 2 }, e.ContentType, [],
        [.. e.Metadata["prerequisites"]!.AsArray().Select(r => ContentFacts.Reference((string?)r)!.Value)]))];

    private static IReadOnlyList<Learner> Simulate(int seed, int learners = 300) =>
        new LearnerSimulator(Demo, new SimulationSettings { Seed = seed, Learners = learners }).Run();

    [Fact]
    public void The_same_seed_gives_the_same_population()
    {
        var first = Simulate(7);
        var second = Simulate(7);
        Assert.Equal(Flatten(first), Flatten(second));
        Assert.NotEqual(Flatten(first), Flatten(Simulate(8)));
    }

    [Fact]
    public void The_oracle_walks_on_from_a_learners_state_never_offers_what_they_did_and_finds_what_they_took_next()
    {
        var simulator = new LearnerSimulator(Demo, new SimulationSettings { Seed = 5, Learners = 400 });
        var population = simulator.Run();
        var evaluated = population.Where(l => l.Log.Count > 6).ToList();
        Assert.NotEmpty(evaluated);
        var hits = 0;
        var randomHits = 0.0;
        foreach (var learner in evaluated)
        {
            var (history, next) = learner.SplitAt(3);
            var shares = simulator.NextShares(learner.Id, history.Count, horizon: 3, rollouts: 200, seed: learner.Id);
            // Every walk kept takes exactly three distinct items: the shares sum to three.
            Assert.Equal(3, shares.Values.Sum(), 6);
            Assert.DoesNotContain(shares.Keys, k => history.Any(c => c.Item == k));
            Assert.Equal(shares, simulator.NextShares(learner.Id, history.Count, horizon: 3, rollouts: 200, seed: learner.Id));
            var top = shares.OrderByDescending(s => s.Value).ThenBy(s => s.Key.ContentId, StringComparer.Ordinal).Take(10).Select(s => s.Key).ToHashSet();
            hits += next.Count(c => top.Contains(c.Item));
            randomHits += 3 * 10.0 / (Demo.Count - history.Count);
        }
        // Knowing the learner's tastes and state, the top 10 holds far more of what they took next than chance does.
        Assert.True(hits > 4 * randomHits, $"{hits} hidden completions in the oracle's top 10, {randomHits:F0} by chance");
        // Walking copies leaves the population as the seed made it.
        Assert.Equal(Flatten(population), Flatten(Simulate(5, 400)));
    }

    [Fact]
    public void Logs_are_in_time_order_without_repeats_and_mostly_follow_level_order()
    {
        var population = Simulate(11, 1000);
        var byKey = Demo.ToDictionary(i => i.Key);
        var steps = 0;
        var forward = 0;
        foreach (var learner in population)
        {
            Assert.Equal(learner.Log.Count, learner.Log.Select(c => c.Item).Distinct().Count());
            for (var i = 1; i < learner.Log.Count; i++)
            {
                Assert.True(learner.Log[i].At > learner.Log[i - 1].At);
                var (before, after) = (byKey[learner.Log[i - 1].Item], byKey[learner.Log[i].Item]);
                if (before.Track == after.Track)
                {
                    steps++;
                    forward += after.Level >= before.Level ? 1 : 0;
                }
            }
        }
        // Within a topic learners go up the levels; noise, switches back and jumps ahead make the rest.
        Assert.True(forward > 0.85 * steps, $"{forward} of {steps} same-topic steps keep or raise the level");
        Assert.Contains(population, l => l.Log.Select(c => byKey[c.Item].Track).Distinct().Count() > 1);
        Assert.Contains(population, l => l.Log.Count == 0 || l.Log.Count == 1);
    }

    [Fact]
    public void Learners_walk_the_catalogs_prerequisites_in_orders_of_their_own()
    {
        var population = Simulate(13, 2000);
        var byKey = Demo.ToDictionary(i => i.Key);
        Assert.All(Demo, i => Assert.All(i.Before, p => Assert.True(byKey.ContainsKey(p), $"{i.Key} names an unknown prerequisite {p}")));

        // Most completions come after all their prerequisites (the rest: skipped as known, jumps ahead, noise).
        var completions = 0;
        var afterPrerequisites = 0;
        foreach (var learner in population)
        {
            var done = new HashSet<ContentKey>();
            foreach (var c in learner.Log)
            {
                completions++;
                afterPrerequisites += byKey[c.Item].Before.All(done.Contains) ? 1 : 0;
                done.Add(c.Item);
            }
        }
        Assert.True(afterPrerequisites > 0.7 * completions, $"{afterPrerequisites} of {completions} completions after their prerequisites");

        // Learners who start the same topic take its items in many different orders (not one fixed track).
        var webOrders = population
            .Select(l => l.Log.Select(c => byKey[c.Item]).Where(i => i.Track == "web-security").Take(4).Select(i => i.Key.ContentId).ToList())
            .Where(o => o.Count == 4).Select(o => string.Join(">", o)).ToList();
        Assert.True(webOrders.Count > 50, $"{webOrders.Count} learners with 4 web items");
        Assert.True(webOrders.Distinct().Count() > 10, $"{webOrders.Distinct().Count()} distinct orders of the first 4 web items");
        var commonest = webOrders.GroupBy(o => o).Max(g => g.Count());
        Assert.True(commonest < 0.5 * webOrders.Count, $"the commonest order is taken by {commonest} of {webOrders.Count}");

        // Some learners go to another topic for a prerequisite (cross-topic prerequisites are walked too).
        Assert.Contains(population, l => l.Log.Any(c => byKey[c.Item].Before.Any(p => byKey[p].Track != byKey[c.Item].Track)
            && byKey[c.Item].Before.All(p => l.Log.TakeWhile(x => x != c).Any(x => x.Item == p))));
    }

    [Fact]
    public void Learners_split_into_two_halves_that_do_not_move()
    {
        var population = Simulate(3, 2000);
        var tuning = population.Count(l => l.Split == Learner.Tuning);
        Assert.InRange(tuning, 900, 1100);
        Assert.Equal(population.Select(l => l.Split), Simulate(3, 2000).Select(l => l.Split));
        Assert.Equal(population.Take(100).Select(l => l.Split), Simulate(3, 100).Select(l => l.Split));
    }

    [Fact]
    public void Content_only_learners_are_a_function_of_their_seed()
    {
        var first = ContentLearners.TimeSplit(Demo, 200, 5);
        Assert.Equal(Flatten(first), Flatten(ContentLearners.TimeSplit(Demo, 200, 5)));
        Assert.All(first, l => Assert.InRange(l.Log.Count, 1, 12));
        var probes = ContentLearners.TopicPrecision(Demo, 4, 3, 5);
        Assert.Equal(12 * 4, probes.Count);
        Assert.All(probes, p => Assert.All(p.History, c => Assert.Equal(p.Group, Demo.Single(i => i.Key == c.Item).Track)));
    }

    private static List<string> Flatten(IReadOnlyList<Learner> population) =>
        [.. population.SelectMany(l => l.Log.Select(c => $"{l.Id}:{l.Split}:{c.Item.ContentType}/{c.Item.ContentId}@{c.At:O}"))];
}
