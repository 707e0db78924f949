using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Recommendations;

/// <summary>An edge of the item graph: a neighbour and how close it is (a cosine similarity, at most 1).</summary>
public readonly record struct Neighbour(ContentKey Item, double Similarity);

/// <summary>
/// The catalog's k-nearest-neighbour graph: for each item, its nearest items by vector (as the vector store finds them
/// when the item is imported). Edges are made symmetric (a neighbour of b is b's neighbour too) and weighted by
/// similarity raised to <c>sharpness</c>, so close neighbours carry most of the mass. Only edges with positive similarity
/// are kept. Immutable once built. Each item whose own list was given also has its <see cref="Hubness"/>: the mean
/// similarity of that list.
/// </summary>
public sealed class NeighbourGraph
{
    private readonly Dictionary<ContentKey, Neighbour[]> _edges;
    private readonly Dictionary<ContentKey, double> _hubness = [];

    public NeighbourGraph(IEnumerable<(ContentKey Item, IReadOnlyList<Neighbour> Nearest)> lists, double sharpness = 1)
    {
        ArgumentNullException.ThrowIfNull(lists);
        var edges = new Dictionary<ContentKey, Dictionary<ContentKey, double>>();
        void Link(ContentKey a, ContentKey b, double weight)
        {
            if (!edges.TryGetValue(a, out var list))
            {
                edges[a] = list = [];
            }
            list[b] = Math.Max(list.GetValueOrDefault(b), weight);
        }
        foreach (var (item, nearest) in lists)
        {
            var (sum, count) = (0.0, 0);
            foreach (var n in nearest)
            {
                if (n.Item != item)
                {
                    (sum, count) = (sum + n.Similarity, count + 1);
                }
            }
            if (count > 0)
            {
                _hubness[item] = sum / count;
            }
            foreach (var n in nearest)
            {
                if (n.Item == item || !(n.Similarity > 0))
                {
                    continue;
                }
                var weight = Math.Pow(Math.Min(1, n.Similarity), sharpness);
                Link(item, n.Item, weight);
                Link(n.Item, item, weight);
            }
        }
        _edges = edges.ToDictionary(e => e.Key, e => e.Value
            .OrderByDescending(n => n.Value).ThenBy(n => n.Key.ContentType, StringComparer.Ordinal).ThenBy(n => n.Key.ContentId, StringComparer.Ordinal)
            .Select(n => new Neighbour(n.Key, n.Value)).ToArray());
    }

    public IReadOnlyList<Neighbour> Of(ContentKey item) => _edges.TryGetValue(item, out var list) ? list : [];

    public int Count => _edges.Count;

    /// <summary>
    /// How much of a hub the item is: the mean similarity of its own stored neighbour list (the local scaling term of
    /// cross-domain similarity local scaling, Conneau et al. 2018). An item close to everything is close to every learner's
    /// profile without being what the learner's items are about. Null when the item's own list was not among the lists
    /// the graph was built from (an item only reached through others' lists).
    /// </summary>
    public double? Hubness(ContentKey item) => _hubness.TryGetValue(item, out var value) ? value : null;
}

/// <summary>
/// Personalised PageRank over the item graph (a manifold-ranking diffusion): mass starts on the learner's items and
/// spreads along the edges, with probability <c>restart</c> of returning to them at each step, so an item two hops from
/// the history is reached through the item between them, and an item close to several history items collects more.
/// Computed by forward push (Andersen, Chung and Lang, 2006): only nodes holding residual mass above
/// <c>epsilon</c> are pushed, so the work depends on the neighbourhood of the history, not the size of the catalog.
/// </summary>
public static class Diffusion
{
    public const double DefaultRestart = 0.25;
    public const double DefaultEpsilon = 1e-4;
    public const int DefaultMaxPushes = 20_000;

    /// <summary>
    /// The PageRank of every reached item for seeds (item → non-negative weight, normalised here). Seeds keep their own
    /// mass in the result: callers drop what the learner has done.
    /// </summary>
    public static IReadOnlyDictionary<ContentKey, double> PersonalisedPageRank(
        NeighbourGraph graph, IReadOnlyList<(ContentKey Item, double Weight)> seeds,
        double restart = DefaultRestart, double epsilon = DefaultEpsilon, int maxPushes = DefaultMaxPushes)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(seeds);
        if (!(restart > 0 && restart <= 1) || !(epsilon > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(restart), "restart must be in (0, 1] and epsilon positive.");
        }
        var total = seeds.Where(s => s.Weight > 0).Sum(s => s.Weight);
        var rank = new Dictionary<ContentKey, double>();
        if (!(total > 0))
        {
            return rank;
        }
        var residual = new Dictionary<ContentKey, double>();
        var queue = new Queue<ContentKey>();
        foreach (var (item, weight) in seeds.Where(s => s.Weight > 0))
        {
            var before = residual.GetValueOrDefault(item);
            residual[item] = before + weight / total;
            if (before <= epsilon && residual[item] > epsilon)
            {
                queue.Enqueue(item);
            }
        }
        var pushes = 0;
        while (queue.Count > 0 && pushes < maxPushes)
        {
            var u = queue.Dequeue();
            var mass = residual[u];
            if (mass <= epsilon)
            {
                continue;
            }
            pushes++;
            residual[u] = 0;
            rank[u] = rank.GetValueOrDefault(u) + restart * mass;
            var neighbours = graph.Of(u);
            var weightSum = 0.0;
            foreach (var n in neighbours)
            {
                weightSum += n.Similarity;
            }
            if (weightSum <= 0)
            {
                // A node without edges keeps its mass (it restarts from itself).
                rank[u] += (1 - restart) * mass;
                continue;
            }
            var spread = (1 - restart) * mass / weightSum;
            foreach (var n in neighbours)
            {
                var before = residual.GetValueOrDefault(n.Item);
                var after = before + spread * n.Similarity;
                residual[n.Item] = after;
                if (before <= epsilon && after > epsilon)
                {
                    queue.Enqueue(n.Item);
                }
            }
        }
        return rank;
    }
}
