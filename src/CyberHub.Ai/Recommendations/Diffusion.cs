using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Recommendations;

/// <summary>An edge of the item graph: a neighbour and how close it is (a cosine similarity, at most 1).</summary>
public readonly record struct Neighbour(ContentKey Item, double Similarity);

/// <summary>
/// The catalog's k-nearest-neighbour graph: for each item, its nearest items by vector (as the vector store finds them
/// when the item is imported). Edges are made symmetric (a neighbour of b is b's neighbour too) and weighted by
/// similarity raised to <c>sharpness</c>, so close neighbours carry most of the mass. Only edges with positive similarity
/// are kept. The edges are fixed once built. Each item whose own list was given also has its <see cref="Hubness"/>: the mean
/// similarity of that list; the hubness of more items can be learnt (<see cref="LearnHubness"/>) before the graph is shared.
/// Items are numbered once here (their edges as arrays of those numbers, heaviest first), so a diffusion walks arrays
/// instead of hashing content keys at every step.
/// </summary>
public sealed class NeighbourGraph
{
    private static readonly Neighbour[] NoNeighbours = [];

    private readonly Dictionary<ContentKey, int> _ids = [];
    private readonly List<ContentKey> _items = [];
    private readonly Neighbour[][] _edges;
    private readonly int[][] _targets;
    private readonly double[] _weightSums;
    private readonly Dictionary<ContentKey, double> _hubness = [];
    private volatile Diffused? _lastDiffusion;

    public NeighbourGraph(IEnumerable<(ContentKey Item, IReadOnlyList<Neighbour> Nearest)> lists, double sharpness = 1)
    {
        ArgumentNullException.ThrowIfNull(lists);
        var links = new List<Dictionary<int, double>?>();
        int Id(ContentKey key)
        {
            if (!_ids.TryGetValue(key, out var id))
            {
                _ids[key] = id = _items.Count;
                _items.Add(key);
                links.Add(null);
            }
            return id;
        }
        void Link(int a, int b, double weight)
        {
            var list = links[a] ??= [];
            list[b] = Math.Max(list.GetValueOrDefault(b), weight);
        }
        foreach (var (item, nearest) in lists)
        {
            if (MeanSimilarity(item, nearest) is { } hub)
            {
                _hubness[item] = hub;
            }
            foreach (var n in nearest)
            {
                if (n.Item == item || !(n.Similarity > 0))
                {
                    continue;
                }
                var weight = Math.Pow(Math.Min(1, n.Similarity), sharpness);
                var (a, b) = (Id(item), Id(n.Item));
                Link(a, b, weight);
                Link(b, a, weight);
            }
        }
        _edges = new Neighbour[_items.Count][];
        _targets = new int[_items.Count][];
        _weightSums = new double[_items.Count];
        for (var id = 0; id < _items.Count; id++)
        {
            // Heaviest first, ties by key: the order a diffusion pushes mass in, so its sums come out the same every time.
            var edges = links[id]!.Select(l => (Target: l.Key, Weight: l.Value)).ToArray();
            Array.Sort(edges, (x, y) =>
            {
                var order = y.Weight.CompareTo(x.Weight);
                return order != 0 ? order : Compare(_items[x.Target], _items[y.Target]);
            });
            _edges[id] = [.. edges.Select(e => new Neighbour(_items[e.Target], e.Weight))];
            _targets[id] = [.. edges.Select(e => e.Target)];
            foreach (var e in edges)
            {
                _weightSums[id] += e.Weight;
            }
        }
        Count = _items.Count;
    }

    private static int Compare(ContentKey x, ContentKey y)
    {
        var order = string.CompareOrdinal(x.ContentType, y.ContentType);
        return order != 0 ? order : string.CompareOrdinal(x.ContentId, y.ContentId);
    }

    public IReadOnlyList<Neighbour> Of(ContentKey item) => _ids.TryGetValue(item, out var id) ? _edges[id] : NoNeighbours;

