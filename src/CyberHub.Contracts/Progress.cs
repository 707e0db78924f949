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
