using System.Text.Json;
using CyberHub.Contracts;

namespace CyberHub.Core.Outbox;

/// <summary>
/// A progress change (or an account deletion) waiting to be delivered to the AI service (a transactional outbox row). It is written in
/// the same transaction as the change, so an event exists exactly when its change committed; a dispatcher
/// delivers it later, at least once, in id order per user.
/// </summary>
public sealed class OutboxEvent
{
    public const int MaxErrorLength = 1000;

    /// <summary>Grows with every event written; delivered as the event's <c>sequence</c>.</summary>
    public long Id { get; set; }
    public Guid EventId { get; set; }
    public long UserId { get; set; }
    public required string Type { get; set; }
    /// <summary>The <see cref="ProgressDto"/> as JSON (jsonb on PostgreSQL).</summary>
    public required string Payload { get; set; }
    public DateTime CreatedAt { get; set; }
    public int Attempts { get; set; }
    public DateTime NextAttemptAt { get; set; }
    /// <summary>The claim of the dispatcher that holds this event until <see cref="LockedUntil"/>.</summary>
    public Guid? ClaimToken { get; set; }
    public DateTime? LockedUntil { get; set; }
    public DateTime? DeliveredAt { get; set; }
    /// <summary>Set when the receiver refused the event as invalid: it is never sent again.</summary>
    public DateTime? FailedAt { get; set; }
    public string? LastError { get; set; }

    public static OutboxEvent For(string type, ProgressDto progress, DateTime now) => new()
    {
        EventId = Guid.NewGuid(),
        UserId = progress.UserId,
        Type = type,
        Payload = JsonSerializer.Serialize(progress, CyberHubJson.Options),
        CreatedAt = now,
        NextAttemptAt = now,
    };

    /// <summary>The deletion of <paramref name="userId"/>'s account: delivered after the user's earlier events, like any other.</summary>
    public static OutboxEvent ForUserDeleted(long userId, DateTime now) => new()
    {
        EventId = Guid.NewGuid(),
        UserId = userId,
        Type = ProgressEventTypes.UserDeleted,
        Payload = "{}",
        CreatedAt = now,
        NextAttemptAt = now,
    };

    public ProgressEvent ToEvent() =>
        new(EventId, Id, Type, UserId, CreatedAt, Type == ProgressEventTypes.UserDeleted
            ? null
            : JsonSerializer.Deserialize<ProgressDto>(Payload, CyberHubJson.Options) ?? throw new JsonException("The payload is empty."));

    public static string Truncate(string error) => error.Length <= MaxErrorLength ? error : error[..MaxErrorLength];
}