    /// <summary>How many items have at least one edge.</summary>
    public int Count { get; }

    /// <summary>
    /// How much of a hub the item is: the mean similarity of its own stored neighbour list (the local scaling term of
    /// cross-domain similarity local scaling, Conneau et al. 2018). An item close to everything is close to every learner's
    /// profile without being what the learner's items are about. Null when the item's own list was not among the lists
    /// the graph was built from (an item only reached through others' lists).
    /// </summary>
    public double? Hubness(ContentKey item) => _hubness.TryGetValue(item, out var value) ? value : null;

    /// <summary>
    /// Learns the <see cref="Hubness"/> of more items (as <see cref="IItemGraph.HubnessAsync"/> reads it) without adding
    /// their edges: the walk stays the one over the lists the graph was built from, and what it already knows is kept.
    /// Call it before the graph is shared.
    /// </summary>
    public void LearnHubness(IReadOnlyDictionary<ContentKey, double> hubness)
    {
        ArgumentNullException.ThrowIfNull(hubness);
        foreach (var (item, hub) in hubness)
        {
            _hubness.TryAdd(item, hub);
        }
    }

    /// <summary>
    /// The catalog's mean vector (<see cref="IItemGraph.CatalogMeanAsync"/>), when learnt: the direction every item shares,
    /// which the content score takes out before it compares a candidate with the learner's interest.
    /// </summary>
    public float[]? CatalogMean { get; private set; }

    /// <summary>Learns the catalog's mean vector (null: none known). Call it before the graph is shared.</summary>
    public void LearnCatalogMean(float[]? mean) => CatalogMean = mean;

    private readonly Dictionary<ContentKey, WordVector> _words = [];
    private readonly Dictionary<ContentKey, WordVector> _weighedWords = [];

    /// <summary>The item's words as a candidate's (<see cref="ItemWords.Vector(string, string?)"/>), when learnt (<see cref="LearnWords"/>); null otherwise.</summary>
    public WordVector? Words(ContentKey item) => _words.TryGetValue(item, out var vector) ? vector : null;

    /// <summary>
    /// The words of one of the learner's items, weighed by how many items of the catalog hold each
    /// (<see cref="TermItems.Vector"/>), when learnt (<see cref="LearnWords"/>); null otherwise.
    /// </summary>
    public WordVector? WeighedWords(ContentKey item) => _weighedWords.TryGetValue(item, out var vector) ? vector : null;

