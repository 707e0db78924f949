namespace CyberHub.Core.Progress;

/// <summary>A learner's weekly goal and the time zone their days are counted in; one row per learner that set one.</summary>
public sealed class LearningGoal
{
    public long UserId { get; set; }
    /// <summary>Items to complete each week; null when the learner set only a time zone.</summary>
    public int? ItemsPerWeek { get; set; }
    /// <summary>An IANA time zone id; null counts days in UTC.</summary>
    public string? TimeZone { get; set; }
    public DateTime UpdatedAt { get; set; }

    public const int MaxTimeZoneLength = 64;
    public const int MaxItemsPerWeek = 100;
}
