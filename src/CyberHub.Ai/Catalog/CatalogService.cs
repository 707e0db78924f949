using System.Text.Json.Nodes;
using CyberHub.Ai.Embeddings;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.ServiceDefaults.Errors;

namespace CyberHub.Ai.Catalog;

/// <summary>The content catalog: items with their embeddings, browsable and searchable by meaning.</summary>
public sealed class CatalogService(
    IEmbeddingGenerator embeddings, QueryEmbeddings queries, IVectorStore store, CacheInvalidator invalidator, TimeProvider clock)
{
    public const int MaxTexts = 256;
    public const int MaxTextLength = 8_000;
    public const int MaxSearchLimit = 50;

    public async Task<EmbeddingsResponse> EmbedAsync(EmbeddingsRequest request, CancellationToken cancellationToken)
    {
        var texts = Texts(request.Texts);
        var vectors = await embeddings.EmbedAsync(texts, cancellationToken);
        return new EmbeddingsResponse([.. texts.Select((t, i) => new EmbeddingItem(t, vectors[i]))], embeddings.ModelName, embeddings.Dimension);
    }

    public async Task<StoreEmbeddingsResponse> StoreAsync(StoreEmbeddingsRequest request, CancellationToken cancellationToken)
    {
        var texts = Texts(request.Texts);
        var contentType = ContentRules.ContentType(request.ContentType);
        var contentId = ContentRules.ContentId(request.ContentId);
        var title = Text(request.Title, "title", 300);
        var description = Text(request.Description, "description", 4_000);
        var metadata = ContentRules.Metadata(request.Metadata);

        var vectors = await embeddings.EmbedAsync(texts, cancellationToken);
        var key = new ContentKey(contentType, contentId);
        var now = clock.GetUtcNow().UtcDateTime;
        var created = (await store.GetAsync(key, cancellationToken))?.CreatedAt ?? now;
        var record = new ContentRecord(
            contentType,
            contentId,
            title.Length > 0 ? title : Shorten(texts[0], 300),
            description.Length > 0 ? description : Shorten(texts[0], 4_000),
            metadata,
            texts.Count,
            created,
            now);
        var ids = await store.UpsertAsync(record, vectors, cancellationToken);
        await invalidator.InvalidateAsync(CacheTags.Catalog, cancellationToken);
        return new StoreEmbeddingsResponse("success", ids.Count, ids);
    }

    public async Task<PagedResponse<ContentItemDto>> ListAsync(string? contentType, PageRequest page, HttpRequest http, CancellationToken cancellationToken)
    {
        var type = contentType is null ? null : ContentRules.ContentType(contentType);
        var (count, items) = await store.ListAsync(type, page.Skip, page.PageSize, cancellationToken);
        return page.ToResponse(http, count, [.. items.Select(ToDto)]);
    }

    public async Task<ContentItemDto> GetAsync(string contentType, string contentId, CancellationToken cancellationToken) =>
        ToDto(await store.GetAsync(new ContentKey(contentType, contentId), cancellationToken) ?? throw ApiException.NotFound("Content not found."));

    public async Task DeleteAsync(string contentType, string contentId, CancellationToken cancellationToken)
    {
        if (!await store.DeleteAsync(new ContentKey(contentType, contentId), cancellationToken))
        {
            throw ApiException.NotFound("Content not found.");
        }
        await invalidator.InvalidateAsync(CacheTags.Catalog, cancellationToken);
    }

    public async Task<ContentSearchResponse> SearchAsync(ContentSearchRequest request, CancellationToken cancellationToken)
    {
        var query = request.Query?.Trim();
        if (string.IsNullOrEmpty(query))
        {
            throw ApiException.BadRequest("query is required.");
        }
        if (query.Length > 1_000)
        {
            throw ApiException.BadRequest("query: at most 1000 characters.");
        }
        var limit = request.Limit ?? 10;
        if (limit is < 1 or > MaxSearchLimit)
        {
            throw ApiException.BadRequest($"limit must be between 1 and {MaxSearchLimit}.");
        }
        var type = request.ContentType is null ? null : ContentRules.ContentType(request.ContentType);
        var vector = await queries.EmbedAsync(query, cancellationToken);
        var hits = await store.SearchAsync(vector, limit, type, cancellationToken: cancellationToken);
        var results = hits.Select(h => new ContentSearchHit(h.Content.ContentId, h.Content.ContentType, h.Content.Title, h.Content.Description, Math.Round(h.Score, 4))).ToList();
        return new ContentSearchResponse(query, results, results.Count);
    }

    public static ContentItemDto ToDto(ContentRecord r) => new(
        r.ContentType, r.ContentId, r.Title, r.Description, JsonNode.Parse(r.Metadata)?.AsObject() ?? [], r.ChunkCount, r.CreatedAt, r.UpdatedAt);

    private static IReadOnlyList<string> Texts(IReadOnlyList<string>? texts)
    {
        if (texts is null || texts.Count == 0)
        {
            throw ApiException.BadRequest("texts: give between 1 and 256 texts.");
        }
        if (texts.Count > MaxTexts)
        {
            throw ApiException.BadRequest($"texts: at most {MaxTexts} texts per request (got {texts.Count}).");
        }
        for (var i = 0; i < texts.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(texts[i]))
            {
                throw ApiException.BadRequest($"texts[{i}] is empty: each text needs 1 to {MaxTextLength} characters.");
            }
            if (texts[i].Length > MaxTextLength)
            {
                throw ApiException.BadRequest($"texts[{i}] has {texts[i].Length} characters: each text may have at most {MaxTextLength}.");
            }
        }
        return texts;
    }

    private static string Text(string? value, string field, int maxLength)
    {
        var text = value?.Trim() ?? "";
        return text.Length <= maxLength ? text : throw ApiException.BadRequest($"{field}: at most {maxLength} characters.");
    }

    private static string Shorten(string text, int maxLength) => text.Length <= maxLength ? text.Trim() : text[..maxLength].Trim();
}
