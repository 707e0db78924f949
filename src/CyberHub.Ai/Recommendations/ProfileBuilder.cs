using System.Numerics.Tensors;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;

namespace CyberHub.Ai.Recommendations;

/// <summary>An item the learner worked on, with how much it counts in their profile.</summary>
public sealed record WeightedItem(ContentVector Item, ProfileEntry Entry, double Weight);

/// <summary>
/// Turns progress into a profile embedding: the weighted mean of the vectors of what the learner worked on.
/// Completed work counts most, then work in progress by how far it got; a high score adds weight; recent
/// work counts more than old work. Recency is measured from the learner's own latest activity, not from
/// now, so the same progress always gives the same profile.
/// </summary>
public static class ProfileBuilder
{
    private const double HalfLifeDays = 30;
    private const double MinRecency = 0.25;

    public static IReadOnlyList<ProfileEntry> Entries(IEnumerable<ProgressDto> progress) =>
        [.. progress.Select(Entry).OfType<ProfileEntry>().OrderBy(e => e.ContentType, StringComparer.Ordinal).ThenBy(e => e.ContentId, StringComparer.Ordinal)];

    /// <summary>The entry a record contributes, or null when the learner has not really started it.</summary>
    public static ProfileEntry? Entry(ProgressDto p) =>
        p.Status == ProgressStatus.NotStarted && p.CompletionPercentage <= 0
            ? null
            : new ProfileEntry(p.ContentType, p.ContentId, p.Status, p.CompletionPercentage, p.Score, ToMilliseconds(p.UpdatedAt));

    // The same record reaches this service from Core's database (microseconds on PostgreSQL) and from its
    // outbox (the in-memory value, 100 ns ticks); both must weigh the same.
    private static DateTime ToMilliseconds(DateTime t) => LearnerCompletions.ToMilliseconds(t);

    public static IReadOnlyList<WeightedItem> Weigh(IReadOnlyList<ProfileEntry> entries, IReadOnlyList<ContentVector> items)
    {
        if (entries.Count == 0)
        {
            return [];
        }
        var byKey = items.ToDictionary(i => i.Key);
        var latest = entries.Max(e => e.UpdatedAt);
        var weighted = new List<WeightedItem>(entries.Count);
        foreach (var entry in entries)
        {
            if (byKey.TryGetValue(new ContentKey(entry.ContentType, entry.ContentId), out var item))
            {
                weighted.Add(new WeightedItem(item, entry, Weight(entry, latest)));
            }
        }
        return weighted;
    }

    public static double Weight(ProfileEntry entry, DateTime latestActivity)
    {
        var progress = entry.Status == ProgressStatus.Completed ? 1.0 : 0.2 + 0.5 * Math.Clamp(entry.Percentage, 0, 100) / 100;
        var score = entry.Score is { } s ? 0.75 + 0.5 * Math.Clamp(s, 0, 100) / 100 : 1.0;
        var ageDays = Math.Max(0, (latestActivity - entry.UpdatedAt).TotalDays);
        var recency = Math.Max(MinRecency, Math.Pow(0.5, ageDays / HalfLifeDays));
        return progress * score * recency;
    }

    /// <summary>The unit-length weighted mean, or null when nothing the learner did is in the catalog.</summary>
    public static float[]? Vector(IReadOnlyList<WeightedItem> items)
    {
        if (items.Count == 0)
        {
            return null;
        }
        var sum = new float[items[0].Item.Vector.Length];
        foreach (var item in items)
        {
            TensorPrimitives.MultiplyAdd(item.Item.Vector, (float)item.Weight, sum, sum);
        }
        var norm = TensorPrimitives.Norm(sum);
        if (norm < 1e-6f)
        {
            return null;
        }
        TensorPrimitives.Divide(sum, norm, sum);
        return sum;
    }
}
