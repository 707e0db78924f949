using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Recommendations;

/// <summary>The parameters of the simulated learner population, documented in docs/recommendations.md.</summary>
public sealed record SimulationSettings
{
    public int Seed { get; init; } = 20261205;
    public int Learners { get; init; } = 4000;
    /// <summary>Chance, before each step, that the learner stops for good (so lengths are roughly geometric).</summary>
    public double DropOut { get; init; } = 0.07;
    /// <summary>Chance that the next item in the track is skipped (never taken).</summary>
    public double Skip { get; init; } = 0.12;
    /// <summary>Chance that a step moves to a related topic's track instead of going on.</summary>
    public double Switch { get; init; } = 0.08;
    /// <summary>Chance that a step is noise: an item of any topic, drawn uniformly.</summary>
    public double Noise { get; init; } = 0.06;
    /// <summary>Chance that a learner who finishes a track goes on to a related one (else they stop).</summary>
    public double ContinueAfterTrack { get; init; } = 0.6;
    /// <summary>Chance that a step takes an item whose level prerequisites are not all done (a learner jumping ahead).</summary>
    public double JumpAhead { get; init; } = 0.05;
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
/// Simulates learners working through the demo catalog (docs/recommendations.md, "The simulated population"). Each topic
/// is a track: its items ordered by level (beginner, intermediate, advanced) and, within a level, course before lessons
/// before labs; an item's prerequisites are the items of lower levels in its topic. A learner starts on a topic drawn
/// by popularity, takes the track's items in order (items of one level and type in a personal order), skips some,
/// sometimes jumps ahead, sometimes switches to a related topic, sometimes takes a random item, and drops out.
/// Everything is drawn from one seeded generator, so a seed gives the same population on every machine.
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

    public IReadOnlyList<Learner> Run()
    {
        var random = new Random(settings.Seed);
        var tracks = catalog.GroupBy(i => i.Track).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var topic in TopicPopularity)
        {
            if (!tracks.ContainsKey(topic))
            {
                throw new InvalidOperationException($"The catalog has no items of topic '{topic}'.");
            }
        }
        var weights = TopicPopularity.Select((_, rank) => 1 / Math.Pow(rank + 1, settings.TopicZipf)).ToArray();
        var learners = new List<Learner>(settings.Learners);
        for (var id = 1; id <= settings.Learners; id++)
        {
            var log = Simulate(random, tracks, TopicPopularity[Draw(random, weights)]);
            learners.Add(new Learner(id, Learner.HalfOf(id, settings.Seed), log));
        }
        return learners;
    }

    private List<Completion> Simulate(Random random, Dictionary<string, List<CatalogItem>> tracks, string topic)
    {
        var done = new HashSet<ContentKey>();
        var log = new List<Completion>();
        var at = Epoch.AddDays(random.NextDouble() * 180).AddMinutes(random.Next(24 * 60));
        var order = Order(random, tracks[topic]);
        var position = 0;
        while (log.Count < settings.MaxLength)
        {
            if (random.NextDouble() < settings.DropOut)
            {
                break;
            }
            CatalogItem? next = null;
            var roll = random.NextDouble();
            if (roll < settings.Noise)
            {
                next = catalog[random.Next(catalog.Count)];
            }
            else if (roll < settings.Noise + settings.Switch)
            {
                (topic, order, position) = SwitchTopic(random, tracks, topic);
                continue;
            }
            else
            {
                while (position < order.Count && done.Contains(order[position].Key))
                {
                    position++;
                }
                if (position >= order.Count)
                {
                    if (random.NextDouble() >= settings.ContinueAfterTrack)
                    {
                        break;
                    }
                    (topic, order, position) = SwitchTopic(random, tracks, topic);
                    continue;
                }
                if (random.NextDouble() < settings.Skip)
                {
                    position++;
                    continue;
                }
                var index = position;
                if (random.NextDouble() < settings.JumpAhead)
                {
                    // Jumping ahead: an item further down the track, past its prerequisites.
                    index = position + 1 + random.Next(Math.Max(1, order.Count - position - 1));
                    index = Math.Min(index, order.Count - 1);
                }
                next = order[index];
                if (index == position)
                {
                    position++;
                }
            }
            if (next is null || !done.Add(next.Key))
            {
                continue;
            }
            at = at.AddDays(Gap(random));
            log.Add(new Completion(next.Key, at));
        }
        return log;
    }

    private (string Topic, List<CatalogItem> Order, int Position) SwitchTopic(Random random, Dictionary<string, List<CatalogItem>> tracks, string from)
    {
        var related = RelatedTopics[from];
        var topic = related[random.Next(related.Length)];
        return (topic, Order(random, tracks[topic]), 0);
    }

    /// <summary>A track in prerequisite order: level, then course, lesson, lab; items of one level and type in a personal order.</summary>
    private static List<CatalogItem> Order(Random random, List<CatalogItem> track) =>
        [.. track.Select(i => (Item: i, Tie: random.NextDouble())).OrderBy(x => x.Item.Level).ThenBy(x => TypeOrder(x.Item.ContentType)).ThenBy(x => x.Tie).Select(x => x.Item)];

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
