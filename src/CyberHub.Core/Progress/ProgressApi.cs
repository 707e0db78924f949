using System.Globalization;
using System.Security.Claims;
using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Errors;
using CyberHub.ServiceDefaults.Idempotency;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using CyberHub.ServiceDefaults.OpenApi;

namespace CyberHub.Core.Progress;

public static class ProgressApi
{
    public static IEndpointRouteBuilder MapProgressApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/progress").WithTags("Progress").RequireAuthorization();
        group.MapPost("/", Create).WithSummary("Record progress on a content item (one record per item); Idempotency-Key honoured").WithETag();
        group.MapGet("/", List).WithSummary("Progress records, filtered and paged; learners see only their own");
        group.MapGet("/{id:long}/", Get).WithSummary("One progress record; its ETag is the record version").WithETag();
        group.MapPatch("/{id:long}/", Update).WithSummary("Update status, completion, score, time or metadata (If-Match honoured)").WithETag(ifMatch: true);
        group.MapDelete("/{id:long}/", Delete).WithSummary("Delete a progress record");
        return app;
    }

    /// <summary>With an <c>Idempotency-Key</c>, the answer is stored with the record and a retry gets it again.</summary>
    private static async Task<Results<Created<ProgressDto>, IdempotentResult>> Create(
        CreateProgressRequest request, ClaimsPrincipal caller, ProgressService progress, HttpContext http, CancellationToken ct)
    {
        var userId = caller.AccountId();
        var (record, answer) = await progress.CreateAsync(userId, request, IdempotentRequest.From(http, request), ct);
        if (answer is not null)
        {
            return answer.ToResult();
        }
        SetETag(http.Response, record!.Version);
        return TypedResults.Created(ProgressService.Location(record.Id), ProgressService.ToDto(record));
    }

    private static async Task<Ok<PagedResponse<ProgressDto>>> List(
        ClaimsPrincipal caller, ProgressService progress, HttpRequest http, CancellationToken ct,
        [FromQuery] long? user = null,
        [FromQuery(Name = "content_type")] string? contentType = null,
        [FromQuery] string? status = null,
        [FromQuery] int? page = null,
        [FromQuery(Name = "page_size")] int? pageSize = null) =>
        TypedResults.Ok(await progress.ListAsync(new ProgressFilter(user, contentType, status), PageRequest.From(page, pageSize), caller, http, ct));

    private static async Task<Ok<ProgressDto>> Get(long id, ClaimsPrincipal caller, ProgressService progress, HttpResponse response, CancellationToken ct)
    {
        var record = await progress.GetAsync(id, caller, ct);
        SetETag(response, record.Version);
        return TypedResults.Ok(ProgressService.ToDto(record));
    }

    private static async Task<Ok<ProgressDto>> Update(
        long id, UpdateProgressRequest request, ClaimsPrincipal caller, ProgressService progress, HttpContext http, CancellationToken ct)
    {
        var record = await progress.UpdateAsync(id, request, ParseIfMatch(http.Request), caller, ct);
        SetETag(http.Response, record.Version);
        return TypedResults.Ok(ProgressService.ToDto(record));
    }

    private static async Task<NoContent> Delete(long id, ClaimsPrincipal caller, ProgressService progress, CancellationToken ct)
    {
        await progress.DeleteAsync(id, caller, ct);
        return TypedResults.NoContent();
    }

    private static void SetETag(HttpResponse response, int version) => response.Headers.ETag = ProgressService.ETag(version);

    /// <summary>The version named by If-Match (<c>"3"</c> or <c>W/"3"</c>); <c>*</c> or no header means any.</summary>
    private static int? ParseIfMatch(HttpRequest request)
    {
        var header = request.Headers.IfMatch.ToString().Trim();
        if (header.Length == 0 || header == "*")
        {
            return null;
        }
        var tag = header.StartsWith("W/", StringComparison.Ordinal) ? header[2..] : header;
        return tag.Length > 2 && tag[0] == '"' && tag[^1] == '"'
            && int.TryParse(tag[1..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            ? version
            : throw ApiException.BadRequest("If-Match must be an ETag of this record, as sent in its ETag header.");
    }
}
