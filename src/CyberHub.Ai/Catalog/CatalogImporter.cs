using System.Text.Json.Nodes;
using CyberHub.Ai.Embeddings;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Errors;

namespace CyberHub.Ai.Catalog;

/// <summary>One catalog line: what it is, what it is called, what it teaches; other fields become metadata.</summary>
public sealed record CatalogEntry(string ContentType, string ContentId, string Title, string Description, JsonObject Metadata);

/// <summary>
/// Loads whole catalogs (the demo catalog, or a JSON or CSV file) in batches: each item is embedded
/// from its title and description and stored as one chunk. A large import (<see cref="BulkGraphThreshold"/> items or
/// more) defers the item graph and builds it once at the end: kept item by item, each write would scan the catalog.
/// </summary>
public sealed class CatalogImporter(IEmbeddingGenerator embeddings, IVectorStore store, TimeProvider clock)
{
    public const int BatchSize = 32;

    public const int BulkGraphThreshold = 1000;

    public async Task<int> ImportAsync(IReadOnlyList<CatalogEntry> entries, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var graph = entries.Count >= BulkGraphThreshold ? ItemGraph.TryOf(store) : null;
        if (graph is not null)
        {
            await graph.DeferAsync(cancellationToken);
        }
        var done = await ImportEachAsync(entries, progress, cancellationToken);
        if (graph is not null)
        {
            // Interrupted before this, the graph stays deferred and the next start builds it.
            await graph.RebuildAsync(cancellationToken);
        }
        return done;
    }

    private async Task<int> ImportEachAsync(IReadOnlyList<CatalogEntry> entries, IProgress<int>? progress, CancellationToken cancellationToken)
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

    public static IReadOnlyList<CatalogEntry> ReadJson(Stream json) => Entries(CatalogFile.ReadJson(json));

    public static IReadOnlyList<CatalogEntry> ReadCsv(TextReader csv) => Entries(CatalogFile.ReadCsv(csv));

    public static IReadOnlyList<CatalogEntry> ReadFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Entries(CatalogFile.Read(path, stream));
    }

    public static IReadOnlyList<CatalogEntry> DemoCatalog()
    {
        using var stream = typeof(CatalogImporter).Assembly.GetManifestResourceStream("CyberHub.Ai.Catalog.demo-catalog.json")
            ?? throw new InvalidOperationException("The demo catalog is missing from the assembly.");
        return ReadJson(stream);
    }

    private static IReadOnlyList<CatalogEntry> Entries(IReadOnlyList<CatalogRow> rows) => [.. rows.Select(Entry)];

    /// <summary>The row as an item, checked by the rules the API applies; <see cref="FormatException"/> naming the item otherwise.</summary>
    private static CatalogEntry Entry(CatalogRow row)
    {
        if (row.Problem is not null)
        {
            throw new FormatException(row.Problem);
        }
        try
        {
            var metadata = row.Metadata();
            var title = ContentRules.Text(row.Text("title"), "title", CatalogService.MaxTitleLength);
            if (title.Length == 0)
            {
                throw ApiException.BadRequest($"title: 1 to {CatalogService.MaxTitleLength} characters.");
            }
            var description = ContentRules.Text(row.Text("description"), "description", CatalogService.MaxDescriptionLength, multiline: true);
            // Kept in the form it is stored in (numbers in plain decimal), as the API would store it.
            var stored = JsonNode.Parse(ContentRules.Metadata(metadata))!.AsObject();
            return new CatalogEntry(ContentRules.ContentType(row.Text("content_type")), ContentRules.ContentId(row.Text("content_id")), title, description, stored);
        }
        catch (ApiException e)
        {
            throw new FormatException($"Item {row.Number}: {e.Message}");
        }
    }
}
