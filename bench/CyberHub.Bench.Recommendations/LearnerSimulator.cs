using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Recommendations;

/// <summary>The parameters of the simulated learner population, documented in docs/recommendations.md.</summary>
public sealed record SimulationSettings
{
    public int Seed { get; init; } = 20261205;
    public int Learners { get; init; } = 4000;
    /// <summary>Chance, before each step, that the learner stops for good (so lengths are roughly geometric).</summary>
    public double DropOut { get; init; } = 0.07;
    /// <summary>Chance that the item the learner chose is skipped: never taken, but known (it counts as done for what it unlocks).</summary>
    public double Skip { get; init; } = 0.12;
    /// <summary>Chance that a step moves to another topic instead of going on.</summary>
    public double Switch { get; init; } = 0.08;
    /// <summary>Of the switches, the share that goes to a related topic; the rest go to a topic drawn by popularity.</summary>
    public double SwitchToRelated { get; init; } = 0.7;
    /// <summary>Chance that a step is noise: an item of any topic, drawn uniformly.</summary>
    public double Noise { get; init; } = 0.06;
    /// <summary>Chance that a learner who finishes a track goes on to a related one (else they stop).</summary>
    public double ContinueAfterTrack { get; init; } = 0.6;
    /// <summary>
    /// Chance that a learner whose topic has nothing ready, only items waiting on another topic's prerequisite, goes to
    /// that topic to take it (else the track counts as finished).
    /// </summary>
    public double Detour { get; init; } = 0.6;
    /// <summary>Chance that a step takes an item of the topic whose prerequisites are not all done (a learner jumping ahead).</summary>
    public double JumpAhead { get; init; } = 0.05;
    /// <summary>Per-learner liking of a content type: exp(N(0, sigma)) for each of course, lesson and lab.</summary>
    public double TypeTasteSigma { get; init; } = 0.8;
    /// <summary>Per-learner pull toward items the last completion unlocked (depth first): 1 + U(0, this) times their weight.</summary>
    public double MaxFollowOn { get; init; } = 4.0;
    /// <summary>Per-learner pull toward the lowest ready level (breadth first): weight × exp(−U(0, this) · levels above the lowest).</summary>
    public double MaxLevelPull { get; init; } = 2.0;
    /// <summary>Per-item, per-learner taste: exp(N(0, sigma)) on each item's weight, drawn once per learner.</summary>
    public double ItemTasteSigma { get; init; } = 0.6;
    /// <summary>Topic popularity: the topic at popularity rank r is chosen as a first track with weight 1 / r^exponent.</summary>
    public double TopicZipf { get; init; } = 0.9;
    /// <summary>Longest log a learner can have.</summary>
    public int MaxLength { get; init; } = 30;
    /// <summary>Mean days between two completions (exponential), and the chance and mean of a long break.</summary>
    public double MeanGapDays { get; init; } = 2.0;
    public double BreakChance { get; init; } = 0.1;
    public double MeanBreakDays { get; init; } = 25.0;
}

/// <summary>
/// Simulates learners working through the demo catalog (docs/recommendations.md, "The simulated population") along the
/// prerequisites its records state. At each step a learner in a topic picks among the topic's items whose prerequisites
/// are done (or skipped as known), by a draw weighted by their own tastes: content type, a pull toward what the last
/// completion unlocked (depth first) or toward the lowest level (breadth first), and a per-item liking; so two learners
/// take a topic in different valid orders. They skip some items, sometimes jump ahead past prerequisites, switch topics,
/// take a detour to another topic for a prerequisite, take a random item, and drop out. Everything is drawn from one
/// seeded generator, so a seed gives the same population on every machine.
/// </summary>
public sealed class LearnerSimulator(IReadOnlyList<CatalogItem> catalog, SimulationSettings settings)
{
    /// <summary>
    /// Which topics a learner of a topic moves on to, written from what the topics teach (not from embeddings, which
    /// would favour the embedding-based strategies being judged).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]> RelatedTopics = new Dictionary<string, string[]>
    {
        ["security-fundamentals"] = ["network-security", "web-security", "cryptography", "identity-and-access"],
        ["network-security"] = ["penetration-testing", "incident-response", "cloud-security", "cryptography"],
        ["web-security"] = ["secure-coding", "penetration-testing", "identity-and-access"],
        ["cryptography"] = ["identity-and-access", "secure-coding", "network-security"],
        ["malware-analysis"] = ["digital-forensics", "incident-response", "threat-intelligence"],
        ["incident-response"] = ["digital-forensics", "threat-intelligence", "malware-analysis"],
        ["cloud-security"] = ["identity-and-access", "network-security", "incident-response"],
        ["identity-and-access"] = ["cloud-security", "web-security", "cryptography"],
        ["secure-coding"] = ["web-security", "cryptography", "penetration-testing"],
        ["threat-intelligence"] = ["incident-response", "malware-analysis", "penetration-testing"],
        ["digital-forensics"] = ["incident-response", "malware-analysis"],
        ["penetration-testing"] = ["network-security", "web-security", "identity-and-access"],
    };

