using System.Text.Json.Nodes;

namespace CyberHub.Contracts;

/// <summary>Serialized in snake_case: <c>not_started</c>, <c>in_progress</c>, <c>completed</c>.</summary>
public enum ProgressStatus
{
    NotStarted,
    InProgress,
    Completed,
}

public sealed record CreateProgressRequest(
    string? ContentId,
    string? ContentType,
    ProgressStatus? Status,
    double? CompletionPercentage,
    double? Score,
    long? TimeSpentSeconds,
    JsonObject? Metadata);

/// <summary>
/// A partial update: absent fields stay as they are. <c>metadata</c> is merged into the stored object
/// (RFC 7396: a key set to null is removed).
/// </summary>
public sealed record UpdateProgressRequest(
    ProgressStatus? Status,
    double? CompletionPercentage,
    double? Score,
    long? TimeSpentSeconds,
    JsonObject? Metadata);

public sealed record ProgressDto(
    long Id,
    long UserId,
    string ContentId,
    string ContentType,
    ProgressStatus Status,
    double CompletionPercentage,
    double? Score,
    long TimeSpentSeconds,
    JsonObject Metadata,
    DateTime? StartedAt,
    DateTime? CompletedAt,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    int Version);

/// <summary>
/// The learner's weekly goal: <c>items_per_week</c> items to complete each week (1–100; null: no goal) and the IANA
/// <c>time_zone</c> their days and weeks are counted in (null: UTC).
/// </summary>
public sealed record LearningGoalRequest(int? ItemsPerWeek, string? TimeZone);

/// <summary>
/// The weekly goal with what progress says about it: weeks start on Monday and days at midnight in
/// <c>time_zone</c> (the learner's, or "UTC" when they gave none, then <c>time_zone_set</c> is false).
/// <c>completed_this_week</c> counts the items completed since <c>week_start</c>; <c>streak_days</c> the consecutive
/// days with activity (an item started, worked on or completed) up to today, or up to yesterday while today has none yet.
/// </summary>
public sealed record LearningGoalDto(
    int? ItemsPerWeek,
    string TimeZone,
    bool TimeZoneSet,
    DateOnly Today,
    DateOnly WeekStart,
    int CompletedThisWeek,
    int StreakDays,
    bool ActiveToday,
    DateOnly? LastActiveDay);
