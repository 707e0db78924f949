using System.Runtime.CompilerServices;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Recommendations;

/// <summary>
/// The inputs the blend's components take, built once per data set from what a product would hold: the catalog's
/// 10-nearest-neighbour graph (the store's own search from each item), the co-completion model fed every training
/// completion in time order, each item's path facts as <see cref="ContentFacts"/> reads them from the stored record
/// (topic, level, the prerequisites the catalog states; nothing of the simulator's own choices), and the catalog's content
/// clusters (k-means over the vectors, no metadata). The learned blend's model is fitted on the tuning split by the
/// harness (<see cref="BlendTuning.FitAsync"/>) and set here. As an <see cref="IItemGraph"/> it answers what the stores
/// answer: the lists and their hubness from the graph in memory, the catalog's mean from the store.
/// </summary>
public sealed class BlendInputs : IItemGraph
{
    public const int Neighbours = 10;
    private static readonly ConditionalWeakTable<EvaluationContext, Task<BlendInputs>> Built = [];

    private BlendInputs(EvaluationContext context, BlendRanker ranker, IReadOnlyDictionary<ContentKey, PathItem> paths,
        IReadOnlyDictionary<ContentKey, IReadOnlyList<Neighbour>> lists, CoCompletionModel coCompletion)
    {
        Context = context;
        Ranker = ranker;
        Learned = new LearnedBlendRanker(ranker);
        Paths = paths;
        Lists = lists;
        CoCompletion = coCompletion;
    }

    public EvaluationContext Context { get; }
    public BlendRanker Ranker { get; }

    /// <summary>The learned blend over <see cref="Ranker"/>'s candidates (the "blend" row).</summary>
    public LearnedBlendRanker Learned { get; }
    public IReadOnlyDictionary<ContentKey, PathItem> Paths { get; }

    /// <summary>Each item's stored neighbour list, as the stores' <see cref="IItemGraph"/> keeps it.</summary>
    public IReadOnlyDictionary<ContentKey, IReadOnlyList<Neighbour>> Lists { get; }

    /// <summary>The co-completion model fed every training completion in time order.</summary>
    public CoCompletionModel CoCompletion { get; }

    /// <summary>The mean of every catalog item's vector, as the store's <see cref="IItemGraph.CatalogMeanAsync"/> answers.</summary>
    public Task<float[]?> CatalogMeanAsync(CancellationToken cancellationToken = default) => ItemGraph.Of(Context.Store).CatalogMeanAsync(cancellationToken);

    /// <summary>How many items hold each word, as the store's <see cref="IItemGraph.TermItemsAsync"/> answers.</summary>
    public Task<TermItems> TermItemsAsync(IReadOnlyCollection<string> words, CancellationToken cancellationToken = default) =>
        ItemGraph.Of(Context.Store).TermItemsAsync(words, cancellationToken);

    /// <summary>Every item's record (title and description for its words).</summary>
    public IReadOnlyDictionary<ContentKey, ContentRecord> Records { get; private init; } = new Dictionary<ContentKey, ContentRecord>();

