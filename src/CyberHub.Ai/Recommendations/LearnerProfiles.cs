using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;

namespace CyberHub.Ai.Recommendations;

/// <summary>
/// Applies Core's progress events to what the AI service keeps of each learner (their completions) and to the
/// co-completion counts: a learner's first completion of an item counts once, with their earlier completions; a
/// repeat, an update of a completed record, a score change or completing a record again counts nothing.
/// </summary>
public sealed class LearnerProfiles(ILearnerProfileStore profiles, TimeProvider clock)
{
    /// <summary>
    /// Applies one change from Core. Events of a user arrive in sequence order, at least once; one at or below
    /// the stored sequence has been applied already (the store checks under the learner's lock).
    /// </summary>
    public async Task<bool> ApplyAsync(ProgressEvent change, CancellationToken cancellationToken)
    {
        if (change.Type != ProgressEventTypes.UserDeleted && change.Progress is null)
        {
            throw new ArgumentException("A progress event carries its record.", nameof(change));
        }
        return await profiles.ApplyAsync(change.UserId, change.Sequence, completions => Decide(change, completions),
            clock.GetUtcNow().UtcDateTime, cancellationToken);
    }

    /// <summary>What <paramref name="change"/> does to a learner whose completions are <paramref name="completions"/>.</summary>
    public static LearnerChange Decide(ProgressEvent change, IReadOnlyList<LearnerCompletion> completions)
    {
        if (change.Type == ProgressEventTypes.UserDeleted)
        {
            // The account is gone: keep nothing of the learner but the sequence, so that no older event revives them.
            // The counts they added stay: they are anonymous aggregates of many learners.
            return new LearnerChange(null, true, null);
        }
        var progress = change.Progress!;
        var key = new ContentKey(progress.ContentType, progress.ContentId);
        var known = completions.FirstOrDefault(c => c.Item == key);
        var status = change.Type == ProgressEventTypes.Deleted ? ProgressStatus.NotStarted : progress.Status;
        if (known is not null)
        {
            // Completed before: whatever happens to the record now (taken up again, completed again, deleted) is no
            // first completion; only its status is kept, so the learner's earlier completions stay true.
            return known.Status == status ? LearnerChange.None : new LearnerChange(known with { Status = status }, false, null);
        }
        if (status != ProgressStatus.Completed)
        {
            return LearnerChange.None;
        }
        var at = LearnerCompletions.ToMilliseconds(progress.CompletedAt ?? progress.UpdatedAt);
        var completion = new LearnerCompletion(key, at, ProgressStatus.Completed);
        return new LearnerChange(completion, false, new ObservedCompletion(key, at, LearnerCompletions.Completed(completions)));
    }
}
