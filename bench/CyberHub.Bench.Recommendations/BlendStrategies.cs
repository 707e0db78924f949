using System.Runtime.CompilerServices;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Recommendations;

/// <summary>
/// The inputs the blend's components take, built once per data set from what a product would hold: the catalog's
/// 10-nearest-neighbour graph (the store's own search from each item), the co-completion model fed every training
/// completion in time order, and each item's path facts from its metadata (topic, level) with prerequisites stated the
/// way a catalog author would: an item of a higher level requires its topic's course of the nearest lower level that has
/// one (nothing else of the simulator's track order).
/// </summary>
public sealed class BlendInputs
{
    public const int Neighbours = 10;
    private static readonly ConditionalWeakTable<EvaluationContext, Task<BlendInputs>> Built = [];

    private BlendInputs(EvaluationContext context, BlendRanker ranker, IReadOnlyDictionary<ContentKey, PathItem> paths)
    {
        Context = context;
        Ranker = ranker;
        Paths = paths;
    }

    public EvaluationContext Context { get; }
    public BlendRanker Ranker { get; }
    public IReadOnlyDictionary<ContentKey, PathItem> Paths { get; }

    public static BlendSettings Settings { get; set; } = BlendSettings.Default;

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
        var facts = records.ToDictionary(r => r.Key, r => ContentFacts.From(r.Value.Content));
        var courses = facts.Where(f => f.Key.ContentType == "course" && f.Value.Topic is not null && PathItem.LevelOf(f.Value.Level) is not null)
            .GroupBy(f => (f.Value.Topic!, PathItem.LevelOf(f.Value.Level)!.Value)).ToDictionary(g => g.Key, g => g.Select(f => f.Key).ToList());
        var paths = facts.ToDictionary(f => f.Key, f =>
        {
            var level = PathItem.LevelOf(f.Value.Level);
            var prerequisites = new List<ContentKey>();
            for (var l = (level ?? 0) - 1; l >= 0 && f.Value.Topic is not null; l--)
            {
                if (courses.TryGetValue((f.Value.Topic, l), out var found))
                {
                    prerequisites.AddRange(found);
                    break;
                }
            }
            return new PathItem(f.Key, f.Value.Topic, level, prerequisites);
        });
        var unlocks = paths.Values.SelectMany(p => p.Prerequisites.Select(q => (q, p.Key))).GroupBy(x => x.q).ToDictionary(g => g.Key, g => (IReadOnlyList<ContentKey>)[.. g.Select(x => x.Key)]);
        var ranker = new BlendRanker(graph, co, k => paths.GetValueOrDefault(k), k => context.ByKey.TryGetValue(k, out var i) ? i.Vector : null,
            k => unlocks.GetValueOrDefault(k) ?? [], Settings);
        return new BlendInputs(context, ranker, paths);
    }

    public IReadOnlyList<HistoryItem> History(RecommendationRequest request) =>
        [.. request.History.Where(c => Paths.ContainsKey(c.Item)).Select(c => new HistoryItem(c.Item, c.At, Context.ByKey[c.Item].Vector, Paths[c.Item]))];
}

/// <summary>One component alone, or the blend, as a harness strategy. Falls back to the starter list without history.</summary>
public sealed class BlendRecommender(EvaluationContext context, string name, BlendRecommender.Mode mode, BlendWeights? weights = null) : IRecommender
{
    public enum Mode { Diffusion, CoCompletion, Path, Blend }

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
                var candidates = vector is null ? [] : await RecommendationCore.CandidatesAsync(context.Store, vector, null, started, cancellationToken);
                var keys = candidates.Select(c => c.Key).ToList();
                var path = inputs.Ranker.Path(history, keys);
                ranked = keys.Select((k, i) => (k, i, s: path.GetValueOrDefault(k))).OrderByDescending(x => x.s?.Ready ?? true).ThenByDescending(x => x.s?.Score ?? 0).ThenBy(x => x.i).Select(x => x.k);
                break;
            }
            default:
                ranked = inputs.Ranker.Recommend(history, request.Count, weights).Select(p => p.Key);
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
