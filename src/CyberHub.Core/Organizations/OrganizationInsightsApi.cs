using System.Globalization;
using System.Security.Claims;
using System.Text;
using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace CyberHub.Core.Organizations;

/// <summary>A cohort's insights, for the organization's owners and instructors, and admins (see <see cref="OrganizationInsightsService"/>).</summary>
public static class OrganizationInsightsApi
{
    public static IEndpointRouteBuilder MapOrganizationInsightsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/organizations/{id:long}/insights").WithTags("Organizations").RequireAuthorization();
        group.MapGet("/", Summary).WithSummary("The cohort's headline figures (owners, instructors, admins)");
        group.MapGet("/learners/", Learners).WithSummary("The cohort's learners with their stuck items, sorted and paged");
        group.MapGet("/items/", Items).WithSummary("Per content item: started, completed, completion rate, scores, median time, stuck");
        group.MapGet("/export.csv", Export).WithSummary("One CSV row per learner and item (RFC 4180, UTF-8, formulas neutralised)");
        return app;
    }

    private static async Task<Ok<CohortSummaryDto>> Summary(
        long id, ClaimsPrincipal caller, OrganizationInsightsService insights, CancellationToken ct,
        [FromQuery(Name = "idle_days")] string? idleDays = null)
    {
        var days = OrganizationInsightsService.ParseIdleDays(idleDays);
        await insights.EnsureReaderAsync(id, caller.ActorId(), caller.IsPrivileged(), ct);
        return TypedResults.Ok(await insights.SummaryAsync(id, days, ct));
    }

    private static async Task<PagedJson<LearnerInsightDto>> Learners(
        long id, ClaimsPrincipal caller, OrganizationInsightsService insights, HttpRequest http, CancellationToken ct,
        [FromQuery] int? page = null, [FromQuery(Name = "page_size")] int? pageSize = null,
        [FromQuery] string? sort = null, [FromQuery(Name = "idle_days")] string? idleDays = null)
    {
        var paging = PageRequest.From(page, pageSize);
        var order = InsightSort.Parse(sort, InsightRules.LearnerSorts, "username");
        var days = OrganizationInsightsService.ParseIdleDays(idleDays);
        await insights.EnsureReaderAsync(id, caller.ActorId(), caller.IsPrivileged(), ct);
        return await insights.LearnersAsync(id, paging, order, days, http, ct);
    }

    private static async Task<Ok<PagedResponse<ItemInsightDto>>> Items(
        long id, ClaimsPrincipal caller, OrganizationInsightsService insights, HttpRequest http, CancellationToken ct,
        [FromQuery] int? page = null, [FromQuery(Name = "page_size")] int? pageSize = null,
        [FromQuery] string? sort = null, [FromQuery(Name = "idle_days")] string? idleDays = null)
    {
        var paging = PageRequest.From(page, pageSize);
        var order = InsightSort.Parse(sort, InsightRules.ItemSorts, "-stuck");
        var days = OrganizationInsightsService.ParseIdleDays(idleDays);
        await insights.EnsureReaderAsync(id, caller.ActorId(), caller.IsPrivileged(), ct);
        return TypedResults.Ok(await insights.ItemsAsync(id, paging, order, days, http, ct));
    }

    private static async Task<PushStreamHttpResult> Export(
        long id, ClaimsPrincipal caller, OrganizationInsightsService insights, CancellationToken ct)
    {
        // Checked before the first byte, so that a refusal is still a {"detail"} answer.
        await insights.EnsureReaderAsync(id, caller.ActorId(), caller.IsPrivileged(), ct);
        return TypedResults.Stream(async body =>
        {
            await using var writer = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true);
            writer.NewLine = "\r\n";
            await writer.WriteLineAsync(string.Join(',', CsvColumns));
            await foreach (var row in insights.ExportAsync(id, ct))
            {
                await writer.WriteLineAsync(CsvCells.Row(
                    CsvCells.Number(row.UserId), row.Username, row.ContentType, row.ContentId,
                    row.Status is { } status ? ProgressStatusText(status) : null,
                    CsvCells.Number(row.CompletionPercentage), CsvCells.Number(row.Score), CsvCells.Number(row.TimeSpentSeconds),
                    CsvCells.Time(row.StartedAt), CsvCells.Time(row.CompletedAt), CsvCells.Time(row.UpdatedAt)));
            }
        }, "text/csv; charset=utf-8", $"organization-{id}-progress.csv");
    }

    private static readonly string[] CsvColumns =
    [
        "user_id", "username", "content_type", "content_id", "status", "completion_percentage", "score", "time_spent_seconds",
        "started_at", "completed_at", "updated_at",
    ];

    private static string ProgressStatusText(ProgressStatus status) => status switch
    {
        ProgressStatus.NotStarted => "not_started",
        ProgressStatus.InProgress => "in_progress",
        ProgressStatus.Completed => "completed",
        _ => status.ToString(),
    };
}

/// <summary>RFC 4180 cells, with text that a spreadsheet would run as a formula made inert.</summary>
public static class CsvCells
{
    public static string Row(params string?[] cells) => string.Join(',', cells.Select(Cell));

    /// <summary>
    /// A cell beginning with =, +, -, @, tab or carriage return is prefixed with an apostrophe (OWASP's advice against
    /// CSV injection); one holding a comma, quote or line break is quoted, its quotes doubled.
    /// </summary>
    public static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }
        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }
        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    // Numbers and times are written by this class, never negative or formula-like; they are passed through Cell unchanged.
    public static string? Number(double? value) => value?.ToString("0.####", CultureInfo.InvariantCulture);

    public static string? Number(long? value) => value?.ToString(CultureInfo.InvariantCulture);

    public static string? Time(DateTime? value) =>
        value is { } v ? DateTime.SpecifyKind(v, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : null;
}
