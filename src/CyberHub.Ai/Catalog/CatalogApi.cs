using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Idempotency;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace CyberHub.Ai.Catalog;

public static class CatalogApi
{
    public static IEndpointRouteBuilder MapCatalogApi(this IEndpointRouteBuilder app)
    {
        var embeddings = app.MapGroup("/api/v1/embeddings").WithTags("Embeddings").RequireAuthorization();
        embeddings.MapPost("/", Embed).WithSummary("Sentence embeddings (all-MiniLM-L6-v2, 384 dimensions) for 1-256 texts");
        embeddings.MapPost("/store", Store).RequireAuthorization(Policies.ContentAuthor)
            .WithSummary("Embed a content item's texts and store it in the catalog (replaces an earlier version); Idempotency-Key honoured");

        var content = app.MapGroup("/api/v1/content").WithTags("Catalog").RequireAuthorization();
        content.MapGet("/", List).WithSummary("The catalog, paged; filters content_type, level, topic, max_duration (minutes), requires (a prerequisite reference); sort level, duration or title");
        content.MapGet("/facets", Facets).WithSummary("The levels and topics the catalog's items carry, with counts");
        content.MapPost("/search", Search).WithSummary("Search the catalog by meaning and by words; matched=false and no results when nothing is relevant");
        content.MapGet("/{contentType}/{contentId}", Get).WithSummary("One catalog item");
        content.MapDelete("/{contentType}/{contentId}", Delete).RequireAuthorization(Policies.Admin).WithSummary("Remove an item (admin)");
        return app;
    }

    private static async Task<Ok<EmbeddingsResponse>> Embed(EmbeddingsRequest request, CatalogService catalog, CancellationToken ct) =>
        TypedResults.Ok(await catalog.EmbedAsync(request, ct));

    /// <summary>With an <c>Idempotency-Key</c>, a retry gets the first answer and stores nothing again.</summary>
    private static async Task<Results<Ok<StoreEmbeddingsResponse>, IdempotentResult>> Store(
        StoreEmbeddingsRequest request, CatalogService catalog, HttpContext http, CancellationToken ct)
    {
        var (response, answer) = await catalog.StoreAsync(request, http.User, IdempotentRequest.From(http, request), ct);
        return answer is not null ? answer.ToResult() : TypedResults.Ok(response!);
    }

    private static async Task<Ok<PagedResponse<ContentItemDto>>> List(
        CatalogService catalog, HttpRequest http, CancellationToken ct,
        [FromQuery(Name = "content_type")] string? contentType = null,
        [FromQuery] string? level = null,
        [FromQuery] string? topic = null,
        [FromQuery(Name = "max_duration")] string? maxDuration = null,
        [FromQuery] string? requires = null,
        [FromQuery] string? sort = null,
        [FromQuery] int? page = null,
        [FromQuery(Name = "page_size")] int? pageSize = null) =>
        TypedResults.Ok(await catalog.ListAsync(new CatalogService.ContentListParameters(contentType, level, topic, maxDuration, requires, sort),
            PageRequest.From(page, pageSize), http, ct));

    private static async Task<Ok<ContentFacets>> Facets(CatalogService catalog, CancellationToken ct,
        [FromQuery(Name = "content_type")] string? contentType = null) =>
        TypedResults.Ok(await catalog.FacetsAsync(contentType, ct));

    private static async Task<Ok<ContentSearchResponse>> Search(ContentSearchRequest request, CatalogService catalog, CancellationToken ct) =>
        TypedResults.Ok(await catalog.SearchAsync(request, ct));

    private static async Task<Ok<ContentItemDto>> Get(string contentType, string contentId, CatalogService catalog, CancellationToken ct) =>
        TypedResults.Ok(await catalog.GetAsync(contentType, contentId, ct));

    private static async Task<NoContent> Delete(string contentType, string contentId, CatalogService catalog, CancellationToken ct)
    {
        await catalog.DeleteAsync(contentType, contentId, ct);
        return TypedResults.NoContent();
    }
}
