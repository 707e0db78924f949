using System.Text.Json;
using System.Text.Json.Nodes;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.Embeddings;
using CyberHub.Ai.VectorStore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberHub.Bench.Recommendations;

/// <summary>A catalog loaded into a real embedded vector store, with its items as the evaluation sees them.</summary>
public sealed record LoadedCatalog(string Name, EmbeddedVectorStore Store, IReadOnlyList<CatalogItem> Items) : IDisposable
{
    public void Dispose() => Store.Dispose();
}

public static class Datasets
{
    public const string ContentOnlyFile = "scap-rules.json";
    public const string SearchFile = "search-queries.json";

    public static string DataPath(string file) => Path.Combine(AppContext.BaseDirectory, "Data", file);

    /// <summary>The demo catalog the service seeds (108 items, 12 topics), embedded and stored by the service's own importer.</summary>
    public static Task<LoadedCatalog> DemoAsync(IEmbeddingGenerator embeddings, string directory, CancellationToken cancellationToken) =>
        LoadAsync("demo", CatalogImporter.DemoCatalog(), embeddings, directory, cancellationToken);

    /// <summary>
    /// The content-only set: SCAP Security Guide rules (Data/scap-rules.json, extracted once by Data/extract_scap.py),
    /// each stored as a lesson whose topic is its rule group.
    /// </summary>
    public static Task<LoadedCatalog> ContentOnlyAsync(IEmbeddingGenerator embeddings, string directory, CancellationToken cancellationToken)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(DataPath(ContentOnlyFile)));
        var entries = json.RootElement.GetProperty("items").EnumerateArray().Select(item => new CatalogEntry(
            "lesson",
            item.GetProperty("id").GetString()!.Replace('_', '-'),
            item.GetProperty("title").GetString()!,
            item.GetProperty("description").GetString()!,
            new JsonObject { ["topic"] = item.GetProperty("group").GetString() })).ToList();
        return LoadAsync("content-only", entries, embeddings, directory, cancellationToken);
    }

    private static async Task<LoadedCatalog> LoadAsync(
        string name, IReadOnlyList<CatalogEntry> entries, IEmbeddingGenerator embeddings, string directory, CancellationToken cancellationToken)
    {
        var store = new EmbeddedVectorStore(Path.Combine(directory, $"{name}.db"), NullLogger.Instance);
        await store.InitializeAsync(cancellationToken);
        await new CatalogImporter(embeddings, store, TimeProvider.System).ImportAsync(entries, cancellationToken: cancellationToken);
        var keys = entries.Select(e => new ContentKey(e.ContentType, e.ContentId)).ToArray();
        var vectors = (await store.GetManyAsync(keys, cancellationToken)).ToDictionary(v => v.Key);
        var items = entries.Select(e =>
        {
            var key = new ContentKey(e.ContentType, e.ContentId);
            var level = (string?)e.Metadata["level"] switch
            {
                "beginner" => 0,
                "intermediate" => 1,
                "advanced" => 2,
                _ => 0,
            };
            var prerequisites = e.Metadata["prerequisites"] is JsonArray references
                ? references.Select(r => ContentFacts.Reference((string?)r)).OfType<ContentKey>().ToList()
                : [];
            return new CatalogItem(key, e.Title, (string?)e.Metadata["topic"] ?? e.ContentType, level, e.ContentType, vectors[key].Vector, prerequisites);
        }).ToList();
        return new LoadedCatalog(name, store, items);
    }
}
