using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyberHub.Ai.Embeddings;
using CyberHub.Ai.VectorStore;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Errors;

namespace CyberHub.Ai.Catalog;

/// <summary>One catalog line: what it is, what it is called, what it teaches; other fields become metadata.</summary>
public sealed record CatalogEntry(string ContentType, string ContentId, string Title, string Description, JsonObject Metadata);

/// <summary>
/// Loads whole catalogs (the demo catalog, or a JSON or CSV file) in batches: each item is embedded
/// from its title and description and stored as one chunk.
/// </summary>
public sealed class CatalogImporter(IEmbeddingGenerator embeddings, IVectorStore store, TimeProvider clock)
{
    public const int BatchSize = 32;
    private static readonly HashSet<string> KnownFields = ["content_type", "content_id", "title", "description"];

    public async Task<int> ImportAsync(IReadOnlyList<CatalogEntry> entries, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var done = 0;
        foreach (var batch in entries.Chunk(BatchSize))
        {
            var vectors = await embeddings.EmbedAsync([.. batch.Select(e => $"{e.Title}. {e.Description}")], cancellationToken);
            for (var i = 0; i < batch.Length; i++)
            {
                var e = batch[i];
                var now = clock.GetUtcNow().UtcDateTime;
                var created = (await store.GetAsync(new ContentKey(e.ContentType, e.ContentId), cancellationToken))?.CreatedAt ?? now;
                await store.UpsertAsync(new ContentRecord(e.ContentType, e.ContentId, e.Title, e.Description, e.Metadata.ToJsonString(), 1, created, now),
                    [vectors[i]], cancellationToken);
            }
            done += batch.Length;
            progress?.Report(done);
        }
        return done;
    }

    public static IReadOnlyList<CatalogEntry> ReadJson(Stream json)
    {
        var items = JsonNode.Parse(json) as JsonArray ?? throw new FormatException("A JSON catalog is an array of objects.");
        return [.. items.Select((node, i) => node is JsonObject item
            ? Entry(item.ToDictionary(p => p.Key, p => p.Value), i + 1)
            : throw new FormatException($"Item {i + 1} is not an object."))];
    }

    public static IReadOnlyList<CatalogEntry> ReadCsv(TextReader csv)
    {
        var rows = Csv.Parse(csv).ToList();
        if (rows.Count == 0)
        {
            return [];
        }
        var header = rows[0].Select(h => h.Trim().ToLowerInvariant()).ToList();
        return [.. rows.Skip(1).Where(r => r.Any(f => f.Length > 0)).Select((row, i) => Entry(
            header.Select((name, col) => (name, value: col < row.Count ? row[col] : ""))
                .ToDictionary(f => f.name, f => (JsonNode?)JsonValue.Create(f.value)), i + 2))];
    }

    public static IReadOnlyList<CatalogEntry> ReadFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Path.GetExtension(path).Equals(".csv", StringComparison.OrdinalIgnoreCase)
            ? ReadCsv(new StreamReader(stream, Encoding.UTF8))
            : ReadJson(stream);
    }

    public static IReadOnlyList<CatalogEntry> DemoCatalog()
    {
        using var stream = typeof(CatalogImporter).Assembly.GetManifestResourceStream("CyberHub.Ai.Catalog.demo-catalog.json")
            ?? throw new InvalidOperationException("The demo catalog is missing from the assembly.");
        return ReadJson(stream);
    }

    private static CatalogEntry Entry(Dictionary<string, JsonNode?> fields, int line)
    {
        string Field(string name) => fields.TryGetValue(name, out var v) && v is JsonValue value && value.TryGetValue<string>(out var s) ? s.Trim() : "";
        try
        {
            var metadata = new JsonObject();
            foreach (var (name, value) in fields.Where(f => !KnownFields.Contains(f.Key)))
            {
                metadata[name] = value?.DeepClone();
            }
            var title = ContentRules.Text(Field("title"), "title", CatalogService.MaxTitleLength);
            if (title.Length == 0)
            {
                throw ApiException.BadRequest($"title: 1 to {CatalogService.MaxTitleLength} characters.");
            }
            var description = ContentRules.Text(Field("description"), "description", CatalogService.MaxDescriptionLength, multiline: true);
            ContentRules.Metadata(metadata);
            return new CatalogEntry(ContentRules.ContentType(Field("content_type")), ContentRules.ContentId(Field("content_id")), title, description, metadata);
        }
        catch (ApiException e)
        {
            throw new FormatException($"Item {line}: {e.Message}");
        }
    }
}