    /// <summary>The neighbour lists of <paramref name="items"/>, as <see cref="IItemGraph.NeighboursAsync"/> answers.</summary>
    public Task<IReadOnlyDictionary<ContentKey, IReadOnlyList<Neighbour>>> NeighboursAsync(IReadOnlyCollection<ContentKey> items, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyDictionary<ContentKey, IReadOnlyList<Neighbour>>>(items.Distinct().Where(Lists.ContainsKey).ToDictionary(k => k, k => Lists[k]));

    /// <summary>The hubness of <paramref name="items"/> from their lists, as <see cref="IItemGraph.HubnessAsync"/> answers.</summary>
    public Task<IReadOnlyDictionary<ContentKey, double>> HubnessAsync(IReadOnlyCollection<ContentKey> items, CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<ContentKey, double>();
        foreach (var item in items)
        {
            if (Lists.TryGetValue(item, out var list) && NeighbourGraph.MeanSimilarity(item, list) is { } hub)
            {
                found[item] = hub;
            }
        }
        return Task.FromResult<IReadOnlyDictionary<ContentKey, double>>(found);
    }

    /// <summary>The learned blend's model for this data set (null: <see cref="BlendModel.Default"/>).</summary>
    public BlendModel? Model { get; set; }

    public static BlendSettings Settings { get; set; } = BlendSettings.Default;

    /// <summary>The content component's parameters (chosen on the tuning split with <c>--tune-content</c>).</summary>
    public static ContentSettings Content { get; set; } = ContentSettings.Default;

    private readonly Dictionary<int, ContentClusters> _clusters = [];

    /// <summary>The catalog's content clusters, about one per <paramref name="itemsPerCluster"/> items (built once per size).</summary>
    public ContentClusters Clusters(int itemsPerCluster)
    {
        lock (_clusters)
        {
            if (!_clusters.TryGetValue(itemsPerCluster, out var clusters))
            {
                var k = Math.Max(2, (int)Math.Round(Context.Items.Count / (double)itemsPerCluster));
                _clusters[itemsPerCluster] = clusters = ContentClusters.Build([.. Context.Items.Select(i => (i.Key, i.Vector))], k);
            }
            return clusters;
        }
    }

    public static Task<BlendInputs> ForAsync(EvaluationContext context) => Built.GetValue(context, c => BuildAsync(c));

    private static async Task<BlendInputs> BuildAsync(EvaluationContext context)
    {
        var records = (await context.Store.GetManyAsync([.. context.Items.Select(i => i.Key)])).ToDictionary(v => v.Key);
        var lists = new List<(ContentKey, IReadOnlyList<Neighbour>)>();
        foreach (var item in context.Items)
        {
            var hits = await context.Store.SearchAsync(item.Vector, Neighbours, null, new HashSet<ContentKey> { item.Key });
            lists.Add((item.Key, [.. hits.Select(h => new Neighbour(ContentVectors.KeyOf(h.Content), h.Score))]));
        }
        var graph = new NeighbourGraph(lists);
        var co = new CoCompletionModel();
        foreach (var (log, index) in context.TrainingLogs.SelectMany(l => l.Select((c, i) => (Log: l, Index: i))).OrderBy(x => x.Log[x.Index].At).Select(x => (x.Log, x.Index)))
        {
            co.Add([.. log.Take(index).Select(c => c.Item)], log[index].Item, log[index].At);
        }
        var paths = records.ToDictionary(r => r.Key, r =>
        {
            var facts = ContentFacts.From(r.Value.Content);
            return new PathItem(r.Key, facts.Topic, PathItem.LevelOf(facts.Level), facts.Before);
        });
        var unlocks = paths.Values.SelectMany(p => p.Prerequisites.Select(q => (q, p.Key))).GroupBy(x => x.q).ToDictionary(g => g.Key, g => (IReadOnlyList<ContentKey>)[.. g.Select(x => x.Key)]);
        var ranker = new BlendRanker(graph, co, k => paths.GetValueOrDefault(k), k => context.ByKey.TryGetValue(k, out var i) ? i.Vector : null,
            k => unlocks.GetValueOrDefault(k) ?? [], Settings);
        return new BlendInputs(context, ranker, paths, lists.ToDictionary(l => l.Item1, l => l.Item2), co)
        {
            Records = records.ToDictionary(r => r.Key, r => r.Value.Content),
        };
    }

    public IReadOnlyList<HistoryItem> History(IReadOnlyList<Completion> history) =>
        [.. history.Where(c => Paths.ContainsKey(c.Item)).Select(c => new HistoryItem(c.Item, c.At, Context.ByKey[c.Item].Vector, Paths[c.Item]))];

    public IReadOnlyList<HistoryItem> History(RecommendationRequest request) => History(request.History);
}

/// <summary>
/// The content component's parameters: the catalog's content clusters (one per <see cref="ItemsPerCluster"/> items), how
/// much the learner's share of a candidate's cluster adds to its cosine (<see cref="ClusterBoost"/>), when two groups
/// of the history are one interest (<see cref="MergeAbove"/>), the history's step decay (1: recency only, as today's
/// profile), and pseudo-relevance feedback: each interest's centroid plus <see cref="Expansion"/> × the mean of its 10
/// nearest items, searched again (0: none).
/// </summary>
public sealed record ContentSettings(int ItemsPerCluster, double ClusterBoost, double MergeAbove, double StepDecay = 1.0, double Expansion = 0, double Hubness = 0)
{
    public static ContentSettings Default { get; } = new(50, 0.1, 0.0, 1.0, 0.0, Hubness: 0.5);
}

/// <summary>
/// The content side without any metadata: the learner's interests (<see cref="Interests.Cluster"/> over the history's
/// vectors, weighted as the blend weighs history), per interest the store's nearest items to its centroid re-scored by
/// cosine + boost × the learner's share of the item's content cluster, interleaved by interest weight.
/// </summary>
public sealed class MultiInterestRecommender(EvaluationContext context, string name, ContentSettings? settings = null) : IRecommender
{
    public const int PerInterest = 60;

    public string Name => name;

