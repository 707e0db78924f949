using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Caching;
using Microsoft.Extensions.Caching.Hybrid;

namespace CyberHub.Ai.Personality;

/// <summary>
/// The catalog facts an analysis needs: topic, level and duration of each distinct item the learner touched
/// (one lookup per item, however many records name it), and the catalog's topics with items worth suggesting.
/// </summary>
public sealed class PersonalityCatalog(IVectorStore store, HybridCache cache, CacheLifetimes lifetimes)
{
    /// <summary>How many items of each type the topic overview reads; it suggests the easiest ones, so a bound is harmless.</summary>
    public const int MaxScannedPerType = 1_000;
    public const int PicksPerTopic = 8;

    // The embedded store answers from memory; PostgreSQL gets a few lookups in flight instead of one at a time.
    private const int LookupParallelism = 8;

    /// <summary>Topics change only when the catalog does, and a suggestion from a slightly older catalog is harmless.</summary>
    public static readonly TimeSpan TopicsLifetime = TimeSpan.FromMinutes(10);

    private static readonly string[] HandsOn = [ContentTypes.Lab, ContentTypes.Challenge];
    private static readonly string[] Theory = [ContentTypes.Lesson, ContentTypes.Video, ContentTypes.Article, ContentTypes.Course];

    public async Task<CatalogFacts> FactsAsync(IEnumerable<ContentKey> keys, CancellationToken cancellationToken)
    {
        var items = new ConcurrentDictionary<ContentKey, ContentFacts>();
        var options = new ParallelOptions { MaxDegreeOfParallelism = LookupParallelism, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(keys.Distinct(), options, async (key, ct) =>
        {
            if (await store.GetAsync(key, ct) is { } record)
            {
                items[key] = Facts(record);
            }
        });
        var topics = await TopicsAsync(cancellationToken);
        return new CatalogFacts(new Dictionary<ContentKey, ContentFacts>(items), topics.Topics);
    }

    public async Task<CatalogTopics> TopicsAsync(CancellationToken cancellationToken) =>
        await cache.GetOrCreateAsync("personality:catalog-topics", store, static (store, ct) => new ValueTask<CatalogTopics>(ScanAsync(store, ct)),
            lifetimes.For(TopicsLifetime), [CacheTags.Catalog], cancellationToken);

    public static ContentFacts Facts(ContentRecord record)
    {
        try
        {
            using var metadata = JsonDocument.Parse(record.Metadata);
            var root = metadata.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                return new ContentFacts(record.Title, Text(root, "topic"), Text(root, "level")?.ToLowerInvariant(), Minutes(root));
            }
        }
        catch (JsonException)
        {
            // Metadata is free-form: an item whose metadata cannot be read is still an item, just without facts.
        }
        return new ContentFacts(record.Title, null, null, null);
    }

    private static async Task<CatalogTopics> ScanAsync(IVectorStore store, CancellationToken cancellationToken)
    {
        var byTopic = new Dictionary<string, List<(ContentRecord Record, ContentFacts Facts)>>(StringComparer.Ordinal);
        foreach (var type in ContentTypes.All)
        {
            var (_, items) = await store.ListAsync(type, 0, MaxScannedPerType, cancellationToken);
            foreach (var item in items)
            {
                var facts = Facts(item);
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

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()?.Trim() is { Length: > 0 } text
            ? text
            : null;

    /// <summary>duration_minutes as a number, or as the text a CSV import leaves.</summary>
    private static double? Minutes(JsonElement root)
    {
        if (!root.TryGetProperty("duration_minutes", out var value))
        {
            return null;
        }
        var minutes = value.ValueKind switch
        {
            JsonValueKind.Number => value.GetDouble(),
            JsonValueKind.String when double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => double.NaN,
        };
        return double.IsFinite(minutes) && minutes > 0 ? minutes : null;
    }
}
