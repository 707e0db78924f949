using System.Collections.Concurrent;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Recommendations;

/// <summary>
/// Candidates' word vectors (<see cref="ItemWords.Vector"/>) kept between misses: the same items come back as candidates
/// of learner after learner, and reading their words from the text again was about a tenth of a miss's CPU. An entry is
/// used only for the very text it was made from (title and description compared, ordinal), so an edited item is read
/// again and the vector is always the one <see cref="ItemWords.Vector"/> gives. At most <see cref="Capacity"/> entries:
/// when full, all are dropped and the set that misses ask for fills it again.
/// </summary>
public static class CandidateWords
{
    public const int Capacity = 16_384;

    private static readonly ConcurrentDictionary<ContentKey, Entry> s_entries = new();

    /// <summary>How many vectors are kept now (at most <see cref="Capacity"/>).</summary>
    public static int Count => s_entries.Count;

    /// <summary>The word vector of the item <paramref name="key"/> with this title and description.</summary>
    public static WordVector Of(ContentKey key, string title, string? description)
    {
        ArgumentNullException.ThrowIfNull(title);
        if (s_entries.TryGetValue(key, out var entry) && entry.Title == title && entry.Description == description)
        {
            return entry.Vector;
        }
        var vector = ItemWords.Vector(title, description);
        if (s_entries.Count >= Capacity)
        {
            s_entries.Clear();
        }
        s_entries[key] = new Entry(title, description, vector);
        return vector;
    }

    private sealed record Entry(string Title, string? Description, WordVector Vector);
}