    public async Task<IReadOnlyList<ContentKey>> RecommendAsync(RecommendationRequest request, CancellationToken cancellationToken)
    {
        var s = settings ?? BlendInputs.Content;
        var inputs = await BlendInputs.ForAsync(context);
        var history = inputs.History(request);
        if (history.Count == 0)
        {
            return await TodayRecommender.StarterAsync(context, request.Count, cancellationToken);
        }
        var weights = new BlendRanker(new NeighbourGraph([]), new CoCompletionModel(), _ => null, _ => null, _ => [],
            BlendSettings.Default with { StepDecay = s.StepDecay }).Weights(history);
        var interests = Interests.Cluster([.. history.Select((h, i) => (h.Key, h.Vector ?? [], weights[i]))], mergeAbove: s.MergeAbove);
        var started = request.History.Select(c => c.Item).ToHashSet();
        if (s.Expansion > 0)
        {
            var expanded = new List<Interest>(interests.Count);
            foreach (var interest in interests)
            {
                var near = await context.Store.SearchAsync(interest.Centroid, 10, null, started, cancellationToken);
                var centroid = (float[])interest.Centroid.Clone();
                foreach (var hit in near)
                {
                    var vector = context.ByKey[ContentVectors.KeyOf(hit.Content)].Vector;
                    for (var d = 0; d < centroid.Length; d++)
                    {
                        centroid[d] += (float)(s.Expansion / Math.Max(1, near.Count)) * vector[d];
                    }
                }
                expanded.Add(interest with { Centroid = centroid });
            }
            interests = expanded;
        }
        var clusters = inputs.Clusters(s.ItemsPerCluster);
        var shares = clusters.Share([.. history.Select((h, i) => (h.Key, weights[i]))]);
        var lists = new List<IReadOnlyList<ContentKey>>();
        foreach (var interest in interests)
        {
            var hits = await context.Store.SearchAsync(interest.Centroid, PerInterest, null, started, cancellationToken);
            lists.Add([.. hits
                .Select(h => (Key: ContentVectors.KeyOf(h.Content), Score: h.Score + s.ClusterBoost * shares.GetValueOrDefault(clusters.Of(ContentVectors.KeyOf(h.Content)))
                    - s.Hubness * Hub(inputs, ContentVectors.KeyOf(h.Content))))
                .OrderByDescending(x => x.Score).ThenBy(x => x.Key.ContentType, StringComparer.Ordinal).ThenBy(x => x.Key.ContentId, StringComparer.Ordinal)
                .Select(x => x.Key)]);
        }
        return Interests.Interleave(interests, lists, request.Count);
    }

    /// <summary>
    /// How much of a hub the item is: the mean similarity of its stored neighbour list (cross-domain similarity local
    /// scaling, Conneau et al. 2018). An item close to everything is close to every profile without being what it is about.
    /// </summary>
    private static double Hub(BlendInputs inputs, ContentKey key) =>
        inputs.Lists.TryGetValue(key, out var list) && list.Count > 0 ? list.Average(n => n.Similarity) : 0;
}

/// <summary>One component alone, or the blend, as a harness strategy. Falls back to the starter list without history.</summary>
public sealed class BlendRecommender(EvaluationContext context, string name, BlendRecommender.Mode mode, BlendWeights? weights = null) : IRecommender
{
    public enum Mode { Diffusion, CoCompletion, Path, WeightedBlend, Blend }

    public string Name => name;

