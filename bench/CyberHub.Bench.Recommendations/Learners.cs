using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Recommendations;

/// <summary>One completed item in a learner's log.</summary>
public sealed record Completion(ContentKey Item, DateTime At);

/// <summary>
/// A learner's progress log, oldest first. <see cref="Split"/> says which half of the population the learner belongs to:
/// weights are chosen on "tuning" and reported on "reporting".
/// </summary>
public sealed record Learner(int Id, string Split, IReadOnlyList<Completion> Log)
{
    public const string Tuning = "tuning";
    public const string Reporting = "reporting";

    /// <summary>The time split: everything but the last <paramref name="hidden"/> completions is history, those are what the learner did next.</summary>
    public (IReadOnlyList<Completion> History, IReadOnlyList<Completion> Next) SplitAt(int hidden) =>
        ([.. Log.Take(Log.Count - hidden)], [.. Log.Skip(Log.Count - hidden)]);

    /// <summary>Learners go to the tuning or the reporting half by a hash of their id, so adding learners never moves one.</summary>
    public static string HalfOf(int id, int seed) => (Mix((uint)id * 2654435761u ^ (uint)seed) & 1) == 0 ? Tuning : Reporting;

    private static uint Mix(uint x)
    {
        x ^= x >> 16;
        x *= 0x7feb352d;
        x ^= x >> 15;
        x *= 0x846ca68b;
        x ^= x >> 16;
        return x;
    }
}

/// <summary>
/// A catalog item as the simulator and the metrics see it: its track (topic or group), level, type, vector and the
/// prerequisites its catalog record states (none when it states none).
/// </summary>
public sealed record CatalogItem(ContentKey Key, string Title, string Track, int Level, string ContentType, float[] Vector, IReadOnlyList<ContentKey>? Prerequisites = null)
{
    public IReadOnlyList<ContentKey> Before => Prerequisites ?? [];
}
