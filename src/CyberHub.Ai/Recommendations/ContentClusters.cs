using System.Numerics.Tensors;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Recommendations;

/// <summary>
/// The catalog's subjects found from its text alone: spherical k-means over the item vectors (cosine), seeded
/// deterministically (k-means++ from a fixed seed, items in key order), so the same catalog gives the same clusters.
/// Reads no topic or other metadata: it is what lets a content component prefer "more of the same subject" where the
/// catalog states no topics. <see cref="Share"/> is the learner's weighted share of an item's cluster.
/// </summary>
public sealed class ContentClusters
{
    private readonly Dictionary<ContentKey, int> _cluster;

    private ContentClusters(Dictionary<ContentKey, int> cluster, int count)
    {
        _cluster = cluster;
        Count = count;
    }

    public int Count { get; }

    /// <summary>The cluster of an item, or −1 for an item not clustered.</summary>
    public int Of(ContentKey key) => _cluster.TryGetValue(key, out var c) ? c : -1;

    /// <summary>A cluster count for a catalog of <paramref name="items"/> items: about one per 50, at least 2.</summary>
    public static int DefaultCount(int items) => Math.Max(2, (int)Math.Round(items / 50.0));

    public static ContentClusters Build(IReadOnlyList<(ContentKey Key, float[] Vector)> items, int k, int seed = 17, int iterations = 25)
    {
        ArgumentNullException.ThrowIfNull(items);
        var ordered = items.Where(i => i.Vector.Length > 0)
            .OrderBy(i => i.Key.ContentType, StringComparer.Ordinal).ThenBy(i => i.Key.ContentId, StringComparer.Ordinal)
            .Select(i => (i.Key, Vector: ContentVectors.UnitOrZero(i.Vector))).ToList();
        k = Math.Clamp(k, 1, Math.Max(1, ordered.Count));
        var assignment = new Dictionary<ContentKey, int>();
        if (ordered.Count == 0)
        {
            return new ContentClusters(assignment, 0);
        }
        var random = new Random(seed);
        var centroids = new List<float[]> { ordered[random.Next(ordered.Count)].Vector };
        while (centroids.Count < k)
        {
            // k-means++: the next centre is drawn with probability proportional to its squared distance from the nearest centre.
            var distances = ordered.Select(i => Math.Pow(1 - centroids.Max(c => TensorPrimitives.Dot(c, i.Vector)), 2)).ToArray();
            var roll = random.NextDouble() * distances.Sum();
            var index = 0;
            for (; index < distances.Length - 1 && roll >= distances[index]; index++)
            {
                roll -= distances[index];
            }
            centroids.Add(ordered[index].Vector);
        }
        var labels = new int[ordered.Count];
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            var changed = false;
            for (var i = 0; i < ordered.Count; i++)
            {
                var best = 0;
                var bestValue = double.NegativeInfinity;
                for (var c = 0; c < centroids.Count; c++)
                {
                    var value = TensorPrimitives.Dot(centroids[c], ordered[i].Vector);
                    if (value > bestValue)
                    {
                        (best, bestValue) = (c, value);
                    }
                }
                changed |= iteration == 0 || labels[i] != best;
                labels[i] = best;
            }
            if (!changed)
            {
                break;
            }
            for (var c = 0; c < centroids.Count; c++)
            {
                var sum = new float[ordered[0].Vector.Length];
                var members = 0;
                for (var i = 0; i < ordered.Count; i++)
                {
                    if (labels[i] == c)
                    {
                        TensorPrimitives.Add(sum, ordered[i].Vector, sum);
                        members++;
                    }
                }
                if (members > 0)
                {
                    centroids[c] = ContentVectors.UnitOrZero(sum);
                }
            }
        }
        for (var i = 0; i < ordered.Count; i++)
        {
            assignment[ordered[i].Key] = labels[i];
        }
        return new ContentClusters(assignment, centroids.Count);
    }

    /// <summary>Each cluster's share of the weighted history (clusters the history does not touch are absent).</summary>
    public IReadOnlyDictionary<int, double> Share(IReadOnlyList<(ContentKey Key, double Weight)> history)
    {
        var total = history.Where(h => h.Weight > 0).Sum(h => h.Weight);
        var shares = new Dictionary<int, double>();
        if (!(total > 0))
        {
            return shares;
        }
        foreach (var (key, weight) in history)
        {
            if (weight > 0 && Of(key) is var c and >= 0)
            {
                shares[c] = shares.GetValueOrDefault(c) + weight / total;
            }
        }
        return shares;
    }
}
