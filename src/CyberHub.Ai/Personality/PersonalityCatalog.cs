using CyberHub.Ai.Catalog;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Caching;
using Microsoft.Extensions.Caching.Hybrid;

namespace CyberHub.Ai.Personality;

/// <summary>
/// The catalog facts an analysis needs: topic, level and duration of each distinct item the learner touched
/// (one batch lookup for the distinct items, however many records name them), and the catalog's topics with items worth suggesting.
/// </summary>
public sealed class PersonalityCatalog(IVectorStore store, HybridCache cache, CacheLifetimes lifetimes)
{
    /// <summary>How many items of each type the topic overview reads; it suggests the easiest ones, so a bound is harmless.</summary>
    public const int MaxScannedPerType = 1_000;
    public const int PicksPerTopic = 8;

    /// <summary>Topics change only when the catalog does, and a suggestion from a slightly older catalog is harmless.</summary>
    public static readonly TimeSpan TopicsLifetime = TimeSpan.FromMinutes(10);

    private static readonly string[] HandsOn = [ContentTypes.Lab, ContentTypes.Challenge];
    private static readonly string[] Theory = [ContentTypes.Lesson, ContentTypes.Video, ContentTypes.Article, ContentTypes.Course];

    public async Task<CatalogFacts> FactsAsync(IEnumerable<ContentKey> keys, CancellationToken cancellationToken)
    {
        var items = await store.GetManyAsync([.. keys.Distinct()], cancellationToken);
        var topics = await TopicsAsync(cancellationToken);
        return new CatalogFacts(items.ToDictionary(i => i.Key, i => ContentFacts.From(i.Content)), topics.Topics);
    }

    public async Task<CatalogTopics> TopicsAsync(CancellationToken cancellationToken) =>
        await cache.GetOrCreateAsync("personality_catalog", "personality:catalog-topics", store, static (store, ct) => new ValueTask<CatalogTopics>(ScanAsync(store, ct)),
            lifetimes.For(TopicsLifetime), [CacheTags.Catalog], cancellationToken);

    private static async Task<CatalogTopics> ScanAsync(IVectorStore store, CancellationToken cancellationToken)
    {
        var byTopic = new Dictionary<string, List<(ContentRecord Record, ContentFacts Facts)>>(StringComparer.Ordinal);
        foreach (var type in ContentTypes.All)
        {
            var (_, items) = await store.ListAsync(type, 0, MaxScannedPerType, cancellationToken);
            foreach (var item in items)
            {
                var facts = ContentFacts.From(item);
                if (facts.Topic is { } topic)
                {
                    (byTopic.TryGetValue(topic, out var list) ? list : byTopic[topic] = []).Add((item, facts));
                }
            }
        }
        return new CatalogTopics([.. byTopic.OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => new CatalogTopic(t.Key, t.Value.Count, Picks(t.Value, HandsOn), Picks(t.Value, Theory)))]);
    }

    /// <summary>Items of the given types, easiest first, then in the given type order.</summary>
    private static IReadOnlyList<CatalogPick> Picks(List<(ContentRecord Record, ContentFacts Facts)> items, string[] types) =>
        [.. items.Where(i => types.Contains(i.Record.ContentType))
            .OrderBy(i => LevelRank(i.Facts.Level))
            .ThenBy(i => Array.IndexOf(types, i.Record.ContentType))
            .ThenBy(i => i.Record.ContentId, StringComparer.Ordinal)
            .Take(PicksPerTopic)
            .Select(i => new CatalogPick(i.Record.ContentType, i.Record.ContentId, i.Record.Title, i.Facts.Level))];

    private static int LevelRank(string? level) => level switch
    {
        "beginner" => 0,
        "intermediate" => 1,
        "advanced" => 2,
        _ => 3,
    };
}