    /// <summary>
    /// Learns the words of <paramref name="items"/> as candidates' and those of <paramref name="interest"/> (the learner's
    /// items) weighed by <paramref name="termItems"/> (<see cref="IItemGraph.TermItemsAsync"/>). Call it before the graph is shared.
    /// </summary>
    public void LearnWords(IReadOnlyDictionary<ContentKey, WordVector> items, IReadOnlyDictionary<ContentKey, ItemWords> interest, TermItems termItems)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(interest);
        ArgumentNullException.ThrowIfNull(termItems);
        foreach (var (item, words) in items)
        {
            _words[item] = words;
        }
        foreach (var (item, words) in interest)
        {
            _weighedWords[item] = termItems.Vector(words);
        }
    }

    /// <summary>The mean similarity of <paramref name="item"/>'s own list (the item itself not counted); null for an empty list.</summary>
    public static double? MeanSimilarity(ContentKey item, IReadOnlyList<Neighbour> nearest)
    {
        ArgumentNullException.ThrowIfNull(nearest);
        var (sum, count) = (0.0, 0);
        foreach (var n in nearest)
        {
            if (n.Item != item)
            {
                (sum, count) = (sum + n.Similarity, count + 1);
            }
        }
        return count > 0 ? sum / count : null;
    }

    /// <summary>The item's number (0 ..) in this graph, or -1 when it has no edges.</summary>
    internal int IdOf(ContentKey item) => _ids.TryGetValue(item, out var id) ? id : -1;

    internal ContentKey ItemOf(int id) => _items[id];

    /// <summary>The item's neighbours by number, heaviest first.</summary>
    internal int[] TargetsOf(int id) => _targets[id];

    /// <summary>The item's edge weights, in the order of <see cref="TargetsOf"/>.</summary>
    internal Neighbour[] EdgesOf(int id) => _edges[id];

    /// <summary>The sum of the item's edge weights.</summary>
    internal double WeightSumOf(int id) => _weightSums[id];

    /// <summary>
    /// The graph keeps the last diffusion it ran (its seeds, parameters and result): a served ranking asks for the same
    /// one twice, once for the candidates to fetch and once to rank them. Read and replaced whole, so callers on several
    /// threads at worst compute it again.
    /// </summary>
    internal Diffused? LastDiffusion
    {
        get => _lastDiffusion;
        set => _lastDiffusion = value;
    }

    internal sealed record Diffused((ContentKey Item, double Weight)[] Seeds, double Restart, double Epsilon, int MaxPushes, IReadOnlyDictionary<ContentKey, double> Rank);
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
        (ContentKey Item, double Weight)[] given = [.. seeds];
        if (graph.LastDiffusion is { } last && last.Restart == restart && last.Epsilon == epsilon && last.MaxPushes == maxPushes
            && last.Seeds.AsSpan().SequenceEqual(given))
        {
            return last.Rank;
        }
        var rank = Push(graph, given, restart, epsilon, maxPushes);
        graph.LastDiffusion = new NeighbourGraph.Diffused(given, restart, epsilon, maxPushes, rank);
        return rank;
    }

    private static IReadOnlyDictionary<ContentKey, double> Push(
        NeighbourGraph graph, (ContentKey Item, double Weight)[] seeds, double restart, double epsilon, int maxPushes)
    {
        var total = seeds.Where(s => s.Weight > 0).Sum(s => s.Weight);
        var result = new Dictionary<ContentKey, double>();
        if (!(total > 0))
        {
            return result;
        }
        // Seeds without edges get numbers after the graph's own: they keep their mass, and take their turn in the queue.
        var count = graph.Count;
        var extra = new List<ContentKey>();
        int Id(ContentKey item)
        {
            var id = graph.IdOf(item);
            if (id >= 0)
            {
                return id;
            }
            var at = extra.IndexOf(item);
            if (at < 0)
            {
                extra.Add(item);
                at = extra.Count - 1;
            }
            return count + at;
        }
        var ids = seeds.Select(s => s.Weight > 0 ? Id(s.Item) : -1).ToArray();
        var residual = new double[count + extra.Count];
        var rank = new double[count + extra.Count];
        var queue = new Queue<int>();
        for (var i = 0; i < seeds.Length; i++)
        {
            if (ids[i] < 0)
            {
                continue;
            }
            var item = ids[i];
            var before = residual[item];
            residual[item] = before + seeds[i].Weight / total;
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
            rank[u] += restart * mass;
            var weightSum = u < count ? graph.WeightSumOf(u) : 0;
            if (weightSum <= 0)
            {
                // A node without edges keeps its mass (it restarts from itself).
                rank[u] += (1 - restart) * mass;
                continue;
            }
            var spread = (1 - restart) * mass / weightSum;
            var targets = graph.TargetsOf(u);
            var edges = graph.EdgesOf(u);
            for (var e = 0; e < targets.Length; e++)
            {
                var v = targets[e];
                var before = residual[v];
                var after = before + spread * edges[e].Similarity;
                residual[v] = after;
                if (before <= epsilon && after > epsilon)
                {
                    queue.Enqueue(v);
                }
            }
        }
        // Every node pushed holds rank (restart × a mass above epsilon > 0); no other does.
        for (var id = 0; id < rank.Length; id++)
        {
            if (rank[id] > 0)
            {
                result[id < count ? graph.ItemOf(id) : extra[id - count]] = rank[id];
            }
        }
        return result;
    }
}
