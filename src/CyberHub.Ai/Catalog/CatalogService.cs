using System.Security.Claims;
using System.Text.Json.Nodes;
using CyberHub.Ai.Embeddings;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.ServiceDefaults.Errors;
using CyberHub.ServiceDefaults.Idempotency;

namespace CyberHub.Ai.Catalog;

/// <summary>The content catalog: items with their embeddings, browsable and searchable by meaning and by words.</summary>
public sealed class CatalogService(
    IEmbeddingGenerator embeddings, QueryEmbeddings queries, IVectorStore store, CacheInvalidator invalidator, TimeProvider clock)
{
    public const int MaxTexts = 256;
    public const int MaxTextLength = 8_000;
    public const int MaxSearchLimit = 50;
    public const int MaxQueryLength = 1_000;
    public const int MaxTitleLength = 300;
    public const int MaxDescriptionLength = 4_000;

    public async Task<EmbeddingsResponse> EmbedAsync(EmbeddingsRequest request, CancellationToken cancellationToken)
    {
        var texts = Texts(request.Texts);
        var vectors = await embeddings.EmbedAsync(texts, cancellationToken);
        return new EmbeddingsResponse([.. texts.Select((t, i) => new EmbeddingItem(t, vectors[i]))], embeddings.ModelName, embeddings.Dimension);
    }

    public const string NotYourItem =
        "This item belongs to another author: a content creator may replace only the items they created (an admin may replace any).";

    public async Task<StoreEmbeddingsResponse> StoreAsync(StoreEmbeddingsRequest request, ClaimsPrincipal caller, CancellationToken cancellationToken) =>
        (await StoreAsync(request, caller, null, cancellationToken)).Response!;

    /// <summary>
    /// Who <paramref name="caller"/> writes as: admins and service clients (which act for the platform, as catalog
    /// imports do) may replace any item; content creators only the items they created. Each becomes the owner of the
    /// items it creates, by its token's <c>sub</c>.
    /// </summary>
    public static ContentWriter WriterOf(ClaimsPrincipal caller)
    {
        var subject = caller.FindFirstValue(CyberHubClaims.Subject);
        if (string.IsNullOrEmpty(subject))
        {
            throw ApiException.Unauthorized("Invalid token.");
        }
        return new ContentWriter(subject, caller.IsPrivileged());
    }

    /// <summary>
    /// Embeds and stores the item. With <paramref name="idempotency"/>, the key is claimed once the request is known to
    /// be valid (a refused request leaves the key unused), and its answer is stored in the transaction of the upsert;
    /// a request that fails gives the key back. The answer is the stored one when the key already has one.
    /// </summary>
    public async Task<(StoreEmbeddingsResponse? Response, IdempotentAnswer? Answer)> StoreAsync(
        StoreEmbeddingsRequest request, ClaimsPrincipal caller, IdempotentRequest? idempotency, CancellationToken cancellationToken)
    {
        var writer = WriterOf(caller);
        var texts = Texts(request.Texts);
        var contentType = ContentRules.ContentType(request.ContentType);
        var contentId = ContentRules.ContentId(request.ContentId);
        var title = ContentRules.Text(request.Title, "title", MaxTitleLength);
        var description = ContentRules.Text(request.Description, "description", MaxDescriptionLength, multiline: true);
        var key = new ContentKey(contentType, contentId);
        var (metadata, prerequisites) = PrerequisiteCheck.Normalise(key, ContentRules.Metadata(request.Metadata));
        // Checked here to refuse a bad write before its texts are embedded, and again by the write in its own transaction
        // under the catalog's write lock (PrerequisiteCheck.InTransaction): two writes at once that each close half of a
        // cycle cannot both commit.
        await PrerequisiteCheck.CheckAsync(key, prerequisites, PrerequisiteCheck.From(store), cancellationToken);

        // Refused before the key is claimed and the texts embedded; the write checks again in its transaction.
        if ((await store.GetAsync(key, cancellationToken)) is { } existing && !writer.MayReplace(existing.CreatedBy))
        {
            throw ApiException.Forbidden(NotYourItem);
        }
        var claim = idempotency is null ? null : await store.ClaimKeyAsync(idempotency, clock.GetUtcNow().UtcDateTime, cancellationToken);
        if (claim?.Answer is { } stored)
        {
            return (null, stored);
        }
        try
        {
            var vectors = await embeddings.EmbedAsync(texts, cancellationToken);
            var now = clock.GetUtcNow().UtcDateTime;
            var created = (await store.GetAsync(key, cancellationToken))?.CreatedAt ?? now;
            var record = new ContentRecord(
                contentType,
                contentId,
                title.Length > 0 ? title : Shorten(texts[0], MaxTitleLength),
                description.Length > 0 ? description : Shorten(texts[0], MaxDescriptionLength),
                metadata,
                texts.Count,
                created,
                now);
            IdempotentAnswer? answer = null;
            if (claim is not null)
            {
                // The chunk ids are known before the write, so the answer can commit with it.
                var chunkIds = Enumerable.Range(0, texts.Count).Select(i => ContentVectors.ChunkId(key, i)).ToList();
                answer = IdempotentAnswer.Json(StatusCodes.Status200OK, new StoreEmbeddingsResponse("success", chunkIds.Count, chunkIds));
            }
            IReadOnlyList<string> ids;
            try
            {
                ids = await store.UpsertAsync(record, vectors, writer, claim, answer, cancellationToken, PrerequisiteCheck.InTransaction(key, prerequisites));
            }
            catch (ContentOwnedByAnotherException)
            {
                // Another caller created the item since the check above.
                throw ApiException.Forbidden(NotYourItem);
            }
            await invalidator.InvalidateAsync(CacheTags.Catalog, cancellationToken);
            return (new StoreEmbeddingsResponse("success", ids.Count, ids), answer);
        }
        catch (Exception) when (claim is not null)
        {
            await ReleaseAsync(claim);
            throw;
        }
    }

    /// <summary>Best effort: a claim that cannot be given back now expires with its lease.</summary>
    private async Task ReleaseAsync(IdempotencyClaim claim)
    {
        try
        {
            await store.ReleaseKeyAsync(claim, CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The original failure is what the caller must hear about.
        }
    }

    public const int MaxTopicLength = 100;
    public const int MaxDurationFilter = 100_000;

    /// <summary>
    /// The catalog, filtered by the query parameters given (each checked: a bad one is a 400 naming it) and in the order
    /// <c>sort</c> asks for; see <see cref="ContentListQuery"/>.
    /// </summary>
    public async Task<PagedResponse<ContentItemDto>> ListAsync(ContentListParameters parameters, PageRequest page, HttpRequest http, CancellationToken cancellationToken)
    {
        var query = Parse(parameters);
        var (count, items) = await store.QueryAsync(query, page.Skip, page.PageSize, cancellationToken);
        return page.ToResponse(http, count, [.. items.Select(ToDto)]);
    }

    public async Task<ContentFacets> FacetsAsync(string? contentType, CancellationToken cancellationToken) =>
        await store.FacetsAsync(contentType is null ? null : ContentRules.ContentType(contentType), cancellationToken);

    public static ContentListQuery Parse(ContentListParameters p)
    {
        var type = p.ContentType is null ? null : ContentRules.ContentType(p.ContentType);
        string? level = null;
        if (p.Level is not null)
        {
            level = p.Level.Trim().ToLowerInvariant();
            if (!ContentPaths.Levels.Contains(level))
            {
                throw ApiException.BadRequest($"level: one of {string.Join(", ", ContentPaths.Levels)}.");
            }
        }
        string? topic = null;
        if (p.Topic is not null)
        {
            topic = p.Topic.Trim();
            if (topic.Length is 0 or > MaxTopicLength || ContentRules.HasControlCharacters(topic))
            {
                throw ApiException.BadRequest($"topic: 1 to {MaxTopicLength} characters, without control characters.");
            }
        }
        double? maxDuration = null;
        if (p.MaxDuration is not null)
        {
            if (!int.TryParse(p.MaxDuration.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var minutes)
                || minutes is < 1 or > MaxDurationFilter)
            {
                throw ApiException.BadRequest($"max_duration: a whole number of minutes from 1 to {MaxDurationFilter:N0}.");
            }
            maxDuration = minutes;
        }
        ContentKey? requires = null;
        if (p.Requires is not null)
        {
            if (ContentPaths.ReferenceProblem(p.Requires.Trim()) is { } problem)
            {
                throw ApiException.BadRequest($"requires: {problem}");
            }
            requires = ContentFacts.Reference(p.Requires.Trim());
        }
        var sort = p.Sort?.Trim().ToLowerInvariant() switch
        {
            null => ContentSort.Key,
            "level" => ContentSort.Level,
            "duration" => ContentSort.Duration,
            "title" => ContentSort.Title,
            _ => throw ApiException.BadRequest("sort: one of level, duration, title."),
        };
        return new ContentListQuery(type, level, topic, maxDuration, requires, sort);
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
        if (query.Length > MaxQueryLength)
        {
            throw ApiException.BadRequest($"query: at most {MaxQueryLength} characters.");
        }
        var limit = request.Limit ?? 10;
        if (limit is < 1 or > MaxSearchLimit)
        {
            throw ApiException.BadRequest($"limit must be between 1 and {MaxSearchLimit}.");
        }
        var type = request.ContentType is null ? null : ContentRules.ContentType(request.ContentType);
        var vector = await queries.EmbedAsync(query, cancellationToken);
        var answer = await new HybridSearch(store).SearchAsync(query, vector, limit, type, HybridSearchOptions.Default, cancellationToken);
        var results = answer.Hits.Select(h => new ContentSearchHit(h.Content.ContentId, h.Content.ContentType, h.Content.Title, h.Content.Description,
            Math.Round(h.Score, 4), Math.Round(h.Similarity, 4), h.LexicalMatch)).ToList();
        return new ContentSearchResponse(query, results, results.Count, answer.Matched);
    }

    /// <summary>The list's query parameters as given.</summary>
    public sealed record ContentListParameters(string? ContentType, string? Level = null, string? Topic = null, string? MaxDuration = null, string? Requires = null, string? Sort = null);

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
            if (ContentRules.HasControlCharacters(texts[i], multiline: true))
            {
                throw ApiException.BadRequest($"texts[{i}]: control characters other than line breaks and tabs are not allowed.");
            }
        }
        return texts;
    }

    private static string Shorten(string text, int maxLength) => text.Length <= maxLength ? text.Trim() : text[..maxLength].Trim();
}
