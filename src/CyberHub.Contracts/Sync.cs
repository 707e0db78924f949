namespace CyberHub.Contracts;

public static class ProgressEventTypes
{
    public const string Created = "progress.created";
    public const string Updated = "progress.updated";
    public const string Deleted = "progress.deleted";
    /// <summary>The learner's account was deleted: the receiver drops everything it holds about them. No <c>progress</c>.</summary>
    public const string UserDeleted = "user.deleted";
}

/// <summary>
/// A change to one progress record, as Core's outbox delivers it to the AI service. <c>event_id</c> is unique
/// for ever (receivers de-duplicate on it); <c>sequence</c> grows with every event Core writes, so events of
/// one user arrive in sequence order. <c>progress</c> is the record after the change (before it, for a delete);
/// null for <see cref="ProgressEventTypes.UserDeleted"/>, which concerns the whole account.
/// </summary>
public sealed record ProgressEvent(Guid EventId, long Sequence, string Type, long UserId, DateTime OccurredAt, ProgressDto? Progress);

public sealed record ProgressEventBatch(IReadOnlyList<ProgressEvent>? Events);

public sealed record ProgressEventsResult(int Applied, int Duplicates);
