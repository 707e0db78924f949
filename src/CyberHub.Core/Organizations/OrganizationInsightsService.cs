using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.Core.Data;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

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
public sealed class OrganizationInsightsService(
    CoreDbContext db, TimeProvider clock, HybridCache cache, InsightsSettings settings, IServiceScopeFactory scopes,
    CohortViewRefreshes refreshes, IOptions<JsonOptions> json, ILogger<OrganizationInsightsService> logger)
{
    /// <summary>The service's answer JSON options: a kept learners page is serialized with them once.</summary>
    private readonly JsonSerializerOptions _json = json.Value.SerializerOptions;

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
    /// A reader's role is kept (<see cref="InsightsSettings.ReaderLifetime"/>: CacheSeconds, at most 30 s) under the
    /// views' tag, so that a view kept for them is answered without a query, and a membership change (a role change, a
    /// removal, a departure) applies to it at once, as to the views. A refusal is never kept.
    /// </summary>
    public async Task EnsureReaderAsync(long id, long callerId, bool privileged, CancellationToken cancellationToken)
    {
        InsightsReader reader;
        if (settings.CacheSeconds == 0)
        {
            reader = await ReadReaderAsync(db, id, callerId, cancellationToken);
        }
        else
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"{Tag(id)}:reader:{callerId}");
            reader = await cache.GetOrCreateAsync(
                key, (scopes, id, callerId),
                static async (state, ct) =>
                {
                    await using var scope = state.scopes.CreateAsyncScope();
                    return await ReadReaderAsync(scope.ServiceProvider.GetRequiredService<CoreDbContext>(), state.id, state.callerId, ct);
                },
                new HybridCacheEntryOptions { Expiration = settings.ReaderLifetime, LocalCacheExpiration = settings.ReaderLifetime }, [Tag(id)], cancellationToken);
            if (!reader.MayRead)
            {
                // Only readers are kept: probing organizations one may not read leaves nothing behind.
                await cache.RemoveAsync(key, cancellationToken);
            }
        }
        if (!reader.Exists || (reader.Role is null && !privileged))
        {
            throw ApiException.NotFound("Organization not found.");
        }
        if (!privileged && !reader.MayRead)
        {
            throw ApiException.Forbidden("Only an owner or instructor of this organization can see its insights.");
        }
    }

    private static async Task<InsightsReader> ReadReaderAsync(CoreDbContext db, long id, long callerId, CancellationToken cancellationToken)
    {
        var row = await db.Organizations.AsNoTracking().Where(o => o.Id == id)
            .Select(o => new { Role = o.Members.Where(m => m.UserId == callerId).Select(m => m.Role).FirstOrDefault() })
            .FirstOrDefaultAsync(cancellationToken);
        return new InsightsReader(row is not null, row?.Role);
    }

    /// <summary>
    /// The cohort's summary, computed at most every <see cref="InsightsSettings.CacheSeconds"/> per organization and idle
    /// threshold (one computation at a time: concurrent readers wait for it), and at once after a membership change.
    /// </summary>
    public Task<CohortSummaryDto> SummaryAsync(long id, int idleDays, CancellationToken cancellationToken) =>
        CachedAsync(id, string.Create(CultureInfo.InvariantCulture, $"summary:{idleDays}"),
            (service, ct) => service.ComputeSummaryAsync(id, idleDays, ct), cancellationToken);

    private async Task<CohortSummaryDto> ComputeSummaryAsync(long id, int idleDays, CancellationToken cancellationToken)
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

    /// <summary>
    /// A page of the cohort's learners with their stuck items, cached as the summary is. Sorted by name, the page's
    /// learners are taken by name first and only their records read (a page costs the same in a cohort of any size);
    /// sorted by a figure, every learner's figures are needed to order them: that list is one statement, cached by sort
    /// and idle threshold (every page of it at once), and a page is cut from it.
    /// </summary>
    /// <remarks>
    /// The page is kept with its results serialized (about 30 KB for 20 learners with their stuck items): a kept page
    /// is answered with those bytes and the request's own count and links, without serializing it again.
    /// </remarks>
    public async Task<PagedJson<LearnerInsightDto>> LearnersAsync(
        long id, PageRequest page, InsightSort sort, int idleDays, HttpRequest http, CancellationToken cancellationToken)
    {
        var order = string.Create(CultureInfo.InvariantCulture, $"{idleDays}:{(sort.Descending ? "-" : "")}{sort.Key}");
        var cached = (await CachedEntryAsync(id, string.Create(CultureInfo.InvariantCulture, $"learners-page:{order}:{page.Skip}:{page.PageSize}"),
            async (service, ct) =>
            {
                var computed = await service.ComputeLearnersPageAsync(id, order, page, sort, idleDays, ct);
                var results = computed.Value.Results;
                return new Stamped<SerializedPage<LearnerInsightDto>>(new SerializedPage<LearnerInsightDto>(
                    computed.Value.Count, results, JsonSerializer.SerializeToUtf8Bytes(results, service._json)), computed.ComputedAt);
            }, cancellationToken)).Value;
        return new PagedJson<LearnerInsightDto>(page.ToResponse(http, cached.Count, cached.Results), cached.Json);
    }

    private async Task<Stamped<InsightPage<LearnerInsightDto>>> ComputeLearnersPageAsync(
        long id, string order, PageRequest page, InsightSort sort, int idleDays, CancellationToken cancellationToken)
    {
        Stamped<InsightPage<LearnerInsightDto>> figures;
        if (sort.Key == "username")
        {
            figures = await StampAsync((s, c) => s.ComputeLearnersByNameAsync(id, page, sort.Descending, c), cancellationToken);
        }
        else
        {
            // The page is as old as the list it is cut from: when the list is due to be computed again, so is the page
            // (rather than a page cut from a stale list being kept CacheSeconds more).
            var list = "learners:" + order;
            Task<Stamped<InsightPage<LearnerInsightDto>>> OrderedAsync() => CachedEntryAsync(id, list,
                (service, ct) => service.StampAsync((s, c) => s.ComputeLearnersAsync(id, sort, idleDays, c), ct), cancellationToken);
            var ordered = await OrderedAsync();
            if (IsStale(ordered) && refreshes.Running($"{Tag(id)}:{list}") is { } refresh)
            {
                // Cut from the list as it is being computed again, not from the stale one (which would only make this
                // page due again at once): wait for that computation, then read the list it kept.
                await refresh.WaitAsync(cancellationToken);
                ordered = await OrderedAsync();
            }
            figures = new(new InsightPage<LearnerInsightDto>(ordered.Value.Count, [.. ordered.Value.Results.Skip(page.Skip).Take(page.PageSize)]),
                ordered.ComputedAt);
        }
        var rows = figures.Value.Results;

        // The page's stuck items, in one statement: oldest untouched first.
        var now = clock.UtcNow();
        var idleBefore = now.AddDays(-idleDays);
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
        return figures with
        {
            Value = new InsightPage<LearnerInsightDto>(figures.Value.Count, [.. rows.Select(r => r with { Stuck = stuckByUser[r.UserId].ToList() })]),
        };
    }

    /// <summary>
    /// One page of the cohort's learners by name, with their figures: the members are ordered by name and cut to the
    /// page first, then only the page's learners' records are read (by the (UserId, ...) index of progress).
    /// </summary>
    private async Task<InsightPage<LearnerInsightDto>> ComputeLearnersByNameAsync(long id, PageRequest page, bool descending, CancellationToken cancellationToken)
    {
        var direction = descending ? "DESC" : "ASC";
        var rows = await Query<LearnerRow>($"""
            SELECT pg."UserId" AS "UserId", pg."Username" AS "Username",
                   CAST(COALESCE(SUM(CASE WHEN p."Status" = '{Completed}' THEN 1 ELSE 0 END), 0) AS BIGINT) AS "Completed",
                   CAST(COALESCE(SUM(CASE WHEN p."Status" = '{InProgress}' THEN 1 ELSE 0 END), 0) AS BIGINT) AS "InProgress",
                   CAST(COALESCE(SUM(p."TimeSpentSeconds"), 0) AS BIGINT) AS "TimeSpentSeconds",
                   AVG(CASE WHEN p."Status" <> '{NotStarted}' THEN p."Score" END) AS "AverageScore",
                   MAX(p."UpdatedAt") AS "LastActive",
                   (SELECT COUNT(*) FROM {Learners} c) AS "Total"
            FROM (SELECT l."UserId", l."Username", l."SortName" FROM {Learners} l
                  ORDER BY l."SortName" {direction}, l."UserId" LIMIT {"{1}"} OFFSET {"{2}"}) pg
            LEFT JOIN progress p ON p."UserId" = pg."UserId"
            GROUP BY pg."UserId", pg."Username", pg."SortName"
            ORDER BY pg."SortName" {direction}, pg."UserId"
            """, [id, page.PageSize, page.Skip]).ToListAsync(cancellationToken);
        var count = rows.Count > 0
            ? (int)rows[0].Total
            : (int)(await Query<CountRow>($"""SELECT COUNT(*) AS "Value" FROM {Learners} c""", [id]).ToListAsync(cancellationToken))[0].Value;
        return new InsightPage<LearnerInsightDto>(count, rows.ConvertAll(ToDto));
    }

    private static LearnerInsightDto ToDto(LearnerRow r) => new(
        r.UserId, r.Username, (int)r.Completed, (int)r.InProgress, r.TimeSpentSeconds, Round(r.AverageScore),
        r.LastActive is { } last ? DateTime.SpecifyKind(last, DateTimeKind.Utc) : null,
        Array.Empty<StuckItemDto>());

    /// <summary>Every learner of the cohort with their figures (stuck items left empty), in the asked order.</summary>
    private async Task<InsightPage<LearnerInsightDto>> ComputeLearnersAsync(long id, InsightSort sort, int idleDays, CancellationToken cancellationToken)
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
                   a.average_score AS "AverageScore", a.last_active AS "LastActive", CAST(0 AS BIGINT) AS "Total"
            FROM {Learners} l LEFT JOIN agg a ON a."UserId" = l."UserId"
            ORDER BY {OrderBy(column, nullable, sort.Descending)}, l."SortName", l."UserId"
            """, [id, idleBefore]).ToListAsync(cancellationToken);
        var results = rows.ConvertAll(ToDto);
        return new InsightPage<LearnerInsightDto>(results.Count, results);
    }

    /// <summary>A page of the cohort's items, cached as the summary is.</summary>
    public async Task<PagedResponse<ItemInsightDto>> ItemsAsync(
        long id, PageRequest page, InsightSort sort, int idleDays, HttpRequest http, CancellationToken cancellationToken)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"items:{idleDays}:{(sort.Descending ? "-" : "")}{sort.Key}:{page.Skip}:{page.PageSize}");
        var cached = await CachedAsync(id, key, (service, ct) => service.ComputeItemsAsync(id, page, sort, idleDays, ct), cancellationToken);
        return page.ToResponse(http, cached.Count, cached.Results);
    }

    private async Task<InsightPage<ItemInsightDto>> ComputeItemsAsync(
        long id, PageRequest page, InsightSort sort, int idleDays, CancellationToken cancellationToken)
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
        return new InsightPage<ItemInsightDto>(count, results);
    }

    private DateTime Now() => clock.UtcNow();

    /// <summary>The tag of every cached view of the organization: dropped (on every instance) when its membership changes.</summary>
    public static string Tag(long id) => "core:cohort:" + id.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The view from the cache, or computed by <paramref name="compute"/> (HybridCache runs one computation per key at a
    /// time in a process; the others asking wait for its answer). A view older than CacheSeconds is still answered, and
    /// computed again in the background (once at a time per view and process) to replace it, so readers do not wait for
    /// the refresh; one older than four times CacheSeconds, or dropped by a membership change, is computed while the
    /// reader waits. Not cached when CacheSeconds is 0. A view's age is that of the data it was computed from: taken
    /// when its computation started, or that of a kept view it was cut from (<see cref="CachedEntryAsync{T}"/>).
    /// </summary>
    private async Task<T> CachedAsync<T>(
        long id, string view, Func<OrganizationInsightsService, CancellationToken, Task<T>> compute, CancellationToken cancellationToken) =>
        (await CachedEntryAsync(id, view, (service, ct) => service.StampAsync(compute, ct), cancellationToken)).Value;

    /// <summary>The value <paramref name="compute"/> yields, as of the time it started.</summary>
    private async Task<Stamped<T>> StampAsync<T>(Func<OrganizationInsightsService, CancellationToken, Task<T>> compute, CancellationToken cancellationToken)
    {
        var started = Now();
        return new Stamped<T>(await compute(this, cancellationToken), started);
    }

    private async Task<Stamped<T>> CachedEntryAsync<T>(
        long id, string view, Func<OrganizationInsightsService, CancellationToken, Task<Stamped<T>>> compute, CancellationToken cancellationToken)
    {
        if (settings.CacheSeconds == 0)
        {
            return await compute(this, cancellationToken);
        }
        var key = $"{Tag(id)}:{view}";
        var options = new HybridCacheEntryOptions { Expiration = settings.HardLifetime, LocalCacheExpiration = settings.HardLifetime };
        string[] tags = [Tag(id)];
        var entry = await cache.GetOrCreateAsync(
            key, (service: this, compute), static async (state, ct) => await state.compute(state.service, ct),
            options, tags, cancellationToken);
        if (IsStale(entry))
        {
            refreshes.Start(key, async () =>
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    var service = scope.ServiceProvider.GetRequiredService<OrganizationInsightsService>();
                    await cache.SetAsync(key, await compute(service, CancellationToken.None), options, tags);
                }
                catch (Exception e)
                {
                    // The older view stays until it expires or the next refresh succeeds.
                    logger.LogWarning(e, "Refreshing the cohort view {Key} failed", key);
                }
            });
        }
        return entry;
    }

    private bool IsStale<T>(Stamped<T> entry) => settings.CacheSeconds > 0 && clock.UtcNow() - entry.ComputedAt >= settings.Lifetime;

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

    private sealed class CountRow
    {
        public long Value { get; set; }
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

/// <summary>
/// The cohort views being computed again in the background in this process, by cache key: one computation of a view
/// at a time, which a computation of another view cut from it can wait for.
/// </summary>
public sealed class CohortViewRefreshes
{
    private readonly ConcurrentDictionary<string, Task> _running = new();

    /// <summary>The computation of <paramref name="key"/> under way, if any (it never fails: <c>refresh</c> handles its errors).</summary>
    public Task? Running(string key) => _running.TryGetValue(key, out var running) ? running : null;

    /// <summary>Runs <paramref name="refresh"/> in the background unless a computation of <paramref name="key"/> is under way.</summary>
    public void Start(string key, Func<Task> refresh)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_running.TryAdd(key, done.Task))
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await refresh();
            }
            finally
            {
                _running.TryRemove(key, out _);
                done.SetResult();
            }
        }, CancellationToken.None);
    }
}

/// <summary>Whether the organization exists, and the caller's role in it (null for none).</summary>
[System.ComponentModel.ImmutableObject(true)]
public sealed record InsightsReader(bool Exists, string? Role)
{
    public bool MayRead => Role is OrganizationRoles.Owner or OrganizationRoles.Instructor;
}

/// <summary>A cached view and when it was computed. Immutable, so a hit in process memory is not deserialized again.</summary>
[System.ComponentModel.ImmutableObject(true)]
public sealed record Stamped<T>(T Value, DateTime ComputedAt);

/// <summary>
/// A page of a view as it is cached: the total and the page's rows (the links are made per request). Immutable, so a
/// hit in process memory is not deserialized again.
/// </summary>
[System.ComponentModel.ImmutableObject(true)]
public sealed record InsightPage<T>(int Count, IReadOnlyList<T> Results);

/// <summary>A kept page with its results serialized once (see <see cref="PagedJson{T}"/>). Immutable, as <see cref="InsightPage{T}"/>.</summary>
[System.ComponentModel.ImmutableObject(true)]
public sealed record SerializedPage<T>(int Count, IReadOnlyList<T> Results, byte[] Json);

/// <summary>The <c>Insights</c> section.</summary>
public sealed class InsightsSettings
{
    public const string Section = "Insights";

    /// <summary>
    /// How long a cohort view (summary, a page of learners or items) is kept before it is computed again (0 to 300 s;
    /// 0 computes every request): the most a figure may lag the learners' progress. A membership change drops the
    /// organization's views at once.
    /// </summary>
    public int CacheSeconds { get; set; } = 15;

    public TimeSpan Lifetime => TimeSpan.FromSeconds(CacheSeconds);

    /// <summary>
    /// How long a reader's role is kept: CacheSeconds, and no longer than an account's state (a Core instance that missed
    /// a membership change's invalidation, with Redis unreachable, lets a former instructor read for that long at most).
    /// </summary>
    public TimeSpan ReaderLifetime => Lifetime < AccountStates.Lifetime ? Lifetime : AccountStates.Lifetime;

    /// <summary>How long a view not refreshed in the background (nobody asked for it, or its refresh failed) is answered at most.</summary>
    public TimeSpan HardLifetime => TimeSpan.FromSeconds(CacheSeconds * 4);

    public static InsightsSettings From(IConfiguration configuration)
    {
        var settings = configuration.GetSection(Section).Get<InsightsSettings>() ?? new InsightsSettings();
        return settings.CacheSeconds is >= 0 and <= 300
            ? settings
            : throw new InvalidOperationException($"Insights:CacheSeconds must be from 0 to 300 (got {settings.CacheSeconds}).");
    }
}

public sealed record ExportRow(
    long UserId, string Username, string? ContentType, string? ContentId, ProgressStatus? Status, double? CompletionPercentage,
    double? Score, long? TimeSpentSeconds, DateTime? StartedAt, DateTime? CompletedAt, DateTime? UpdatedAt);
