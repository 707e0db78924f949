using System.Numerics.Tensors;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Recommendations;

/// <summary>One of a learner's interests: the weighted mean direction of some of their items, and its share of their weight.</summary>
public sealed record Interest(float[] Centroid, double Weight, IReadOnlyList<ContentKey> Items);

/// <summary>
/// Multi-interest content: a learner whose history spans two subjects has two interests, not one mean vector that lies
/// between them and near neither. The history's vectors are clustered by average linkage on cosine similarity (the two
/// closest groups merge while their centroids are closer than <c>mergeAbove</c>, and always while there are more than
/// <c>maxInterests</c>); each group's centroid is an interest, weighted by the history weight of its items. Pure: vectors
/// and weights in, interests out; reads no topic or other metadata.
/// </summary>
public static class Interests
{
    public const int DefaultMaxInterests = 3;
    public const double DefaultMergeAbove = 0.45;

    public static IReadOnlyList<Interest> Cluster(
        IReadOnlyList<(ContentKey Key, float[] Vector, double Weight)> history, int maxInterests = DefaultMaxInterests, double mergeAbove = DefaultMergeAbove)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInterests, 1);
        var groups = history.Where(h => h.Vector.Length > 0 && h.Weight > 0)
            .Select(h => (Sum: Scaled(h.Vector, h.Weight), Weight: h.Weight, Items: new List<ContentKey> { h.Key })).ToList();
        if (groups.Count == 0)
        {
            return [];
        }
        var dimensions = groups[0].Sum.Length;
        groups.RemoveAll(g => g.Sum.Length != dimensions);
        while (groups.Count > 1)
        {
            var (a, b, best) = (-1, -1, double.NegativeInfinity);
            for (var i = 0; i < groups.Count; i++)
            {
                for (var j = i + 1; j < groups.Count; j++)
                {
                    var similarity = TensorPrimitives.CosineSimilarity(groups[i].Sum, groups[j].Sum);
                    if (similarity > best)
                    {
                        (a, b, best) = (i, j, similarity);
                    }
                }
            }
            if (best < mergeAbove && groups.Count <= maxInterests)
            {
                break;
            }
            var merged = new float[dimensions];
            TensorPrimitives.Add(groups[a].Sum, groups[b].Sum, merged);
            groups[a] = (merged, groups[a].Weight + groups[b].Weight, [.. groups[a].Items, .. groups[b].Items]);
            groups.RemoveAt(b);
        }
        var total = groups.Sum(g => g.Weight);
        return [.. groups
            .Select(g => new Interest(ContentVectors.UnitOrZero(g.Sum), g.Weight / total, g.Items))
            .OrderByDescending(i => i.Weight).ThenBy(i => i.Items[0].ContentType, StringComparer.Ordinal).ThenBy(i => i.Items[0].ContentId, StringComparer.Ordinal)];
    }

    /// <summary>How close a candidate is to the learner's interests: the best of cosine(interest, candidate) over the interests.</summary>
    public static double Affinity(IReadOnlyList<Interest> interests, float[]? vector)
    {
        if (vector is null || interests.Count == 0)
        {
            return 0;
        }
        var best = 0.0;
        foreach (var interest in interests)
        {
            if (interest.Centroid.Length == vector.Length)
            {
                best = Math.Max(best, TensorPrimitives.CosineSimilarity(interest.Centroid, vector));
            }
        }
        return best;
    }

    /// <summary>
    /// Interleaves per-interest lists (each best first, one per interest in the order of <paramref name="interests"/>) into
    /// one of <paramref name="count"/>: each interest gets slots in proportion to its weight (at least one while there is
    /// room), taken in turn, no item twice.
    /// </summary>
    public static IReadOnlyList<ContentKey> Interleave(IReadOnlyList<Interest> interests, IReadOnlyList<IReadOnlyList<ContentKey>> lists, int count)
    {
        ArgumentNullException.ThrowIfNull(interests);
        ArgumentNullException.ThrowIfNull(lists);
        var result = new List<ContentKey>(count);
        var seen = new HashSet<ContentKey>();
        var positions = new int[lists.Count];
        var credit = new double[lists.Count];
        while (result.Count < count)
        {
            var progressed = false;
            for (var i = 0; i < lists.Count && result.Count < count; i++)
            {
                // Largest remainder: an interest of weight w earns w slots a round; a slot costs 1 of its credit.
                credit[i] += i < interests.Count && interests[i].Weight > 0 ? interests[i].Weight : 1.0 / lists.Count;
                if (credit[i] <= 0 && i > 0)
                {
                    continue;
                }
                while (positions[i] < lists[i].Count && !seen.Add(lists[i][positions[i]]))
                {
                    positions[i]++;
                }
                if (positions[i] < lists[i].Count)
                {
                    result.Add(lists[i][positions[i]++]);
                    credit[i] -= 1;
                    progressed = true;
                }
            }
            if (!progressed && positions.Select((p, i) => p >= lists[i].Count).All(x => x))
            {
                break;
            }
        }
        return result;
    }

    private static float[] Scaled(float[] vector, double weight)
    {
        var result = new float[vector.Length];
        TensorPrimitives.Multiply(vector, (float)weight, result);
        return result;
    }
}