    /// <summary>Topics by popularity, most popular first: a fixed order, written down so the popularity baseline has a head to find.</summary>
    public static readonly IReadOnlyList<string> TopicPopularity =
    [
        "security-fundamentals", "web-security", "penetration-testing", "network-security", "cloud-security", "incident-response",
        "cryptography", "identity-and-access", "secure-coding", "malware-analysis", "threat-intelligence", "digital-forensics",
    ];

    private static readonly DateTime Epoch = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private Dictionary<string, List<CatalogItem>> _tracks = [];
    private Dictionary<ContentKey, CatalogItem> _byKey = [];
    private double[] _topicWeights = [];

    /// <summary>Each learner's state after each of their completions (index i: after completion i + 1), kept by <see cref="Run"/> for the oracle.</summary>
    private readonly Dictionary<int, List<State>> _states = [];

    public IReadOnlyList<Learner> Run()
    {
        var random = new Random(settings.Seed);
        _tracks = catalog.GroupBy(i => i.Track).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var topic in TopicPopularity)
        {
            if (!_tracks.ContainsKey(topic))
            {
                throw new InvalidOperationException($"The catalog has no items of topic '{topic}'.");
            }
        }
        _byKey = catalog.ToDictionary(i => i.Key);
        _topicWeights = TopicPopularity.Select((_, rank) => 1 / Math.Pow(rank + 1, settings.TopicZipf)).ToArray();
        _states.Clear();
        var learners = new List<Learner>(settings.Learners);
        for (var id = 1; id <= settings.Learners; id++)
        {
            var states = new List<State>();
            var log = Simulate(random, TopicPopularity[Draw(random, _topicWeights)], states);
            _states[id] = states;
            learners.Add(new Learner(id, Learner.HalfOf(id, settings.Seed), log));
        }
        return learners;
    }

    /// <summary>One learner's tastes, drawn when they start.</summary>
    private sealed record Taste(Dictionary<string, double> Type, double FollowOn, double LevelPull, Dictionary<ContentKey, double> Item);

    /// <summary>
    /// Where a learner is: their tastes, what they completed, what they know (completed or skipped as known), their
    /// topic and their latest completion. Everything the next step depends on, so a copy can be walked on (the oracle).
    /// </summary>
    private sealed class State(Taste taste, string topic)
    {
        public Taste Taste { get; } = taste;
        public HashSet<ContentKey> Done { get; init; } = [];
        public HashSet<ContentKey> Known { get; init; } = [];
        public string Topic { get; set; } = topic;
        public ContentKey? Last { get; set; }

        public State Copy() => new(Taste, Topic) { Done = [.. Done], Known = [.. Known], Last = Last };
    }

    private enum Outcome { Completed, Moved, Stopped }

    private Taste NewTaste(Random random) => new(
        new Dictionary<string, double>
        {
            ["course"] = Math.Exp(settings.TypeTasteSigma * Normal(random)),
            ["lesson"] = Math.Exp(settings.TypeTasteSigma * Normal(random)),
            ["lab"] = Math.Exp(settings.TypeTasteSigma * Normal(random)),
        },
        1 + random.NextDouble() * settings.MaxFollowOn,
        random.NextDouble() * settings.MaxLevelPull,
        catalog.ToDictionary(i => i.Key, _ => Math.Exp(settings.ItemTasteSigma * Normal(random))));

    private List<Completion> Simulate(Random random, string topic, List<State> states)
    {
        var state = new State(NewTaste(random), topic);
        var log = new List<Completion>();
        var at = Epoch.AddDays(random.NextDouble() * 180).AddMinutes(random.Next(24 * 60));
        while (log.Count < settings.MaxLength)
        {
            if (random.NextDouble() < settings.DropOut)
            {
                break;
            }
            var outcome = Step(random, state, out var next);
            if (outcome == Outcome.Stopped)
            {
                break;
            }
            if (outcome == Outcome.Completed)
            {
                at = at.AddDays(Gap(random));
                log.Add(new Completion(next!.Key, at));
                states.Add(state.Copy());
            }
        }
        return log;
    }

    /// <summary>
    /// One step of a learner (after the drop-out draw): noise, a switch of topic, a jump ahead, a detour, the end of a
    /// track, a skip, or a completion (<paramref name="next"/>, already recorded in <paramref name="state"/>).
    /// </summary>
    private Outcome Step(Random random, State state, out CatalogItem? next)
    {
        next = null;
        bool Ready(CatalogItem item) => item.Before.All(state.Known.Contains);
        var roll = random.NextDouble();
        if (roll < settings.Noise)
        {
            next = catalog[random.Next(catalog.Count)];
        }
        else if (roll < settings.Noise + settings.Switch)
        {
            state.Topic = SwitchTopic(random, state.Topic, _topicWeights);
            return Outcome.Moved;
        }
        else
        {
            var topic = state.Topic;
            var open = _tracks[topic].Where(i => !state.Known.Contains(i.Key)).ToList();
            var ready = open.Where(Ready).ToList();
            var waiting = open.Where(i => !Ready(i)).ToList();
            if (waiting.Count > 0 && random.NextDouble() < settings.JumpAhead)
            {
                // Jumping ahead: an item of the topic whose prerequisites are not all done.
                next = waiting[random.Next(waiting.Count)];
            }
            else if (ready.Count == 0)
            {
                // Nothing ready: what waits on another topic's prerequisite may send the learner there; else the track is over.
                var elsewhere = waiting.SelectMany(i => i.Before).Where(k => !state.Known.Contains(k) && _byKey[k].Track != topic)
                    .Select(k => _byKey[k].Track).Distinct().ToList();
                if (elsewhere.Count > 0 && random.NextDouble() < settings.Detour)
                {
                    state.Topic = elsewhere[random.Next(elsewhere.Count)];
                    return Outcome.Moved;
                }
                if (random.NextDouble() >= settings.ContinueAfterTrack)
                {
                    return Outcome.Stopped;
                }
                state.Topic = Related(random, topic);
                return Outcome.Moved;
            }
            else
            {
                var chosen = ready[Draw(random, [.. ready.Select(i => Weight(state.Taste, i, ready, state.Last))])];
                if (random.NextDouble() < settings.Skip)
                {
                    state.Known.Add(chosen.Key);
                    return Outcome.Moved;
                }
                next = chosen;
            }
        }
        if (next is null || !state.Done.Add(next.Key))
        {
            next = null;
            return Outcome.Moved;
        }
        state.Known.Add(next.Key);
        state.Last = next.Key;
        return Outcome.Completed;
    }

    /// <summary>
    /// The oracle: how likely each item is to be among a learner's next <paramref name="horizon"/> completions after their
    /// first <paramref name="completed"/>, knowing everything the simulator knows (tastes, skipped-as-known items, the
    /// topic they are in). Estimated by walking <paramref name="rollouts"/> copies of the learner's state on with the
    /// simulator's own steps, keeping only walks that reach <paramref name="horizon"/> more completions (the learner
    /// evaluated did). Ranking by these shares maximises the expected NDCG@10 of the time split (binary relevance, a
    /// fixed number of relevant items), so it is the ceiling of any strategy on this population, up to sampling noise.
    /// </summary>
    public IReadOnlyDictionary<ContentKey, double> NextShares(int learnerId, int completed, int horizon, int rollouts, int seed)
    {
        if (!_states.TryGetValue(learnerId, out var states) || completed < 1 || completed > states.Count)
        {
            return new Dictionary<ContentKey, double>();
        }
        var random = new Random(seed);
        var counts = new Dictionary<ContentKey, double>();
        var kept = 0;
        for (var r = 0; r < rollouts; r++)
        {
            var state = states[completed - 1].Copy();
            var taken = new List<ContentKey>(horizon);
            // A bounded walk: topic moves without a completion are possible, never endless in practice.
            for (var steps = 0; taken.Count < horizon && steps < 200; steps++)
            {
                var outcome = Step(random, state, out var next);
                if (outcome == Outcome.Stopped)
                {
                    break;
                }
                if (outcome == Outcome.Completed)
                {
                    taken.Add(next!.Key);
                }
            }
            if (taken.Count < horizon)
            {
                continue;
            }
            kept++;
            foreach (var key in taken)
            {
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        }
        return kept == 0 ? counts : counts.ToDictionary(c => c.Key, c => c.Value / kept);
    }

    /// <summary>How much a learner wants a ready item: type taste × item taste × follow-on pull × level pull.</summary>
    private static double Weight(Taste taste, CatalogItem item, List<CatalogItem> ready, ContentKey? last)
    {
        var lowest = ready.Min(i => i.Level);
        var weight = taste.Type.GetValueOrDefault(item.ContentType, 1) * taste.Item[item.Key] * Math.Exp(-taste.LevelPull * (item.Level - lowest));
        return last is { } l && item.Before.Contains(l) ? weight * taste.FollowOn : weight;
    }

    private string SwitchTopic(Random random, string from, double[] topicWeights) =>
        random.NextDouble() < settings.SwitchToRelated ? Related(random, from) : TopicPopularity[Draw(random, topicWeights)];

    private static string Related(Random random, string from)
    {
        var related = RelatedTopics[from];
        return related[random.Next(related.Length)];
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    public static int TypeOrder(string contentType) => contentType switch
    {
        "course" => 0,
        "lesson" => 1,
        "lab" => 2,
        _ => 3,
    };

    private double Gap(Random random)
    {
        var mean = random.NextDouble() < settings.BreakChance ? settings.MeanBreakDays : settings.MeanGapDays;
        return 0.05 - mean * Math.Log(1 - random.NextDouble());
    }

    private static int Draw(Random random, double[] weights)
    {
        var roll = random.NextDouble() * weights.Sum();
        for (var i = 0; i < weights.Length; i++)
        {
            roll -= weights[i];
            if (roll < 0)
            {
                return i;
            }
        }
        return weights.Length - 1;
    }
}
