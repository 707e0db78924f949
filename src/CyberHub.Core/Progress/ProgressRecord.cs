using CyberHub.Contracts;

namespace CyberHub.Core.Progress;

public sealed class ProgressRecord
{
    public long Id { get; set; }
    public long UserId { get; set; }
    public required string ContentType { get; set; }
    public required string ContentId { get; set; }
    public ProgressStatus Status { get; set; }
    public double CompletionPercentage { get; set; }
    public double? Score { get; set; }
    public long TimeSpentSeconds { get; set; }
    /// <summary>A JSON object, kept as text (jsonb on PostgreSQL).</summary>
    public string Metadata { get; set; } = "{}";
    public DateTime? StartedAt { get; set; }
    public DateTime? CompletedAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    /// <summary>Optimistic concurrency token; also the record's ETag.</summary>
    public int Version { get; set; }
}
