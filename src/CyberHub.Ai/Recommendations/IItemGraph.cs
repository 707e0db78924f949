using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Recommendations;

/// <summary>
/// The catalog's k-nearest-neighbour lists as the store keeps them, up to date with every stored and deleted item:
/// what <see cref="NeighbourGraph"/> is built from for a diffusion around a learner's history.
/// </summary>
public interface IItemGraph
{
    /// <summary>The stored nearest neighbours of each of <paramref name="items"/>, closest first; items without a list are absent.</summary>
    Task<IReadOnlyDictionary<ContentKey, IReadOnlyList<Neighbour>>> NeighboursAsync(
        IReadOnlyCollection<ContentKey> items, CancellationToken cancellationToken = default);

    /// <summary>
    /// The <see cref="NeighbourGraph.Hubness"/> of each of <paramref name="items"/>: the mean similarity of its stored
    /// list (<see cref="NeighbourGraph.MeanSimilarity"/>), without reading the lists out; items without a list are absent.
    /// </summary>
    Task<IReadOnlyDictionary<ContentKey, double>> HubnessAsync(
        IReadOnlyCollection<ContentKey> items, CancellationToken cancellationToken = default);

    /// <summary>
    /// The mean of every stored item's vector (not normalised; null for an empty catalog): the direction the whole
    /// catalog shares, which the content score takes out (<see cref="BlendSettings.Centring"/>). Kept by every write in
    /// its own transaction, like the lists, and kept whether or not the graph is built.
    /// </summary>
    Task<float[]?> CatalogMeanAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// How many items the catalog has, and how many of them hold each of <paramref name="words"/> in their title or
    /// description (<see cref="ItemWords"/>' reading): the words' weights in the content score (<see cref="BlendSettings.Words"/>).
    /// Kept by every write in its own transaction, like the mean, whether or not the graph is built.
    /// </summary>
    Task<TermItems> TermItemsAsync(IReadOnlyCollection<string> words, CancellationToken cancellationToken = default);
}
