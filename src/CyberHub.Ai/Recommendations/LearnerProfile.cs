using CyberHub.Contracts;

namespace CyberHub.Ai.Recommendations;

/// <summary>What the learner did with one catalog item: the part of a progress record a profile is built from.</summary>
public sealed record ProfileEntry(string ContentType, string ContentId, ProgressStatus Status, double Percentage, double? Score, DateTime UpdatedAt);

/// <summary>
/// A learner's stored profile: the entries it was built from (kept current by Core's progress events),
/// their weighted embedding, and a fingerprint of the entries, so a request can tell whether the stored
/// vector still matches the progress Core reports.
/// </summary>
public sealed record LearnerProfile(
    long UserId,
    IReadOnlyList<ProfileEntry> Entries,
    float[]? Vector,
    string Fingerprint,
    long LastSequence,
    DateTime UpdatedAt);

/// <summary>Where learner profiles and the ids of applied progress events are kept.</summary>
public interface ILearnerProfileStore
{
    Task InitializeAsync(CancellationToken cancellationToken = default);

    Task<LearnerProfile?> GetAsync(long userId, CancellationToken cancellationToken = default);

    Task SaveAsync(LearnerProfile profile, CancellationToken cancellationToken = default);

    Task<bool> IsProcessedAsync(Guid eventId, CancellationToken cancellationToken = default);

    /// <summary>Records that the event was applied; ids older than the retention are forgotten.</summary>
    Task MarkProcessedAsync(Guid eventId, DateTime processedAt, CancellationToken cancellationToken = default);
}
