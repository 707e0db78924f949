using System.Globalization;
using System.Runtime.CompilerServices;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.EntityFrameworkCore;

namespace CyberHub.Core.Organizations;

/// <summary>The learners page's and items page's validated sort: a key of the list and a direction.</summary>
public readonly record struct InsightSort(string Key, bool Descending)
{
    public static InsightSort Parse(string? value, IReadOnlyList<string> keys, string fallback)
    {
        var text = string.IsNullOrWhiteSpace(value) ? fallback : value.Trim();
        var descending = text.StartsWith('-');
        var key = descending ? text[1..] : text;
        return keys.Contains(key, StringComparer.Ordinal)
            ? new InsightSort(key, descending)
            : throw ApiException.BadRequest($"sort must be one of {string.Join(", ", keys)}, each optionally preceded by - for descending.");
    }
}

/// <summary>
/// A cohort's progress, for its owners and instructors (and admins). Every view is computed by the database, in one
/// statement over the organization's learners joined to their progress records (plus one for the page's stuck
/// items, or the weekly completions), using the primary key of organization_members and the
/// (UserId, ContentType, ContentId) index of progress; nothing is aggregated in the process. The SQL is plain enough
/// for both SQLite and PostgreSQL: thresholds are computed here and passed as parameters, and the median uses
/// window functions rather than a provider's percentile function.
/// </summary>
public sealed class OrganizationInsightsService(CoreDbContext db, TimeProvider clock)
{
    // The stored names of the progress statuses (EnumToStringConverter).
    private const string InProgress = nameof(ProgressStatus.InProgress);
    private const string Completed = nameof(ProgressStatus.Completed);
    private const string NotStarted = nameof(ProgressStatus.NotStarted);

    /// <summary>
    /// The organization's learners, as a subquery in each statement rather than a common table expression: referenced
    /// twice, a CTE is materialized, and both SQLite (an automatic index) and PostgreSQL (a hash join) then read every
    /// progress record of every organization; inline, each statement walks the organization's members by their primary
    /// key and each member's records by the (UserId, ...) index. {0} is the organization.
    /// </summary>
    private const string Learners = $"""
        (SELECT m."UserId" AS "UserId", u."Username" AS "Username", u."NormalizedUsername" AS "SortName"
         FROM organization_members m JOIN users u ON u."Id" = m."UserId"
         WHERE m."OrganizationId" = {"{0}"} AND m."Role" = '{OrganizationRoles.Member}' AND u."DeletedAt" IS NULL)
        """;

    /// <summary>1 when the record (alias p) is stuck: in progress and untouched since {1}, or started and scored below the passing score.</summary>
    private static readonly string StuckCase = string.Create(CultureInfo.InvariantCulture, $"""
        CASE WHEN (p."Status" = '{InProgress}' AND p."UpdatedAt" <= {"{1}"})
                  OR (p."Status" <> '{NotStarted}' AND p."Score" < {InsightRules.PassingScore}) THEN 1 ELSE 0 END
        """);

