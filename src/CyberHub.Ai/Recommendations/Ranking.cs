using System.Numerics.Tensors;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;

namespace CyberHub.Ai.Recommendations;

public sealed record RankedItem(ContentVector Item, double Similarity);

/// <summary>Orders candidates for a learner and says why each one is there.</summary>
public static class Ranking
{
    /// <summary>How much relevance outweighs novelty in maximal marginal relevance (1 = relevance only).</summary>
    public const double Relevance = 0.75;

    /// <summary>
    /// Maximal marginal relevance (Carbonell and Goldstein, 1998): each pick maximises similarity to the
    /// profile minus similarity to the closest pick so far, so a list is not ten near-copies of one item.
    /// </summary>
    public static IReadOnlyList<RankedItem> Diversify(float[] profile, IReadOnlyList<ContentVector> candidates, int count, double relevance = Relevance)
    {
        var similarity = candidates.Select(c => (double)TensorPrimitives.Dot(profile, c.Vector)).ToArray();
        var closestPick = new double[candidates.Count];
        Array.Fill(closestPick, double.NegativeInfinity);
        var taken = new bool[candidates.Count];
        var ranked = new List<RankedItem>(Math.Min(count, candidates.Count));
        while (ranked.Count < count && ranked.Count < candidates.Count)
        {
            var best = -1;
            var bestValue = double.NegativeInfinity;
            for (var i = 0; i < candidates.Count; i++)
            {
                if (taken[i])
                {
                    continue;
                }
                var redundancy = ranked.Count == 0 ? 0 : closestPick[i];
                var value = relevance * similarity[i] - (1 - relevance) * redundancy;
                if (value > bestValue)
                {
                    (best, bestValue) = (i, value);
                }
            }
            taken[best] = true;
            ranked.Add(new RankedItem(candidates[best], similarity[best]));
            for (var i = 0; i < candidates.Count; i++)
            {
                if (!taken[i])
                {
                    closestPick[i] = Math.Max(closestPick[i], TensorPrimitives.Dot(candidates[i].Vector, candidates[best].Vector));
                }
            }
        }
        return ranked;
    }

    /// <summary>
    /// Names the item of the learner's own history that most explains a pick: the completed item (or, with
    /// nothing completed, the item in progress) with the highest weighted similarity to it.
    /// </summary>
    public static string Reason(ContentVector pick, IReadOnlyList<WeightedItem> history)
    {
        var completed = history.Where(h => h.Entry.Status == ProgressStatus.Completed).ToList();
        var drivers = completed.Count > 0 ? completed : history;
        var driver = drivers.MaxBy(h => h.Weight * TensorPrimitives.Dot(h.Item.Vector, pick.Vector));
        if (driver is null)
        {
            return "Close to what you have been learning";
        }
        return driver.Entry.Status == ProgressStatus.Completed
            ? $"Because you completed '{driver.Item.Content.Title}'"
            : $"Because you are working on '{driver.Item.Content.Title}'";
    }
}
