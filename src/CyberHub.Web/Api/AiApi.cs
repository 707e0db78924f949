using CyberHub.Contracts;

namespace CyberHub.Web.Api;

/// <summary>Filters of the catalog list (<c>GET /content/</c>); null leaves one out.</summary>
public sealed record CatalogFilter(string? ContentType = null, string? Level = null, string? Topic = null, int? MaxMinutes = null, string? Requires = null, string? Sort = null);

/// <summary>The AI service, called straight from the browser with the learner's token: catalog, search, recommendations, insights.</summary>
public sealed class AiApi(HttpClient http) : ApiClient(http, "AI")
{
    public Task<PagedResponse<ContentItemDto>> ContentAsync(int page, int pageSize, string? contentType = null, CancellationToken ct = default) =>
        SendAsync<PagedResponse<ContentItemDto>>(HttpMethod.Get,
            Query("api/v1/content/", ("content_type", contentType), ("page", page), ("page_size", pageSize)), cancellationToken: ct);

    /// <summary>The catalog filtered by its facets (each optional) and sorted (level, duration or title).</summary>
    public Task<PagedResponse<ContentItemDto>> ContentAsync(int page, int pageSize, CatalogFilter filter, CancellationToken ct = default) =>
        SendAsync<PagedResponse<ContentItemDto>>(HttpMethod.Get,
            Query("api/v1/content/", ("content_type", filter.ContentType), ("level", filter.Level), ("topic", filter.Topic),
                ("max_duration", filter.MaxMinutes), ("requires", filter.Requires), ("sort", filter.Sort), ("page", page), ("page_size", pageSize)),
            cancellationToken: ct);

    public Task<ContentFacets> FacetsAsync(CancellationToken ct = default) =>
        SendAsync<ContentFacets>(HttpMethod.Get, "api/v1/content/facets", cancellationToken: ct);

    public Task<ContentItemDto> ContentItemAsync(string contentType, string contentId, CancellationToken ct = default) =>
        SendAsync<ContentItemDto>(HttpMethod.Get, $"api/v1/content/{Segment(contentType)}/{Segment(contentId)}", cancellationToken: ct);

    public Task<ContentSearchResponse> SearchAsync(ContentSearchRequest request, CancellationToken ct = default) =>
        SendAsync<ContentSearchResponse>(HttpMethod.Post, "api/v1/content/search", request, cancellationToken: ct);

    /// <summary>Adds or replaces a catalog item (seed flow 5); the idempotency key makes a retry store it once.</summary>
    public Task<StoreEmbeddingsResponse> StoreAsync(StoreEmbeddingsRequest request, string idempotencyKey, CancellationToken ct = default) =>
        SendAsync<StoreEmbeddingsResponse>(HttpMethod.Post, "api/v1/embeddings/store", request, r => r.Headers.Add("Idempotency-Key", idempotencyKey), ct);

    public Task<RecommendationsResponse> RecommendationsAsync(long userId, int limit = 6, string? contentType = null, CancellationToken ct = default) =>
        SendAsync<RecommendationsResponse>(HttpMethod.Get,
            Query($"api/v1/recommendations/{userId}", ("content_type", contentType), ("limit", limit)), cancellationToken: ct);

    /// <summary>Analyses the learner's progress now (seed flow 6).</summary>
    public Task<PersonalityAnalysis> AnalyzeAsync(long userId, CancellationToken ct = default) =>
        SendAsync<PersonalityAnalysis>(HttpMethod.Post, "api/v1/personality/analyze", new PersonalityRequest(userId, null), cancellationToken: ct);
}