    public static int ParseIdleDays(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return InsightRules.DefaultIdleDays;
        }
        return int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days <= InsightRules.MaxIdleDays
            ? days
            : throw ApiException.BadRequest($"idle_days must be a whole number from 0 to {InsightRules.MaxIdleDays}.");
    }

    /// <summary>
    /// Owners and instructors of the organization, and admins, may read its insights. A member is 403; anyone else
    /// gets the same 404 as for an organization that does not exist, so they cannot tell whether it does.
    /// </summary>
    public async Task EnsureReaderAsync(long id, long callerId, bool privileged, CancellationToken cancellationToken)
    {
        var row = await db.Organizations.AsNoTracking().Where(o => o.Id == id)
            .Select(o => new { Role = o.Members.Where(m => m.UserId == callerId).Select(m => m.Role).FirstOrDefault() })
            .FirstOrDefaultAsync(cancellationToken);
        if (row is null || (row.Role is null && !privileged))
        {
            throw ApiException.NotFound("Organization not found.");
        }
        if (!privileged && row.Role is not (OrganizationRoles.Owner or OrganizationRoles.Instructor))
        {
            throw ApiException.Forbidden("Only an owner or instructor of this organization can see its insights.");
        }
    }

    public async Task<CohortSummaryDto> SummaryAsync(long id, int idleDays, CancellationToken cancellationToken)
    {
        var now = clock.UtcNow();
        var idleBefore = now.AddDays(-idleDays);
        var weekAgo = now.AddDays(-7);
        // One pass: each learner's records (by the index, in the order of the members' key) folded into a row per
        // learner, then those rows summed.
        var totals = (await Query<SummaryRow>($"""
            SELECT COUNT(*) AS "Members",
                   CAST(COALESCE(SUM(active), 0) AS BIGINT) AS "Active",
                   CAST(COALESCE(SUM(completed), 0) AS BIGINT) AS "Completed",
                   CAST(SUM(score_sum) AS DOUBLE PRECISION) / CAST(NULLIF(SUM(scored), 0) AS DOUBLE PRECISION) AS "AverageScore",
                   CAST(COALESCE(SUM(CASE WHEN stuck > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS "StuckLearners",
                   CAST(COALESCE(SUM(stuck), 0) AS BIGINT) AS "StuckItems"
            FROM (
                SELECT l."UserId",
                       MAX(CASE WHEN p."UpdatedAt" >= {"{2}"} THEN 1 ELSE 0 END) AS active,
                       SUM(CASE WHEN p."Status" = '{Completed}' THEN 1 ELSE 0 END) AS completed,
                       SUM(CASE WHEN p."Status" <> '{NotStarted}' THEN p."Score" END) AS score_sum,
                       COUNT(CASE WHEN p."Status" <> '{NotStarted}' THEN p."Score" END) AS scored,
                       SUM({StuckCase}) AS stuck
                FROM {Learners} l LEFT JOIN progress p ON p."UserId" = l."UserId"
                GROUP BY l."UserId") per_learner
            """, [id, idleBefore, weekAgo]).ToListAsync(cancellationToken)).Single();

        // Weeks start on Monday (UTC); the last is the current one. Each completion falls in the latest week that
        // started before it: one CASE over the week starts, passed as parameters, so no date function is needed.
        var today = DateOnly.FromDateTime(now);
        var current = today.AddDays(-(((int)today.DayOfWeek + 6) % 7));
        var starts = Enumerable.Range(0, InsightRules.Weeks).Select(i => current.AddDays(-7 * (InsightRules.Weeks - 1 - i))).ToArray();
        var parameters = new List<object> { id };
        parameters.AddRange(starts.Select(s => (object)s.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc)));
        var cases = string.Join(" ", Enumerable.Range(1, InsightRules.Weeks - 1).Reverse()
            .Select(i => string.Create(CultureInfo.InvariantCulture, $"WHEN p.\"CompletedAt\" >= {{{i + 1}}} THEN {i}")));
        var weeks = await Query<WeekRow>($"""
            SELECT CASE {cases} ELSE 0 END AS "Week", COUNT(*) AS "Completed"
            FROM {Learners} l JOIN progress p ON p."UserId" = l."UserId"
            WHERE p."Status" = '{Completed}' AND p."CompletedAt" >= {"{1}"}
            GROUP BY CASE {cases} ELSE 0 END
            """, [.. parameters]).ToListAsync(cancellationToken);
        var byWeek = weeks.ToDictionary(w => (int)w.Week, w => (int)w.Completed);

        return new CohortSummaryDto(
            id, (int)totals.Members, (int)totals.Active, (int)totals.Completed, Round(totals.AverageScore),
            starts.Select((s, i) => new WeekCompletions(s, byWeek.GetValueOrDefault(i))).ToList(),
            (int)totals.StuckLearners, (int)totals.StuckItems, idleDays);
    }

    public async Task<PagedResponse<LearnerInsightDto>> LearnersAsync(
        long id, PageRequest page, InsightSort sort, int idleDays, HttpRequest http, CancellationToken cancellationToken)
    {
        var now = clock.UtcNow();
        var idleBefore = now.AddDays(-idleDays);
        var (column, nullable) = sort.Key switch
        {
            "username" => ("l.\"SortName\"", false),
            "completed" => ("COALESCE(a.completed, 0)", false),
            "in_progress" => ("COALESCE(a.in_progress, 0)", false),
            "time_spent_seconds" => ("COALESCE(a.time_spent, 0)", false),
            "average_score" => ("a.average_score", true),
            "last_active" => ("a.last_active", true),
            "stuck" => ("COALESCE(a.stuck, 0)", false),
            _ => throw new InvalidOperationException(sort.Key),
        };
        var rows = await Query<LearnerRow>($"""
            WITH agg AS (
                SELECT p."UserId" AS "UserId",
                       SUM(CASE WHEN p."Status" = '{Completed}' THEN 1 ELSE 0 END) AS completed,
                       SUM(CASE WHEN p."Status" = '{InProgress}' THEN 1 ELSE 0 END) AS in_progress,
                       SUM(p."TimeSpentSeconds") AS time_spent,
                       AVG(CASE WHEN p."Status" <> '{NotStarted}' THEN p."Score" END) AS average_score,
                       MAX(p."UpdatedAt") AS last_active,
                       SUM({StuckCase}) AS stuck
                FROM {Learners} l JOIN progress p ON p."UserId" = l."UserId"
                GROUP BY p."UserId")
            SELECT l."UserId" AS "UserId", l."Username" AS "Username",
                   CAST(COALESCE(a.completed, 0) AS BIGINT) AS "Completed",
                   CAST(COALESCE(a.in_progress, 0) AS BIGINT) AS "InProgress",
                   CAST(COALESCE(a.time_spent, 0) AS BIGINT) AS "TimeSpentSeconds",
                   a.average_score AS "AverageScore", a.last_active AS "LastActive",
                   COUNT(*) OVER () AS "Total"
            FROM {Learners} l LEFT JOIN agg a ON a."UserId" = l."UserId"
            ORDER BY {OrderBy(column, nullable, sort.Descending)}, l."SortName", l."UserId"
            LIMIT {"{2}"} OFFSET {"{3}"}
            """, [id, idleBefore, page.PageSize, page.Skip]).ToListAsync(cancellationToken);
        var count = rows.Count > 0 ? (int)rows[0].Total : await CountLearnersAsync(id, cancellationToken);

        // The page's stuck items, in one statement: oldest untouched first.
        var ids = rows.Select(r => r.UserId).ToList();
        var stuck = await db.Progress.AsNoTracking()
            .Where(p => ids.Contains(p.UserId)
                && ((p.Status == ProgressStatus.InProgress && p.UpdatedAt <= idleBefore)
                    || (p.Status != ProgressStatus.NotStarted && p.Score < InsightRules.PassingScore)))
            .OrderBy(p => p.UpdatedAt).ThenBy(p => p.Id)
            .Select(p => new { p.UserId, p.ContentId, p.ContentType, p.CompletionPercentage, p.Score, p.UpdatedAt })
            .ToListAsync(cancellationToken);
        var stuckByUser = stuck.ToLookup(s => s.UserId, s => new StuckItemDto(
            s.ContentId, s.ContentType, s.CompletionPercentage, s.Score, IdleDays(now, s.UpdatedAt)));

        var results = rows.ConvertAll(r => new LearnerInsightDto(
            r.UserId, r.Username, (int)r.Completed, (int)r.InProgress, r.TimeSpentSeconds, Round(r.AverageScore),
            r.LastActive is { } last ? DateTime.SpecifyKind(last, DateTimeKind.Utc) : null,
            stuckByUser[r.UserId].ToList()));
        return page.ToResponse(http, count, results);
    }

    public async Task<PagedResponse<ItemInsightDto>> ItemsAsync(
        long id, PageRequest page, InsightSort sort, int idleDays, HttpRequest http, CancellationToken cancellationToken)
    {
        var idleBefore = clock.UtcNow().AddDays(-idleDays);
        var (column, nullable) = sort.Key switch
        {
            "content_id" => ("\"ContentId\"", false),
            "started" => ("started", false),
            "completed" => ("completed", false),
            "completion_rate" => ("CAST(completed AS DOUBLE PRECISION) / started", false),
            "average_score" => ("average_score", true),
            "median_time_spent_seconds" => ("median", true),
            "stuck" => ("stuck", false),
            _ => throw new InvalidOperationException(sort.Key),
        };
        // Started means in progress or completed. The median time spent is the mean of the middle one or two of the
        // item's records in time order (ROW_NUMBER over the item), which both databases compute the same way.
        var rows = await Query<ItemRow>($"""
            WITH rec AS (
                SELECT p."ContentType" AS "ContentType", p."ContentId" AS "ContentId", p."Status" AS status, p."Score" AS score,
                       p."TimeSpentSeconds" AS spent, {StuckCase} AS stuck,
                       ROW_NUMBER() OVER (PARTITION BY p."ContentType", p."ContentId" ORDER BY p."TimeSpentSeconds", p."Id") AS rn,
                       COUNT(*) OVER (PARTITION BY p."ContentType", p."ContentId") AS n
                FROM {Learners} l JOIN progress p ON p."UserId" = l."UserId"
                WHERE p."Status" <> '{NotStarted}'),
            items AS (
                SELECT "ContentType", "ContentId", COUNT(*) AS started,
                       SUM(CASE WHEN status = '{Completed}' THEN 1 ELSE 0 END) AS completed,
                       AVG(score) AS average_score,
                       CAST(AVG(CASE WHEN rn = (n + 1) / 2 OR rn = (n + 2) / 2 THEN CAST(spent AS DOUBLE PRECISION) END) AS DOUBLE PRECISION) AS median,
                       SUM(stuck) AS stuck
                FROM rec GROUP BY "ContentType", "ContentId")
            SELECT "ContentType", "ContentId", CAST(started AS BIGINT) AS "Started", CAST(completed AS BIGINT) AS "Completed",
                   average_score AS "AverageScore", median AS "MedianTimeSpentSeconds", CAST(stuck AS BIGINT) AS "Stuck",
                   COUNT(*) OVER () AS "Total"
            FROM items
            ORDER BY {OrderBy(column, nullable, sort.Descending)}, "ContentType", "ContentId"
            LIMIT {"{2}"} OFFSET {"{3}"}
            """, [id, idleBefore, page.PageSize, page.Skip]).ToListAsync(cancellationToken);
        var count = rows.Count > 0 ? (int)rows[0].Total : 0;
        var results = rows.ConvertAll(r => new ItemInsightDto(
            r.ContentId, r.ContentType, (int)r.Started, (int)r.Completed,
            Math.Round((double)r.Completed / r.Started, 4), Round(r.AverageScore), r.MedianTimeSpentSeconds, (int)r.Stuck));
        return page.ToResponse(http, count, results);
    }

    /// <summary>One row per learner and progress record (one with empty item cells for a learner without any), by learner then item.</summary>
    public async IAsyncEnumerable<ExportRow> ExportAsync(long id, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var rows = from m in db.OrganizationMembers.AsNoTracking()
                   where m.OrganizationId == id && m.Role == OrganizationRoles.Member && m.User!.DeletedAt == null
                   from p in db.Progress.Where(p => p.UserId == m.UserId).DefaultIfEmpty()
                   orderby m.User!.NormalizedUsername, m.UserId, p!.ContentType, p.ContentId
                   select new ExportRow(
                       m.UserId, m.User!.Username,
                       p == null ? null : p.ContentType, p == null ? null : p.ContentId, p == null ? null : (ProgressStatus?)p.Status,
                       p == null ? null : (double?)p.CompletionPercentage, p == null ? null : p.Score,
                       p == null ? null : (long?)p.TimeSpentSeconds, p == null ? null : p.StartedAt, p == null ? null : p.CompletedAt,
                       p == null ? null : (DateTime?)p.UpdatedAt);
        await foreach (var row in rows.AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            yield return row;
        }
    }

    private async Task<int> CountLearnersAsync(long id, CancellationToken cancellationToken) =>
        await db.OrganizationMembers.CountAsync(
            m => m.OrganizationId == id && m.Role == OrganizationRoles.Member && m.User!.DeletedAt == null, cancellationToken);

    /// <summary>The statement with its arguments as parameters ({0}, {1}, ...); the text itself holds only constants of this class.</summary>
    private IQueryable<T> Query<T>(string sql, object[] arguments) => db.Database.SqlQueryRaw<T>(sql, arguments);

    /// <summary>An ORDER BY term whose empty values come last in either direction (the two databases disagree by default).</summary>
    private static string OrderBy(string column, bool nullable, bool descending) =>
        (nullable ? $"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END, " : "") + column + (descending ? " DESC" : " ASC");

    private static int IdleDays(DateTime now, DateTime updatedAt) =>
        Math.Max(0, (int)Math.Floor((now - DateTime.SpecifyKind(updatedAt, DateTimeKind.Utc)).TotalDays));

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 2) : null;

    // The rows of the statements above, read by column name (classes with setters: what SqlQueryRaw maps).
    private sealed class SummaryRow
    {
        public long Members { get; set; }
        public long Active { get; set; }
        public long Completed { get; set; }
        public double? AverageScore { get; set; }
        public long StuckLearners { get; set; }
        public long StuckItems { get; set; }
    }

    private sealed class WeekRow
    {
        public long Week { get; set; }
        public long Completed { get; set; }
    }

    private sealed class LearnerRow
    {
        public long UserId { get; set; }
        public string Username { get; set; } = "";
        public long Completed { get; set; }
        public long InProgress { get; set; }
        public long TimeSpentSeconds { get; set; }
        public double? AverageScore { get; set; }
        public DateTime? LastActive { get; set; }
        public long Total { get; set; }
    }

    private sealed class ItemRow
    {
        public string ContentType { get; set; } = "";
        public string ContentId { get; set; } = "";
        public long Started { get; set; }
        public long Completed { get; set; }
        public double? AverageScore { get; set; }
        public double? MedianTimeSpentSeconds { get; set; }
        public long Stuck { get; set; }
        public long Total { get; set; }
    }
}

public sealed record ExportRow(
    long UserId, string Username, string? ContentType, string? ContentId, ProgressStatus? Status, double? CompletionPercentage,
    double? Score, long? TimeSpentSeconds, DateTime? StartedAt, DateTime? CompletedAt, DateTime? UpdatedAt);
