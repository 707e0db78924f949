using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;

namespace CyberHub.Ai.Recommendations;

/// <summary>What the learner did with one catalog item: the part of a progress record a profile is built from.</summary>
public sealed record ProfileEntry(string ContentType, string ContentId, ProgressStatus Status, double Percentage, double? Score, DateTime UpdatedAt);

/// <summary>
/// An item the learner has completed: when they first did (<see cref="CompletedAt"/>, to the millisecond) and the status
/// of their record now. A completed record taken up again (or deleted) stays known with its status, so that completing
/// it again is not a first completion.
/// </summary>
public sealed record LearnerCompletion(ContentKey Item, DateTime CompletedAt, ProgressStatus Status);

/// <summary>
/// What the AI service keeps of a learner from Core's events: their completions and the sequence of the last event
/// applied. Core is the source of truth for a learner's history (a recommendation reads it from Core); this is only what
/// the event path needs to tell a first completion from a repeat and to pair it with the learner's earlier ones.
/// </summary>
public sealed record LearnerProfile(long UserId, IReadOnlyList<LearnerCompletion> Completions, long LastSequence, DateTime UpdatedAt)
{
    /// <summary>The items completed now, oldest completion first: the learner's earlier completions for the next one.</summary>
    public IReadOnlyList<ContentKey> Completed => LearnerCompletions.Completed(Completions);
}

/// <summary>
/// What one event changes: one item's completion (<see cref="Put"/>), or all of the learner's (<see cref="Erase"/>),
/// and the first completion to count (<see cref="Observed"/>).
/// </summary>
public sealed record LearnerChange(LearnerCompletion? Put, bool Erase, ObservedCompletion? Observed)
{
    public static LearnerChange None { get; } = new(null, false, null);
}

public static class LearnerCompletions
{
    /// <summary>The canonical order: completion time, then the item (ordinal).</summary>
    public static IOrderedEnumerable<LearnerCompletion> Ordered(IEnumerable<LearnerCompletion> completions) =>
        completions.OrderBy(c => c.CompletedAt).ThenBy(c => c.Item.ContentType, StringComparer.Ordinal).ThenBy(c => c.Item.ContentId, StringComparer.Ordinal);

    public static IReadOnlyList<ContentKey> Completed(IEnumerable<LearnerCompletion> completions) =>
        [.. Ordered(completions.Where(c => c.Status == ProgressStatus.Completed)).Select(c => c.Item)];

    /// <summary>
    /// The completions a learner's completed records stand for, oldest first, each with the ones before it: what the
    /// events of a learner who completed them in this order count (the rebuild feeds these).
    /// </summary>
    public static IEnumerable<ObservedCompletion> Observed(IReadOnlyList<LearnerCompletion> completions)
    {
        var ordered = Ordered(completions.Where(c => c.Status == ProgressStatus.Completed)).ToList();
        for (var i = 0; i < ordered.Count; i++)
        {
            yield return new ObservedCompletion(ordered[i].Item, ordered[i].CompletedAt, [.. ordered.Take(i).Select(c => c.Item)]);
        }
    }

    /// <summary>Core's timestamps to the millisecond: the same record read from Core's database and from its outbox are equal.</summary>
    public static DateTime ToMilliseconds(DateTime t) =>
        new(t.Ticks - t.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
}

/// <summary>
/// Where the learners' completions, the sequences of applied events and the ids of applied events are kept. An
/// implementation keeps the co-completion counts in the same database, so that an event's completion and its counts
/// are written in one transaction.
/// </summary>
public interface ILearnerProfileStore
{
    Task InitializeAsync(CancellationToken cancellationToken = default);

    Task<LearnerProfile?> GetAsync(long userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies the learner's event <paramref name="sequence"/> under a lock of the learner: nothing (false) when a
    /// sequence at or above it was applied already; otherwise <paramref name="decide"/> gets their completions now, and
    /// its change, its observed completion (added to the co-completion counts) and the sequence are written in one
    /// transaction.
    /// </summary>
    Task<bool> ApplyAsync(long userId, long sequence, Func<IReadOnlyList<LearnerCompletion>, LearnerChange> decide, DateTime now,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// A rebuild: every learner's completions become <paramref name="learners"/>' (learners not in it keep none) and
    /// the co-completion counts <paramref name="counts"/>, in one transaction. Applied sequences stay.
    /// </summary>
    Task ReplaceAsync(IReadOnlyDictionary<long, IReadOnlyList<LearnerCompletion>> learners, CoCompletionState counts, DateTime now,
        CancellationToken cancellationToken = default);

    Task<bool> IsProcessedAsync(Guid eventId, CancellationToken cancellationToken = default);

    /// <summary>Records that the event was applied; ids older than the retention are forgotten.</summary>
    Task MarkProcessedAsync(Guid eventId, DateTime processedAt, CancellationToken cancellationToken = default);
}
