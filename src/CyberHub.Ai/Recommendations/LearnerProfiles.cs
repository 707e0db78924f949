using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;

namespace CyberHub.Ai.Recommendations;

/// <summary>A learner's profile vector and the weighted history it came from.</summary>
public sealed record ProfileSnapshot(LearnerProfile Profile, IReadOnlyList<WeightedItem> History);

/// <summary>
/// Keeps each learner's stored profile in step with their progress: from Core's events as they arrive, and
/// from the progress a request reads when the stored one no longer matches it (a missed event, a new instance).
/// </summary>
public sealed class LearnerProfiles(ILearnerProfileStore profiles, IVectorStore catalog, TimeProvider clock)
{
    /// <summary>The profile for exactly <paramref name="progress"/>: the stored one when its fingerprint matches, else rebuilt and stored.</summary>
    public async Task<ProfileSnapshot> CurrentAsync(long userId, IReadOnlyList<ProgressDto> progress, CancellationToken cancellationToken)
    {
        var entries = ProfileBuilder.Entries(progress);
        var fingerprint = ProfileBuilder.Fingerprint(entries);
        var history = await WeighAsync(entries, cancellationToken);
        var stored = await profiles.GetAsync(userId, cancellationToken);
        if (stored is not null && stored.Fingerprint == fingerprint)
        {
            return new ProfileSnapshot(stored, history);
        }
        var profile = new LearnerProfile(userId, entries, ProfileBuilder.Vector(history), fingerprint,
            stored?.LastSequence ?? 0, clock.GetUtcNow().UtcDateTime);
        await profiles.SaveAsync(profile, cancellationToken);
        return new ProfileSnapshot(profile, history);
    }

    /// <summary>
    /// Applies one change from Core. Events of a user arrive in sequence order, at least once; one at or below
    /// the stored sequence has been applied already.
    /// </summary>
    public async Task ApplyAsync(ProgressEvent change, CancellationToken cancellationToken)
    {
        var stored = await profiles.GetAsync(change.UserId, cancellationToken);
        if (stored is not null && change.Sequence <= stored.LastSequence)
        {
            return;
        }
        if (change.Type == ProgressEventTypes.UserDeleted)
        {
            // The account is gone: keep nothing of the learner but the sequence, so that no older event revives them.
            await profiles.SaveAsync(new LearnerProfile(change.UserId, [], ProfileBuilder.Vector([]), ProfileBuilder.Fingerprint([]),
                change.Sequence, clock.GetUtcNow().UtcDateTime), cancellationToken);
            return;
        }
        var progress = change.Progress ?? throw new ArgumentException("A progress event carries its record.", nameof(change));
        var key = new ContentKey(progress.ContentType, progress.ContentId);
        var entry = change.Type == ProgressEventTypes.Deleted ? null : ProfileBuilder.Entry(progress);
        var entries = ProfileBuilder.Replace(stored?.Entries ?? [], key, entry);
        var history = await WeighAsync(entries, cancellationToken);
        await profiles.SaveAsync(new LearnerProfile(change.UserId, entries, ProfileBuilder.Vector(history),
            ProfileBuilder.Fingerprint(entries), change.Sequence, clock.GetUtcNow().UtcDateTime), cancellationToken);
    }

    private async Task<IReadOnlyList<WeightedItem>> WeighAsync(IReadOnlyList<ProfileEntry> entries, CancellationToken cancellationToken)
    {
        var items = await catalog.GetManyAsync([.. entries.Select(e => new ContentKey(e.ContentType, e.ContentId))], cancellationToken);
        return ProfileBuilder.Weigh(entries, items);
    }
}
