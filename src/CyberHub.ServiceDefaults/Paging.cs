using System.Globalization;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.ServiceDefaults;

/// <summary>A validated <c>page</c> / <c>page_size</c> pair (1-based pages).</summary>
public readonly record struct PageRequest(int Page, int PageSize)
{
    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;

    public int Skip => (Page - 1) * PageSize;

    public static PageRequest From(int? page, int? pageSize)
    {
        if (page is < 1)
        {
            throw ApiException.BadRequest("page must be 1 or more.");
        }
        if (pageSize is < 1 or > MaxPageSize)
        {
            throw ApiException.BadRequest($"page_size must be between 1 and {MaxPageSize}.");
        }
        var request = new PageRequest(page ?? 1, pageSize ?? DefaultPageSize);
        // A page so far out that its offset overflows lies past the end of any list: the same 404 as any such page.
        return (long)(request.Page - 1) * request.PageSize <= int.MaxValue ? request : throw ApiException.NotFound("Invalid page.");
    }

    /// <summary>
    /// The page as <c>{"count","next","previous","results"}</c> with absolute links that keep the
    /// request's other filters. A page past the end is 404, as in Django REST framework.
    /// </summary>
    public PagedResponse<T> ToResponse<T>(HttpRequest request, int count, IReadOnlyList<T> results)
    {
        if (Page > 1 && Skip >= count)
        {
            throw ApiException.NotFound("Invalid page.");
        }
        var next = Skip + results.Count < count ? Link(request, Page + 1) : null;
        var previous = Page > 1 ? Link(request, Page - 1) : null;
        return new PagedResponse<T>(count, next, previous, results);
    }

    /// <summary>
    /// The service's configured public address (<see cref="PublicBaseUrl"/>) with the request's path and query: never
    /// the request's <c>Host</c> or <c>X-Forwarded-Host</c>, which the client chooses. Without one, a link relative to
    /// the host.
    /// </summary>
    private static string Link(HttpRequest request, int page)
    {
        var query = QueryHelpers.ParseQuery(request.QueryString.Value);
        query["page"] = page.ToString(CultureInfo.InvariantCulture);
        var builder = new QueryBuilder(query.SelectMany(kv => kv.Value.Select(v => KeyValuePair.Create(kv.Key, v ?? ""))));
        var origin = request.HttpContext.RequestServices.GetService<PublicBaseUrl>()?.Value ?? "";
        return $"{origin}{request.Path.ToUriComponent()}{builder.ToQueryString()}";
    }
}
