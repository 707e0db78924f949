using CyberHub.Ai.Catalog;
using CyberHub.Contracts;

namespace CyberHub.Ai.VectorStore;

/// <summary>How the catalog's list is ordered: by key (the default), by level (beginner first), by duration (shortest first) or by title.</summary>
public enum ContentSort { Key, Level, Duration, Title }

/// <summary>
/// A catalog listing's filters, all optional, each on a fact an item's metadata carries (<see cref="ContentFacts"/>):
/// its type, its <c>level</c>, its <c>topic</c> (either case), at most <see cref="MaxDurationMinutes"/> minutes long, or
/// naming <see cref="Requires"/> among its prerequisites. Items without the fact a filter asks about are left out; a sort
/// puts items without its fact last. Ties break by title, then type and id.
/// </summary>
public sealed record ContentListQuery(
    string? ContentType = null,
    string? Level = null,
    string? Topic = null,
    double? MaxDurationMinutes = null,
    ContentKey? Requires = null,
    ContentSort Sort = ContentSort.Key)
{
    /// <summary>True when the query is a plain listing, which the stores serve from their key order.</summary>
    public bool IsPlain => Level is null && Topic is null && MaxDurationMinutes is null && Requires is null && Sort == ContentSort.Key;

    /// <summary>The place of a level in a beginner-first ordering; items without a known level come last.</summary>
    public static int LevelRank(string? level) => level switch
    {
        "beginner" => 0,
        "intermediate" => 1,
        "advanced" => 2,
        _ => 3,
    };

    /// <summary>The query applied to records in memory (the embedded store).</summary>
    public (int Count, IReadOnlyList<ContentRecord> Items) Apply(IEnumerable<ContentRecord> records, int skip, int take)
    {
        var matching = records
            .Where(r => ContentType is null || r.ContentType == ContentType)
            .Select(r => (Record: r, Facts: ContentFacts.From(r)))
            .Where(x => Level is null || x.Facts.Level == Level)
            .Where(x => Topic is null || string.Equals(x.Facts.Topic, Topic, StringComparison.OrdinalIgnoreCase))
            .Where(x => MaxDurationMinutes is null || x.Facts.DurationMinutes <= MaxDurationMinutes)
            .Where(x => Requires is null || x.Facts.Before.Contains(Requires.Value))
            .ToList();
        IEnumerable<(ContentRecord Record, ContentFacts Facts)> ordered = Sort switch
        {
            ContentSort.Level => matching.OrderBy(x => LevelRank(x.Facts.Level)).ThenBy(x => x.Record.Title.ToLowerInvariant(), StringComparer.Ordinal),
            ContentSort.Duration => matching.OrderBy(x => x.Facts.DurationMinutes is null).ThenBy(x => x.Facts.DurationMinutes).ThenBy(x => x.Record.Title.ToLowerInvariant(), StringComparer.Ordinal),
            ContentSort.Title => matching.OrderBy(x => x.Record.Title.ToLowerInvariant(), StringComparer.Ordinal),
            _ => matching.OrderBy(x => x.Record.ContentType, StringComparer.Ordinal),
        };
        var page = ((IOrderedEnumerable<(ContentRecord Record, ContentFacts Facts)>)ordered)
            .ThenBy(x => x.Record.ContentType, StringComparer.Ordinal).ThenBy(x => x.Record.ContentId, StringComparer.Ordinal)
            .Skip(skip).Take(take).Select(x => x.Record).ToList();
        return (matching.Count, page);
    }
}

/// <summary>The levels and topics the catalog's items carry (of one type, when asked), each with its count.</summary>
public static class ContentFacetCounts
{
    public static ContentFacets Of(IEnumerable<ContentRecord> records, string? contentType)
    {
        var facts = records.Where(r => contentType is null || r.ContentType == contentType).Select(ContentFacts.From).ToList();
        return new ContentFacets(
            [.. facts.Where(f => f.Level is not null).GroupBy(f => f.Level!).Select(g => new FacetCount(g.Key, g.Count())).OrderBy(f => LevelOrder(f.Value))],
            [.. facts.Where(f => f.Topic is not null).GroupBy(f => f.Topic!, StringComparer.Ordinal).Select(g => new FacetCount(g.Key, g.Count())).OrderBy(f => f.Value, StringComparer.Ordinal)],
            facts.Count);
    }

    public static (int, string) LevelOrder(string level) => (ContentListQuery.LevelRank(level), level);
}
