using System.Text.Json.Nodes;
using CyberHub.Ai.Embeddings;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Errors;

namespace CyberHub.Ai.Catalog;

/// <summary>
/// One catalog line: what it is, what it is called, what it teaches; other fields become metadata. <paramref name="Number"/>
/// is its place in the file (as in <see cref="CatalogRow.Number"/>), for messages.
/// </summary>
public sealed record CatalogEntry(string ContentType, string ContentId, string Title, string Description, JsonObject Metadata, int Number = 0)
{
    public ContentKey Key => new(ContentType, ContentId);
}

/// <summary>
/// Loads whole catalogs (the demo catalog, or a JSON or CSV file) in batches: each item is embedded
/// from its title and description and stored as one chunk. The prerequisites of the file's items are checked first,
/// against the file's items and the store together, so that items may require each other in any order; a file with an
/// unknown reference or a cycle stores nothing. A large import (<see cref="BulkGraphThreshold"/> items or more) defers
/// the item graph and builds it once at the end: kept item by item, each write would scan the catalog.
/// </summary>
public sealed class CatalogImporter(IEmbeddingGenerator embeddings, IVectorStore store, TimeProvider clock)
{
    public const int BatchSize = 32;

    public const int BulkGraphThreshold = 1000;

    public async Task<int> ImportAsync(IReadOnlyList<CatalogEntry> entries, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        await CheckPrerequisitesAsync(entries, cancellationToken);
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
                // The file was checked as a whole before; each item is checked again in its write's transaction against
                // what is stored by then, so a write made meanwhile through the API cannot close a cycle with it.
                var prerequisites = ContentPaths.PrerequisitesOf(e.Metadata).Select(r => ContentFacts.Reference(r)).OfType<ContentKey>().ToList();
                await store.UpsertAsync(new ContentRecord(e.ContentType, e.ContentId, e.Title, e.Description, e.Metadata.ToJsonString(), 1, created, now),
                    [vectors[i]], ContentWriter.Platform, null, null, cancellationToken, PrerequisiteCheck.InTransaction(e.Key, prerequisites, unknownAllowed: true));
            }
            done += batch.Length;
            progress?.Report(done);
        }
        return done;
    }

    /// <summary>
    /// <see cref="FormatException"/> naming the item when one of its prerequisites is neither in <paramref name="entries"/>
    /// nor in the store, or leads back to it. An item of the file replaces the stored one, so its prerequisites count.
    /// </summary>
    public async Task CheckPrerequisitesAsync(IReadOnlyList<CatalogEntry> entries, CancellationToken cancellationToken = default)
    {
        var inFile = new Dictionary<ContentKey, IReadOnlyList<ContentKey>>();
        foreach (var e in entries)
        {
            inFile[e.Key] = [.. ContentPaths.PrerequisitesOf(e.Metadata).Select(r => ContentFacts.Reference(r)).OfType<ContentKey>()];
        }
        if (inFile.Values.All(p => p.Count == 0))
        {
            return;
        }
        var stored = new Dictionary<ContentKey, IReadOnlyList<ContentKey>?>();
        var fromStore = PrerequisiteCheck.From(store);
        async Task<IReadOnlyDictionary<ContentKey, IReadOnlyList<ContentKey>>> LookupAsync(IReadOnlyCollection<ContentKey> keys, CancellationToken ct)
        {
            var unknown = keys.Where(k => !inFile.ContainsKey(k) && !stored.ContainsKey(k)).Distinct().ToList();
            if (unknown.Count > 0)
            {
                var found = await fromStore(unknown, ct);
                foreach (var key in unknown)
                {
                    stored[key] = found.GetValueOrDefault(key);
                }
            }
            var known = new Dictionary<ContentKey, IReadOnlyList<ContentKey>>();
            foreach (var key in keys)
            {
                if ((inFile.GetValueOrDefault(key) ?? stored[key]) is { } before)
                {
                    known[key] = before;
                }
            }
            return known;
        }
        foreach (var e in entries.Where(e => inFile[e.Key].Count > 0))
        {
            try
            {
                await PrerequisiteCheck.CheckAsync(e.Key, inFile[e.Key], LookupAsync, cancellationToken, "is neither in the file nor in the catalog");
            }
            catch (ApiException problem)
            {
                throw new FormatException($"Item {e.Number}: {problem.Message}");
            }
        }
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
            var key = new ContentKey(ContentRules.ContentType(row.Text("content_type")), ContentRules.ContentId(row.Text("content_id")));
            // Kept in the form it is stored in (numbers in plain decimal, level and prerequisites checked), as the API would store it.
            var stored = JsonNode.Parse(PrerequisiteCheck.Normalise(key, ContentRules.Metadata(metadata)).Metadata)!.AsObject();
            return new CatalogEntry(key.ContentType, key.ContentId, title, description, stored, row.Number);
        }
        catch (ApiException e)
        {
            throw new FormatException($"Item {row.Number}: {e.Message}");
        }
    }
}
