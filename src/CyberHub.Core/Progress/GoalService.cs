using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.EntityFrameworkCore;

namespace CyberHub.Core.Progress;

/// <summary>
/// The weekly goal a learner sets and the streak of active days, both read from the learner's progress records: a
/// record is activity on the days of its <c>started_at</c>, <c>completed_at</c> and (once started) <c>updated_at</c>,
/// counted in the learner's time zone (UTC when they set none). Records keep their latest update only, so a day whose
/// work was later overwritten by more work on the same item counts only if another record shows it.
/// </summary>
public sealed class GoalService(CoreDbContext db, TimeProvider clock)
{
    public async Task<LearningGoalDto> GetAsync(long userId, CancellationToken cancellationToken)
    {
        var goal = await db.LearningGoals.AsNoTracking().FirstOrDefaultAsync(g => g.UserId == userId, cancellationToken);
        return await SummariseAsync(userId, goal, cancellationToken);
    }

    public async Task<LearningGoalDto> SetAsync(long userId, LearningGoalRequest request, CancellationToken cancellationToken)
    {
        if (request.ItemsPerWeek is { } items && (items < 1 || items > LearningGoal.MaxItemsPerWeek))
        {
            throw ApiException.BadRequest($"items_per_week: a number of items from 1 to {LearningGoal.MaxItemsPerWeek}, or null for no goal.");
        }
        var zone = request.TimeZone?.Trim();
        if (string.IsNullOrEmpty(zone))
        {
            zone = null;
        }
        else if (Zone(zone) is null)
        {
            throw ApiException.BadRequest("time_zone: not a known IANA time zone (for example Europe/Berlin or America/New_York), or null for UTC.");
        }

        var goal = await db.LearningGoals.FirstOrDefaultAsync(g => g.UserId == userId, cancellationToken);
        if (goal is null)
        {
            goal = new LearningGoal { UserId = userId };
            db.LearningGoals.Add(goal);
        }
        goal.ItemsPerWeek = request.ItemsPerWeek;
        goal.TimeZone = zone;
        goal.UpdatedAt = clock.UtcNow();
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException) when (db.Entry(goal).State == EntityState.Added)
        {
            // Two first PUTs at once: the other one inserted the row; this one (the later) replaces it.
            db.ChangeTracker.Clear();
            await db.LearningGoals.Where(g => g.UserId == userId).ExecuteUpdateAsync(s => s
                .SetProperty(g => g.ItemsPerWeek, request.ItemsPerWeek)
                .SetProperty(g => g.TimeZone, zone)
                .SetProperty(g => g.UpdatedAt, clock.UtcNow()), cancellationToken);
        }
        return await SummariseAsync(userId, new LearningGoal { UserId = userId, ItemsPerWeek = request.ItemsPerWeek, TimeZone = zone }, cancellationToken);
    }

    /// <summary>The zone named by an IANA id, or null when the system does not know it.</summary>
    private static TimeZoneInfo? Zone(string id)
    {
        if (id.Length > LearningGoal.MaxTimeZoneLength || id.Any(char.IsControl))
        {
            return null;
        }
        return TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : null;
    }

    private async Task<LearningGoalDto> SummariseAsync(long userId, LearningGoal? goal, CancellationToken cancellationToken)
    {
        // A zone stored earlier that this system no longer knows counts in UTC rather than failing the page.
        var known = goal?.TimeZone is { } id ? Zone(id) : null;
        var zoneName = known is null ? "UTC" : goal!.TimeZone!;
        var zone = known ?? TimeZoneInfo.Utc;

        var records = await db.Progress.AsNoTracking()
            .Where(p => p.UserId == userId && (p.StartedAt != null || p.CompletedAt != null))
            .Select(p => new { p.StartedAt, p.CompletedAt, p.UpdatedAt })
            .ToListAsync(cancellationToken);

        DateOnly Day(DateTime utc) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), zone));

        var today = Day(clock.GetUtcNow().UtcDateTime);
        var weekStart = today.AddDays(-(((int)today.DayOfWeek + 6) % 7));
        var active = new HashSet<DateOnly>();
        var completedThisWeek = 0;
        foreach (var record in records)
        {
            if (record.StartedAt is { } started) active.Add(Day(started));
            active.Add(Day(record.UpdatedAt));
            if (record.CompletedAt is { } completed)
            {
                var day = Day(completed);
                active.Add(day);
                if (day >= weekStart && day <= today)
                {
                    completedThisWeek++;
                }
            }
        }

        var activeToday = active.Contains(today);
        var streak = 0;
        for (var day = activeToday ? today : today.AddDays(-1); active.Contains(day); day = day.AddDays(-1))
        {
            streak++;
        }
        DateOnly? last = active.Where(d => d <= today).Select(d => (DateOnly?)d).Max();
        return new LearningGoalDto(goal?.ItemsPerWeek, zoneName, known is not null,
            today, weekStart, completedThisWeek, streak, activeToday, last);
    }
}
