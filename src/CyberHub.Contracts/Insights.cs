namespace CyberHub.Contracts;

/// <summary>
/// How a cohort's insights are read. The learners of an organization are its members with the <c>member</c> role
/// (owners and instructors run the cohort, they are not part of it). An item is stuck for a learner when it is in
/// progress and untouched for at least <c>idle_days</c>, or scored below <see cref="PassingScore"/>.
/// </summary>
public static class InsightRules
{
    public const int DefaultIdleDays = 7;
    public const int MaxIdleDays = 3650;
    public const double PassingScore = 50;
    /// <summary>Weeks in <c>completions_by_week</c>, the current (partial) week last.</summary>
    public const int Weeks = 12;

    /// <summary>The learners list's sort keys; a leading <c>-</c> sorts descending.</summary>
    public static readonly IReadOnlyList<string> LearnerSorts =
        ["username", "completed", "in_progress", "time_spent_seconds", "average_score", "last_active", "stuck"];

    /// <summary>The items list's sort keys; a leading <c>-</c> sorts descending.</summary>
    public static readonly IReadOnlyList<string> ItemSorts =
        ["content_id", "started", "completed", "completion_rate", "average_score", "median_time_spent_seconds", "stuck"];
}

public sealed record WeekCompletions(DateOnly WeekStart, int Completed);

public sealed record CohortSummaryDto(
    long OrganizationId,
    int Members,
    int ActiveLast7Days,
    int CompletedItems,
    double? AverageScore,
    IReadOnlyList<WeekCompletions> CompletionsByWeek,
    int StuckCount,
    int StuckItems,
    int IdleDays);

public sealed record StuckItemDto(string ContentId, string ContentType, double CompletionPercentage, double? Score, int IdleDays);

public sealed record LearnerInsightDto(
    long UserId,
    string Username,
    int Completed,
    int InProgress,
    long TimeSpentSeconds,
    double? AverageScore,
    DateTime? LastActive,
    IReadOnlyList<StuckItemDto> Stuck);

public sealed record ItemInsightDto(
    string ContentId,
    string ContentType,
    int Started,
    int Completed,
    double CompletionRate,
    double? AverageScore,
    double? MedianTimeSpentSeconds,
    int Stuck);
