using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Recommendations;

/// <summary>
/// A learner's first completion of <see cref="Completed"/> at <see cref="At"/>, after their <see cref="Earlier"/>
/// completions (oldest first): one event for the co-completion counts.
/// </summary>
public sealed record ObservedCompletion(ContentKey Completed, DateTime At, IReadOnlyList<ContentKey> Earlier);

/// <summary>
/// The co-completion counts learned from every learner's completions (<see cref="CoCompletionModel"/>'s state), kept
/// beside the catalog: in PostgreSQL with pgvector, in the embedded store's SQLite file otherwise.
/// </summary>
public interface ICoCompletionStore
{
    /// <summary>Creates what the store needs. Called once at start.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds completions to the counts, as <see cref="CoCompletionModel.Add"/> does. Callers pass each learner's first completion of an item once.</summary>
    Task RecordAsync(IReadOnlyList<ObservedCompletion> completions, CancellationToken cancellationToken = default);

    /// <summary>
    /// What scoring a history needs: the pairs leaving <paramref name="from"/>, the item counts of every item in them,
    /// and the <paramref name="popular"/> most completed items, as a state <see cref="CoCompletionModel.From"/> reads.
    /// </summary>
    Task<CoCompletionState> ReadAsync(IReadOnlyCollection<ContentKey> from, int popular, CancellationToken cancellationToken = default);

    /// <summary>Replaces every count with <paramref name="state"/> in one transaction (a rebuild from Core).</summary>
    Task ReplaceAsync(CoCompletionState state, CancellationToken cancellationToken = default);
}
