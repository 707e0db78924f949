using CyberHub.Ai.Catalog;
using System.ComponentModel;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;

namespace CyberHub.Ai.Personality;

/// <summary>One progress record as the analysis sees it: validated, timestamps in UTC.</summary>
public sealed record LearningRecord(
    string ContentType,
    string ContentId,
    ProgressStatus Status,
    double CompletionPercentage,
    double? Score = null,
    long TimeSpentSeconds = 0,
    DateTime? StartedAt = null,
    DateTime? CompletedAt = null,
    DateTime? CreatedAt = null,
    DateTime? UpdatedAt = null)
{
    public ContentKey Key => new(ContentType, ContentId);

    public bool IsStarted => Status != ProgressStatus.NotStarted;

    public static LearningRecord From(ProgressDto p) => new(
        p.ContentType, p.ContentId, p.Status, p.CompletionPercentage, p.Score, p.TimeSpentSeconds,
        Utc(p.StartedAt), Utc(p.CompletedAt), Utc(p.CreatedAt), Utc(p.UpdatedAt));

    /// <summary>Timestamps without an offset are read as UTC: that is what every CyberHub service writes.</summary>
    public static DateTime? Utc(DateTime? value) => value switch
    {
        null => null,
        { Kind: DateTimeKind.Utc } v => v,
        { Kind: DateTimeKind.Local } v => v.ToUniversalTime(),
        { } v => DateTime.SpecifyKind(v, DateTimeKind.Utc),
    };
}


/// <summary>A catalog item worth suggesting.</summary>
public sealed record CatalogPick(string ContentType, string ContentId, string Title, string? Level)
{
    public ContentKey Key => new(ContentType, ContentId);
}

/// <summary>A catalog topic with its hands-on and theory items, easiest first.</summary>
public sealed record CatalogTopic(string Name, int ItemCount, IReadOnlyList<CatalogPick> Labs, IReadOnlyList<CatalogPick> Theory);

/// <summary>The catalog's topics, cached as one immutable value so the cache can hand out the same instance.</summary>
[ImmutableObject(true)]
public sealed record CatalogTopics(IReadOnlyList<CatalogTopic> Topics);

/// <summary>Everything the analysis knows about content: facts per item the learner touched, and the catalog's topics.</summary>
public sealed record CatalogFacts(IReadOnlyDictionary<ContentKey, ContentFacts> Items, IReadOnlyList<CatalogTopic> Topics)
{
    public static readonly CatalogFacts Empty = new(new Dictionary<ContentKey, ContentFacts>(), []);

    public ContentFacts? For(ContentKey key) => Items.GetValueOrDefault(key);
}