    public async Task<IReadOnlyList<ContentKey>> RecommendAsync(RecommendationRequest request, CancellationToken cancellationToken)
    {
        var inputs = await BlendInputs.ForAsync(context);
        var history = inputs.History(request);
        if (history.Count == 0)
        {
            return await TodayRecommender.StarterAsync(context, request.Count, cancellationToken);
        }
        var done = request.History.Select(c => c.Item).ToHashSet();
        IEnumerable<ContentKey> ranked;
        switch (mode)
        {
            case Mode.Diffusion:
                ranked = inputs.Ranker.Content(history).OrderByDescending(s => s.Value.Score).Select(s => s.Key);
                break;
            case Mode.CoCompletion:
                ranked = inputs.Ranker.CoCompletion(history).OrderByDescending(s => s.Value.Score).ThenBy(s => s.Key.ContentId, StringComparer.Ordinal).Select(s => s.Key);
                break;
            case Mode.Path:
            {
                // The path alone over the vector search's nearest candidates: ready items by path score, ties in search order.
                var (vector, _, started) = await context.ProfileAsync(request, cancellationToken);
                var candidates = vector is null ? [] : await RecommendationCore.CandidatesAsync(context.Store, vector, null, started, RecommendationCore.CandidatePool, cancellationToken);
                var keys = candidates.Select(c => c.Key).ToList();
                var path = inputs.Ranker.Path(history, keys);
                ranked = keys.Select((k, i) => (k, i, s: path.GetValueOrDefault(k))).OrderByDescending(x => x.s?.Ready ?? true).ThenByDescending(x => x.s?.Score ?? 0).ThenBy(x => x.i).Select(x => x.k);
                break;
            }
            case Mode.WeightedBlend:
                ranked = inputs.Ranker.Recommend(history, request.Count, weights ?? BlendWeights.Default).Select(p => p.Key);
                break;
            default:
                ranked = inputs.Learned.Recommend(history, request.Count, inputs.Model).Select(p => p.Key);
                break;
        }
        var list = ranked.Where(k => !done.Contains(k)).Take(request.Count).ToList();
        if (list.Count < request.Count)
        {
            // A component with too few candidates (co-completion for a rare item) is padded from the profile's nearest items.
            var (vector, _, started) = await context.ProfileAsync(request, cancellationToken);
            if (vector is not null)
            {
                var hits = await context.Store.SearchAsync(vector, request.Count + list.Count, null, started, cancellationToken);
                list.AddRange(hits.Select(h => ContentVectors.KeyOf(h.Content)).Where(k => !list.Contains(k)).Take(request.Count - list.Count));
            }
        }
        return list;
    }
}

/// <summary>
/// What the service serves, by the service's own code: the same reads in the same shape (the profile's nearest
/// items, <see cref="BlendSettings.Nearest"/>, through <see cref="RecommendationCore.CandidatesAsync"/>, the item graph two hops around the latest completions
/// through <see cref="ServedRanking.NeighbourhoodAsync"/>, the components' candidates, the hubness of every candidate
/// whose list that graph did not hold, the catalog's mean vector) and <see cref="ServedRanking.Rank"/> over them, the
/// 50-item list cut to 10 as a request for 10 is. The co-completion counts are the harness's model fed every training
/// completion (the service's store answers the same counts for the pairs leaving the history).
/// </summary>
public sealed class ServedRecommender(EvaluationContext context, string name, ServedBlend? blend = null, BlendSettings? settings = null) : IRecommender
{
    public string Name => name;

    public async Task<IReadOnlyList<ContentKey>> RecommendAsync(RecommendationRequest request, CancellationToken cancellationToken) =>
        [.. (await PicksAsync(request, cancellationToken)).Take(request.Count).Select(p => p.Key)];

    public async Task<IReadOnlyList<BlendedPick>> PicksAsync(RecommendationRequest request, CancellationToken cancellationToken)
    {
        var inputs = await BlendInputs.ForAsync(context);
        var history = inputs.History(request);
        if (history.Count == 0)
        {
            return [.. (await TodayRecommender.StarterAsync(context, request.Count, cancellationToken))
                .Select(k => new BlendedPick(k, 0, new ComponentScores(0, 0, 0, 0), RecommendationSource.Popular, null, true, []))];
        }
        var (vector, _, started) = await context.ProfileAsync(request, cancellationToken);
        var nearest = vector is null ? [] : await RecommendationCore.CandidatesAsync(
            context.Store, vector, null, started, (settings ?? BlendInputs.Settings).Nearest, cancellationToken);
        var graph = await ServedRanking.NeighbourhoodAsync(ServedRanking.Seeds(history), inputs.NeighboursAsync, cancellationToken);
        var keys = history.Select(h => h.Key).Concat(nearest.Select(n => n.Key))
            .Concat(ServedRanking.ComponentCandidates(history, graph, inputs.CoCompletion, settings ?? BlendInputs.Settings)).Distinct().ToList();
        await ServedRanking.LearnFromStoreAsync(inputs, graph, keys, cancellationToken);
        var interestWords = await ServedRanking.ReadInterestWordsAsync(
            inputs, ServedRanking.Seeds(history).Select(k => inputs.Records[k]), settings ?? BlendInputs.Settings, cancellationToken);
        ServedRanking.LearnWords(graph, keys.Where(inputs.Records.ContainsKey).Select(k => inputs.Records[k]), interestWords);
        var items = keys.Where(context.ByKey.ContainsKey)
            .ToDictionary(k => k, k => new RankingItem(k, context.ByKey[k].Vector, inputs.Paths[k]));
        return ServedRanking.Rank(new ServedRankingInput(history, graph, inputs.CoCompletion, items, [.. nearest.Select(n => n.Key)], started),
            blend ?? ServedBlend.Default, settings ?? BlendInputs.Settings);
    }
}
