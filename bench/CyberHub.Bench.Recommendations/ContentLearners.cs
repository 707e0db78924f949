using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Recommendations;

/// <summary>A learner of the topic-precision protocol: a few completed items of one group, and that group.</summary>
public sealed record TopicProbe(int LearnerId, string Group, IReadOnlyList<Completion> History);

/// <summary>
/// Learners over the content-only set, which has no learners of its own (docs/recommendations.md, "The content-only set").
/// Time split: each learner stays in one group, completes 4 to 12 of its items in a random order, with a 10% chance per
/// step of an item of another group. Topic precision: learners complete 3 items of one group and ask for 10.
/// </summary>
public static class ContentLearners
{
    private static readonly DateTime Epoch = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public static IReadOnlyList<Learner> TimeSplit(IReadOnlyList<CatalogItem> catalog, int count, int seed, double noise = 0.1)
    {
        var random = new Random(seed);
        var groups = Groups(catalog);
        var learners = new List<Learner>(count);
        for (var id = 1; id <= count; id++)
        {
            var group = groups[random.Next(groups.Count)];
            var own = group.ToArray();
            random.Shuffle(own);
            var length = 4 + random.Next(9);
            var done = new HashSet<ContentKey>();
            var log = new List<Completion>(length);
            var at = Epoch.AddDays(random.NextDouble() * 180);
            var next = 0;
            while (log.Count < length && next < own.Length)
            {
                var item = random.NextDouble() < noise ? catalog[random.Next(catalog.Count)] : own[next++];
                if (done.Add(item.Key))
                {
                    at = at.AddDays(0.05 - 2 * Math.Log(1 - random.NextDouble()));
                    log.Add(new Completion(item.Key, at));
                }
            }
            learners.Add(new Learner(id, Learner.HalfOf(id, seed), log));
        }
        return learners;
    }

    public static IReadOnlyList<TopicProbe> TopicPrecision(IReadOnlyList<CatalogItem> catalog, int perGroup, int completed, int seed)
    {
        var random = new Random(seed);
        var probes = new List<TopicProbe>();
        var id = 0;
        foreach (var group in Groups(catalog))
        {
            for (var i = 0; i < perGroup; i++)
            {
                var own = group.ToArray();
                random.Shuffle(own);
                var history = own.Take(completed).Select((item, n) => new Completion(item.Key, Epoch.AddDays(n))).ToList();
                probes.Add(new TopicProbe(++id, group.Key, history));
            }
        }
        return probes;
    }

    private static List<IGrouping<string, CatalogItem>> Groups(IReadOnlyList<CatalogItem> catalog) =>
        [.. catalog.GroupBy(i => i.Track).OrderBy(g => g.Key, StringComparer.Ordinal)];
}
