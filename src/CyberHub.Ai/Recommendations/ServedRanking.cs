using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Recommendations;

/// <summary>An item as the served ranking knows it: its vector (null when unknown) and its place in a learning path.</summary>
public sealed record RankingItem(ContentKey Key, float[]? Vector, PathItem Path);

/// <summary>The words of the learner's latest items and how many items of the catalog hold each: <see cref="ServedRanking.ReadInterestWordsAsync"/>.</summary>
public sealed record InterestWords(IReadOnlyDictionary<ContentKey, ItemWords> Items, TermItems TermItems);

/// <summary>How the served ranking turns the components' scores into one.</summary>
public enum ServedFusion
{
    /// <summary>Each component scaled by its best candidate, weighted and summed (<see cref="Blend.Rank"/>).</summary>
    Scaled,

    /// <summary>
    /// Each component on an absolute scale: co-completion as the share of the learner's weighted history followed by the
    /// item (0..1, not rescaled by the best candidate, so thin evidence stays small), times the confidence
    /// n / (n + <see cref="ServedBlend.CoSupport"/>) of the history's counts; content scaled by its best; the path as it is.
    /// </summary>
    Calibrated,

    /// <summary>Weighted reciprocal rank fusion: Σ weight / (<see cref="ServedBlend.RankK"/> + rank) over the components that reach the item.</summary>
    Rank,

    /// <summary>
    /// Co-completion's shares shrunk toward a content and path prior by <see cref="ServedBlend.CoSupport"/> pseudo-learners
    /// per history item: other learners decide where many of them completed the learner's items, content and path where few did.
    /// </summary>
    Shrunk,

    /// <summary>
    /// As <see cref="Shrunk"/>, but the history items' estimates are pooled by their weighted geometric mean (a product of
    /// experts) instead of their weighted mean: an item that several of the learner's items lead to outranks one that only
    /// the latest leads to.
    /// </summary>
    Pooled,
}

/// <summary>Which items not ready (a prerequisite not done) are held back after the others.</summary>
public enum HoldBack
{
    /// <summary>Every item not ready comes after every ready one.</summary>
    NotReady,

    /// <summary>
    /// Items not ready come after the others unless other learners' evidence says they are taken from here: a
    /// co-completion share of at least <see cref="ServedBlend.Support"/> from the learner's history (learners skip
    /// what they already know). Such a pick still says what it comes after.
    /// </summary>
    Unsupported,

    /// <summary>Readiness only through the scores.</summary>
    None,
}

/// <summary>
/// How the served ranking scores and orders: the components fused by <see cref="Fusion"/> with <see cref="Weights"/>
/// (the learned blend is a harness row, not served); the items <see cref="HoldBack"/> names held back after the
/// others; maximal marginal relevance over the rest with <see cref="Relevance"/> (1: the fused order alone); and at
/// least <see cref="PerInterest"/> picks of each of the learner's topics on the first page (<see cref="ThinPerInterest"/>
/// only when co-completion's confidence for the learner is below 0.5).
/// </summary>
public sealed record ServedBlend(
    BlendWeights Weights, double Relevance = Ranking.Relevance, int PerInterest = 0,
    ServedFusion Fusion = ServedFusion.Scaled, HoldBack HoldBack = HoldBack.NotReady, double Support = 0.1, double RankK = 10, double CoSupport = 0,
    int ThinPerInterest = 0, bool Renormalise = false, double Passed = 1)
{
    /// <summary>What the service serves: chosen with the evaluation harness (docs/recommendations.md, "The served ranking").</summary>
    public static ServedBlend Default { get; } = new(BlendWeights.Default, Relevance: 1.0, PerInterest: 0,
        Fusion: ServedFusion.Shrunk, HoldBack: HoldBack.Unsupported, Support: 0.02, RankK: 10, CoSupport: 5, ThinPerInterest: 2);

    /// <summary>
    /// What was served before the co-completion shrinkage: rank fusion (k 10; content 0.5, co-completion 2 × the confidence
    /// n / (n + 5), path 0.5), not ready held back below a co-completion share of 0.02, 2 per interest where the confidence is below 0.5.
    /// </summary>
    public static ServedBlend RankFusion { get; } = new(BlendWeights.Default, Relevance: 1.0, PerInterest: 0,
        Fusion: ServedFusion.Rank, HoldBack: HoldBack.Unsupported, Support: 0.02, RankK: 10, CoSupport: 5, ThinPerInterest: 2);

    /// <summary>What was served before the rank fusion: the weighted sum scaled by the best, ready first, relevance 0.75, two per interest.</summary>
    public static ServedBlend Before { get; } = new(BlendWeights.Default, Ranking.Relevance, PerInterest: 2);

    public string Describe() => (Fusion switch
        {
            ServedFusion.Scaled => "weighted sum, scaled by the best" + (CoSupport > 0 ? $", confidence n/(n+{CoSupport})" : ""),
            ServedFusion.Calibrated => "calibrated sum" + (CoSupport > 0 ? $", confidence n/(n+{CoSupport})" : ""),
            ServedFusion.Shrunk => $"co-completion shrunk toward content and path by {CoSupport} learners",
            ServedFusion.Pooled => $"co-completion shrunk toward content and path by {CoSupport} learners, geometric pool",
            _ => $"rank fusion k {RankK}" + (CoSupport > 0 ? $", confidence n/(n+{CoSupport})" : ""),
        } + $" (content {Weights.Content}, co-completion {Weights.CoCompletion}, path {Weights.Path}, popular {Weights.Popular})")
        + $", relevance {Relevance}"
        + HoldBack switch
        {
            HoldBack.NotReady => ", ready first",
            HoldBack.Unsupported => $", not ready held back below co-completion share {Support}",
            _ => ", readiness a feature only",
        }
        + (PerInterest > 0 ? $", {PerInterest} per interest in the first {ServedRanking.FirstPage}" : "")
        + (ThinPerInterest > 0 ? $", {ThinPerInterest} per interest where co-completion's confidence is below 0.5" : "")
        + (Renormalise ? ", shares renormalised over what the learner has not done" : "")
        + (Passed < 1 ? $", what the learner has gone beyond × {Passed}" : "");
}

/// <summary>
/// Everything the served ranking reads, fetched by its caller: the learner's completed items (oldest first, each in the
/// catalog), the item graph around them, the co-completion counts leaving them, every item fetched (the history, the
/// vector search's nearest items, the components' own candidates: <see cref="ServedRanking.ComponentCandidates"/>), the
/// vector search's order, and what the learner has started (never recommended).
/// </summary>
public sealed record ServedRankingInput(
    IReadOnlyList<HistoryItem> History,
    NeighbourGraph Graph,
    CoCompletionModel CoCompletion,
    IReadOnlyDictionary<ContentKey, RankingItem> Items,
    IReadOnlyList<ContentKey> Nearest,
    IReadOnlySet<ContentKey> Started,
    string? ContentType = null);

/// <summary>
/// What the served ranking used for one learner's list, for <c>explain</c> (the same for every pick of the list).
/// <see cref="Method"/>: the fusion (<c>shrunk</c>, <c>shrunk_geometric</c>, <c>weighted_sum</c>, <c>calibrated</c> or
/// <c>rank</c>); <see cref="Weights"/>: the weight each component actually had, summing to 1 (all 0 when nothing was
/// weighed): for the shrunk fusions, co-completion's is <see cref="Evidence"/> and content and path share the rest as the
/// prior splits it (<see cref="PriorContent"/>, <see cref="PriorPath"/>); for the others, the blend's weights with
/// co-completion's times <see cref="Evidence"/>, scaled to sum to 1. <see cref="Evidence"/>: for the shrunk fusions, the
/// weight other learners' shares got, Σ w_A · n_A / (n_A + m) over the learner's items A (their recency weights w_A summing
/// to 1); otherwise the confidence n / (n + m) co-completion's weight was multiplied by (1 when m is 0).
/// <see cref="Learners"/>: n, the weighted mean number of learners who completed the learner's items;
/// <see cref="PseudoLearners"/>: m (<see cref="ServedBlend.CoSupport"/>).
/// </summary>
public sealed record ServedMix(
    string Method, BlendWeights Weights, double Evidence, double Learners, double PseudoLearners, double PriorContent, double PriorPath);

/// <summary>A ranked list and what its ranking used (<see cref="ServedRanking.RankWithMix"/> always says; null for other rankings).</summary>
public sealed record ServedRanked(IReadOnlyList<BlendedPick> Picks, ServedMix? Mix);

/// <summary>
/// The ranking <see cref="RecommendationService"/> serves to a learner with a history, as a pure function: plain inputs
/// in (<see cref="ServedRankingInput"/>), the ranked picks out, each with its strongest source and the learner's item
/// behind it (<see cref="Blend.Reason"/> makes the reason). The evaluation harness calls the same code with its own
/// reads, so its "served ranking" row is what the service serves. No I/O: the reads are the caller's
/// (<see cref="Seeds"/>, <see cref="NeighbourhoodAsync"/>, <see cref="ComponentCandidates"/> say which).
/// </summary>
public static class ServedRanking
{
    /// <summary>
    /// How many of the learner's latest completions seed the item graph and the co-completion counts: a completion's
    /// weight falls by <see cref="BlendSettings.StepDecay"/> per later one (0.7^30 ≈ 2e-5), so older ones would add
    /// round trips and nothing else. The path still sees the whole history (a prerequisite done long ago is done).
    /// </summary>
    public const int RecentSeeds = 30;

    /// <summary>The first page a request shows by default: where <see cref="ServedBlend.PerInterest"/> applies.</summary>
    public const int FirstPage = 10;

    /// <summary>The items whose graph neighbourhood and co-completion counts are read: the latest <see cref="RecentSeeds"/>.</summary>
    public static IReadOnlyList<ContentKey> Seeds(IReadOnlyList<HistoryItem> history) =>
        [.. history.Skip(Math.Max(0, history.Count - RecentSeeds)).Select(h => h.Key)];

    /// <summary>
    /// The item graph around <paramref name="seeds"/>: their neighbour lists, then their neighbours' lists (two reads), so
    /// the diffusion reaches items two hops away. <paramref name="read"/> is the store's <see cref="IItemGraph.NeighboursAsync"/>.
    /// </summary>
    public static async Task<NeighbourGraph> NeighbourhoodAsync(
        IReadOnlyList<ContentKey> seeds,
        Func<IReadOnlyCollection<ContentKey>, CancellationToken, Task<IReadOnlyDictionary<ContentKey, IReadOnlyList<Neighbour>>>> read,
        CancellationToken cancellationToken)
    {
        var first = await read(seeds, cancellationToken);
        var seen = seeds.ToHashSet();
        var next = first.Values.SelectMany(l => l).Select(n => n.Item).Where(seen.Add).ToList();
        var second = next.Count == 0 ? new Dictionary<ContentKey, IReadOnlyList<Neighbour>>() : await read(next, cancellationToken);
        return new NeighbourGraph(first.Concat(second).Select(p => (p.Key, p.Value)));
    }

    /// <summary>
    /// The items of <paramref name="candidates"/> (each once) whose <see cref="NeighbourGraph.Hubness"/> the graph does
    /// not know: their lists were not among those read around the history. Read them with
    /// <see cref="IItemGraph.HubnessAsync"/> and give them to <see cref="NeighbourGraph.LearnHubness"/>, so the content
    /// score corrects every candidate by its own hubness instead of the mean of the known ones.
    /// </summary>
    public static IReadOnlyList<ContentKey> WithoutHubness(NeighbourGraph graph, IEnumerable<ContentKey> candidates)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(candidates);
        var seen = new HashSet<ContentKey>();
        return [.. candidates.Where(k => graph.Hubness(k) is null && seen.Add(k))];
    }

    /// <summary>
    /// What the content score needs of the store beyond the lists around the history, in two concurrent reads: the
    /// hubness of the <paramref name="candidates"/> whose lists <paramref name="neighbourhood"/> does not hold
    /// (<see cref="WithoutHubness"/>) and the catalog's mean vector; both learnt by <paramref name="neighbourhood"/>.
    /// </summary>
    public static async Task LearnFromStoreAsync(
        IItemGraph graph, NeighbourGraph neighbourhood, IEnumerable<ContentKey> candidates, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(neighbourhood);
        var hubness = graph.HubnessAsync(WithoutHubness(neighbourhood, candidates), cancellationToken);
        var mean = graph.CatalogMeanAsync(cancellationToken);
        neighbourhood.LearnHubness(await hubness);
        neighbourhood.LearnCatalogMean(await mean);
    }

    /// <summary>
    /// The words of the learner's <paramref name="seeds"/> (the records of <see cref="Seeds"/>) and how many items of the
    /// catalog hold each (one read of <see cref="IItemGraph.TermItemsAsync"/>, for the seeds' words only): what
    /// <see cref="LearnWords"/> weighs the learner's words by. Null (nothing read) when <paramref name="settings"/> gives
    /// words no weight.
    /// </summary>
    public static async Task<InterestWords?> ReadInterestWordsAsync(
        IItemGraph graph, IEnumerable<ContentRecord> seeds, BlendSettings? settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(seeds);
        if (!((settings ?? BlendSettings.Default).Words > 0))
        {
            return null;
        }
        var interest = new Dictionary<ContentKey, ItemWords>();
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        foreach (var seed in seeds)
        {
            var words = ItemWords.Of(seed.Title, seed.Description);
            interest[ContentVectors.KeyOf(seed)] = words;
            distinct.UnionWith(words.Words);
        }
        return new InterestWords(interest, distinct.Count == 0 ? TermItems.None : await graph.TermItemsAsync(distinct, cancellationToken));
    }

    /// <summary>
    /// Gives <paramref name="neighbourhood"/> the words of every candidate in <paramref name="items"/> and the learner's
    /// weighed words (<see cref="ReadInterestWordsAsync"/>; null: none, the content score compares vectors alone).
    /// </summary>
    public static void LearnWords(NeighbourGraph neighbourhood, IEnumerable<ContentRecord> items, InterestWords? interest)
    {
        ArgumentNullException.ThrowIfNull(neighbourhood);
        ArgumentNullException.ThrowIfNull(items);
        if (interest is null)
        {
            return;
        }
        var words = new Dictionary<ContentKey, WordVector>(items.TryGetNonEnumeratedCount(out var count) ? count : 0);
        foreach (var item in items)
        {
            var key = ContentVectors.KeyOf(item);
            if (!interest.Items.ContainsKey(key) && !words.ContainsKey(key))
            {
                words[key] = CandidateWords.Of(key, item.Title, item.Description);
            }
        }
        neighbourhood.LearnWords(words, interest.Items, interest.TermItems);
    }

    /// <summary>
    /// The components' own candidates (what the diffusion reaches, capped; the co-completion successors): the items the
    /// caller fetches, besides the history and the vector search's nearest, before <see cref="Rank"/>.
    /// </summary>
    public static IReadOnlyList<ContentKey> ComponentCandidates(
        IReadOnlyList<HistoryItem> history, NeighbourGraph graph, CoCompletionModel coCompletion, BlendSettings? settings = null)
    {
        var ranker = new BlendRanker(graph, coCompletion, _ => null, _ => null, _ => [], settings);
        return [.. ranker.ContentKeys(history).Concat(ranker.CoCompletion(history).Keys).Distinct()];
    }

    /// <summary>
    /// The served list, at most <paramref name="limit"/> picks: the blend over the union of candidates (<see cref="BlendRanker"/>),
    /// never a started item nor one not in <see cref="ServedRankingInput.Items"/>, of the requested type; ready items first,
    /// held-back ones after them (with their missing prerequisites); items no component reaches (only the vector search
    /// found them) after the scored ones in the search's order. A pick whose strongest part names no item is explained by
    /// the completed item closest to it. The ready picks are then ordered by maximal marginal relevance, so a learner of two
    /// topics is offered both. <see cref="BlendedPick.Score"/> is 0..1: the fused score over its largest possible value, or
    /// (<see cref="ServedFusion.Shrunk"/>, <see cref="ServedFusion.Pooled"/>) the estimated chance of being a next step.
    /// </summary>
    public static IReadOnlyList<BlendedPick> Rank(ServedRankingInput input, ServedBlend? blend = null, BlendSettings? settings = null, int limit = RecommendationCore.MaxPicks) =>
        RankWithMix(input, blend, settings, limit).Picks;

    /// <summary>
    /// <see cref="Rank"/>, with what the ranking used (<see cref="ServedMix"/>: the fusion, the weights it gave each
    /// component, the evidence and the prior's split), read off sums the ranking computes anyway.
    /// </summary>
    public static ServedRanked RankWithMix(ServedRankingInput input, ServedBlend? blend = null, BlendSettings? settings = null, int limit = RecommendationCore.MaxPicks)
    {
        ArgumentNullException.ThrowIfNull(input);
        blend ??= ServedBlend.Default;
        var items = input.Items;
        var history = input.History;
        // No reverse index of prerequisites: what the history unlocks is found among the fetched items' own prerequisites.
        var unlocks = new Dictionary<ContentKey, List<ContentKey>>();
        foreach (var item in items.Values)
        {
            foreach (var before in item.Path.Prerequisites)
            {
                if (!unlocks.TryGetValue(before, out var list))
                {
                    unlocks[before] = list = [];
                }
                list.Add(item.Key);
            }
        }
        var ranker = new BlendRanker(input.Graph, input.CoCompletion,
            k => items.TryGetValue(k, out var item) ? item.Path : null,
            k => items.TryGetValue(k, out var item) ? item.Vector : null,
            k => unlocks.TryGetValue(k, out var list) ? list : [],
            settings);
        var weights = ranker.Weights(history);
        var totalWeight = weights.Sum();
        var coShare = ranker.CoCompletion(history).ToDictionary(c => c.Key, c => totalWeight > 0 ? Math.Clamp(c.Value.Score / totalWeight, 0, 1) : 0);
        // How far co-completion is to be trusted for this learner: n / (n + CoSupport), n the weighted mean of how many
        // learners completed the learner's items. Few learners behind the history: content and path lead.
        var support = totalWeight > 0 ? history.Select((h, i) => weights[i] * input.CoCompletion.ItemCount(h.Key)).Sum() / totalWeight : 0;
        var confidence = blend.CoSupport > 0 ? support / (support + blend.CoSupport) : 1;
        IReadOnlyList<BlendedPick> ranked;
        ServedMix mix;
        Func<double, double> scaled = score => score;
        if (blend.Fusion is ServedFusion.Shrunk or ServedFusion.Pooled)
        {
            (ranked, mix) = Shrink(ranker.Candidates(history, input.Nearest), blend, history, weights, input.CoCompletion);
        }
        else
        {
            // The blend's weights, co-completion's times the confidence: what the weighted sum, the calibrated sum and
            // the rank fusion weigh their components by (each then divides by their total).
            var w = blend.Weights with { CoCompletion = blend.Weights.CoCompletion * confidence };
            var total = w.Content + w.CoCompletion + w.Path + w.Popular;
            var used = total > 0 ? new BlendWeights(w.Content / total, w.CoCompletion / total, w.Path / total, w.Popular / total) : new BlendWeights(0, 0, 0, 0);
            var (priorContent, priorPath) = w.Content + w.Path > 0 ? (w.Content / (w.Content + w.Path), w.Path / (w.Content + w.Path)) : (0.0, 0.0);
            var method = blend.Fusion switch
            {
                ServedFusion.Scaled => "weighted_sum",
                ServedFusion.Calibrated => "calibrated",
                _ => "rank",
            };
            mix = new ServedMix(method, used, confidence, support, blend.CoSupport, priorContent, priorPath);
            if (blend.Fusion == ServedFusion.Scaled)
            {
                ranked = ranker.Recommend(history, int.MaxValue, w, input.Nearest);
                scaled = score => total > 0 ? score / total : 0;
            }
            else
            {
                ranked = Fuse(ranker.Candidates(history, input.Nearest), blend, coShare, confidence);
            }
        }
        if (blend.Passed < 1)
        {
            // What the learner has gone beyond: the prerequisites of what they completed (and theirs in turn) that they did
            // not complete themselves. Most learners who skip an item already knew it, so it is less likely to come next.
            var passed = Passed(history, items);
            ranked = [.. ranked.Select(p => passed.Contains(p.Key) ? p with { Score = p.Score * blend.Passed } : p)];
        }
        bool Front(BlendedPick p) => blend.HoldBack switch
        {
            HoldBack.NotReady => p.Ready,
            HoldBack.Unsupported => p.Ready || coShare.GetValueOrDefault(p.Key) >= blend.Support,
            _ => true,
        };

        var nearRank = new Dictionary<ContentKey, int>();
        for (var i = 0; i < input.Nearest.Count; i++)
        {
            nearRank.TryAdd(input.Nearest[i], i);
        }
        var picks = ranked
            .Where(p => !input.Started.Contains(p.Key) && items.ContainsKey(p.Key) && (input.ContentType is null || p.Key.ContentType == input.ContentType))
            .OrderByDescending(Front).ThenByDescending(p => p.Score).ThenBy(p => nearRank.GetValueOrDefault(p.Key, int.MaxValue))
            .Take(Math.Max(0, limit))
            .Select(p => (p.Driver is not null || p.Source == RecommendationSource.Popular ? p : p with
            {
                Source = RecommendationSource.Content,
                Driver = items[p.Key].Vector is { } v ? ClosestDriver(v, history, weights) : history[^1].Key,
            }) with { Score = scaled(p.Score) })
            .ToList();
        var front = picks.Where(Front).Select(p => p.Key).ToHashSet();
        bool InFront(BlendedPick p) => front.Contains(p.Key);
        picks = Diversify(picks, items, blend.Relevance, InFront);
        // Several interests kept on the first page (ThinPerInterest) only where other learners' evidence is thin: where it
        // is not, what learners with this history took next says better whether they stay on the latest topic.
        var perInterest = Math.Max(blend.PerInterest, confidence < 0.5 ? blend.ThinPerInterest : 0);
        return new ServedRanked(perInterest > 0 ? KeepInterests(picks, items, history, perInterest, InFront) : picks, mix);
    }

    /// <summary>
    /// The items a learner has gone beyond: every prerequisite of a completed item, and the prerequisites of those in turn
    /// (as far as <paramref name="items"/> knows them), that the learner has not completed.
    /// </summary>
    public static IReadOnlySet<ContentKey> Passed(IReadOnlyList<HistoryItem> history, IReadOnlyDictionary<ContentKey, RankingItem> items)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(items);
        var done = history.Select(h => h.Key).ToHashSet();
        var passed = new HashSet<ContentKey>();
        var queue = new Queue<ContentKey>(history.SelectMany(h => h.Path.Prerequisites));
        while (queue.TryDequeue(out var key))
        {
            if (done.Contains(key) || !passed.Add(key))
            {
                continue;
            }
            if (items.TryGetValue(key, out var item))
            {
                foreach (var before in item.Path.Prerequisites)
                {
                    queue.Enqueue(before);
                }
            }
        }
        return passed;
    }

    /// <summary>
    /// The components fused by <see cref="ServedBlend.Fusion"/> (<see cref="ServedFusion.Calibrated"/> or
    /// <see cref="ServedFusion.Rank"/>); each pick's score is 0..1 and its source the largest weighted part that names an item.
    /// </summary>
    private static List<BlendedPick> Fuse(IReadOnlyList<BlendCandidate> candidates, ServedBlend blend, IReadOnlyDictionary<ContentKey, double> coShare, double confidence)
    {
        var w = blend.Weights;
        Dictionary<ContentKey, int> RankOf(Func<BlendCandidate, double> score) => candidates.Where(c => score(c) > 0)
            .OrderByDescending(score).ThenBy(c => c.Key.ContentType, StringComparer.Ordinal).ThenBy(c => c.Key.ContentId, StringComparer.Ordinal)
            .Select((c, i) => (c.Key, i)).GroupBy(x => x.Key).ToDictionary(g => g.Key, g => g.First().i);
        var rank = blend.Fusion == ServedFusion.Rank;
        var contentRank = rank ? RankOf(c => c.Content.Score) : [];
        var coRank = rank ? RankOf(c => coShare.GetValueOrDefault(c.Key)) : [];
        var pathRank = rank ? RankOf(c => c.Path.Score) : [];
        var popularRank = rank ? RankOf(c => c.Popular.Score) : [];
        var total = w.Content + w.CoCompletion * confidence + w.Path + w.Popular;
        var norm = rank ? total / (blend.RankK + 1) : total;
        double Part(double weight, double value, Dictionary<ContentKey, int> ranks, ContentKey key) =>
            rank ? (ranks.TryGetValue(key, out var r) ? weight / (blend.RankK + 1 + r) : 0) : weight * value;

        // Shown with explain=true: each component scaled by its best candidate (ComponentScores' contract); the
        // calibrated sum itself reads co-completion as the absolute share and the path as it is.
        return Blend.Picks(candidates, (c, scores) =>
            [
                new(RecommendationSource.NextStep, Part(w.Path, Math.Clamp(c.Path.Score, 0, 1), pathRank, c.Key), c.Path.Driver),
                new(RecommendationSource.CoCompletion, Part(w.CoCompletion * confidence, coShare.GetValueOrDefault(c.Key), coRank, c.Key), c.CoCompletion.Driver),
                new(RecommendationSource.Content, Part(w.Content, scores.Content, contentRank, c.Key), c.Content.Driver),
                new(RecommendationSource.Popular, Part(w.Popular, scores.Popular, popularRank, c.Key), c.Popular.Driver),
            ],
            (_, sum) => norm > 0 ? Math.Clamp(sum / norm, 0, 1) : 0);
    }

    /// <summary>
    /// <see cref="ServedFusion.Shrunk"/>: the chance that each candidate is among the learner's next steps, estimated per
    /// history item A as other learners' share after A shrunk toward a content and path prior by
    /// <see cref="ServedBlend.CoSupport"/> pseudo-learners, (n_A · share(A→B) + m · prior(B)) / (n_A + m), and averaged
    /// over the history with its weights (linear pool). Where hundreds of learners completed the learner's items, their
    /// shares decide; where few did, the prior does; an item nobody took from here is ranked by the prior alone. The prior
    /// spreads <see cref="CoCompletionSettings.Window"/> next steps over the candidates by the content component's share
    /// (the diffusion's mass) and the path's, weighted by <see cref="BlendWeights.Content"/> and <see cref="BlendWeights.Path"/>.
    /// With the picks, what the fusion weighed them by (<see cref="ServedMix"/>), from the per-item sums it needs anyway.
    /// </summary>
    private static (List<BlendedPick> Picks, ServedMix Mix) Shrink(
        IReadOnlyList<BlendCandidate> candidates, ServedBlend blend, IReadOnlyList<HistoryItem> history, IReadOnlyList<double> weights, CoCompletionModel model)
    {
        var w = blend.Weights;
        var m = Math.Max(1e-9, blend.CoSupport);
        var contentSum = candidates.Sum(c => Math.Max(0, c.Content.Score));
        var pathSum = candidates.Sum(c => Math.Max(0, c.Path.Score));
        var priorWeight = (contentSum > 0 ? w.Content : 0) + (pathSum > 0 ? w.Path : 0);
        var steps = model.Settings.Window;
        // The prior's two parts for a candidate (they sum to its prior); uniform over the candidates when neither has any mass.
        (double Content, double Path) Prior(BlendCandidate c) => priorWeight > 0
            ? (contentSum > 0 ? steps * w.Content / priorWeight * Math.Max(0, c.Content.Score) / contentSum : 0,
               pathSum > 0 ? steps * w.Path / priorWeight * Math.Max(0, c.Path.Score) / pathSum : 0)
            : (candidates.Count > 0 ? (double)steps / candidates.Count : 0, 0);
        // Per history item of the latest RecentSeeds (what the service reads counts for): its normalised weight, its count
        // of learners, and the shares of what they took next.
        var first = Math.Max(0, history.Count - RecentSeeds);
        var seedWeight = Enumerable.Range(first, history.Count - first).Sum(i => Math.Max(0, weights[i]));
        var sources = new List<(double Weight, double Learners, Dictionary<ContentKey, double> After)>(history.Count - first);
        var done = history.Select(h => h.Key).ToHashSet();
        for (var i = first; i < history.Count; i++)
        {
            if (weights[i] > 0 && seedWeight > 0)
            {
                var after = model.After(history[i].Key);
                // Renormalised: the share other learners spent on items this learner has already done goes, in proportion,
                // to the rest (the learner still takes as many next steps); all of them done, the item says nothing.
                var total = after.Sum(a => a.Share);
                var spent = after.Where(a => done.Contains(a.Item)).Sum(a => a.Share);
                var factor = !blend.Renormalise ? 1 : total > spent ? total / (total - spent) : 0;
                sources.Add((weights[i] / seedWeight, model.ItemCount(history[i].Key),
                    after.Where(a => !done.Contains(a.Item)).ToDictionary(a => a.Item, a => Math.Min(1, a.Share * factor))));
            }
        }
        // Other learners' part of each candidate's estimate, Σ weight · n · share / (n + m) over the sources, summed once
        // per source entry rather than looked up per candidate and source: a source without the candidate adds 0, so
        // each candidate's terms are added in the same order to the same total.
        var observedOf = new Dictionary<ContentKey, double>();
        foreach (var s in sources)
        {
            foreach (var (item, share) in s.After)
            {
                ref var sum = ref CollectionsMarshal.GetValueRefOrAddDefault(observedOf, item, out _);
                sum += s.Weight * s.Learners * share / (s.Learners + m);
            }
        }
        // The prior's share of the estimate: Σ weight · m / (n + m), the same for every candidate.
        var priorShare = sources.Sum(s => s.Weight * m / (s.Learners + m));
        Func<BlendCandidate, double, double> score = (_, sum) => Math.Clamp(sum, 0, 1);
        if (blend.Fusion == ServedFusion.Pooled)
        {
            // The weighted geometric mean of the per-item estimates; an estimate of 0 (no prior, nobody took it) counts as 1e-9.
            score = (c, _) =>
            {
                var (content, path) = Prior(c);
                var log = sources.Sum(s => s.Weight * Math.Log(Math.Max(1e-9, (s.Learners * s.After.GetValueOrDefault(c.Key) + m * (content + path)) / (s.Learners + m))));
                return Math.Clamp(Math.Exp(log), 0, 1);
            };
        }
        var picks = Blend.Picks(candidates, (c, _) =>
        {
            var observed = observedOf.GetValueOrDefault(c.Key);
            var (content, path) = Prior(c);
            return
            [
                new(RecommendationSource.NextStep, priorShare * path, c.Path.Driver),
                new(RecommendationSource.CoCompletion, observed, c.CoCompletion.Driver),
                new(RecommendationSource.Content, priorShare * content, c.Content.Driver),
            ];
        }, score);
        // What each component weighed: other learners' shares Σ weight · n / (n + m), the prior the rest (priorShare),
        // split as Prior splits it (neither content nor path reaching a candidate: the uniform prior, counted as content).
        var evidence = sources.Sum(s => s.Weight * s.Learners / (s.Learners + m));
        var (priorContent, priorPath) = priorWeight > 0
            ? ((contentSum > 0 ? w.Content : 0) / priorWeight, (pathSum > 0 ? w.Path : 0) / priorWeight)
            : (1.0, 0.0);
        var mix = new ServedMix(blend.Fusion == ServedFusion.Pooled ? "shrunk_geometric" : "shrunk",
            new BlendWeights(priorShare * priorContent, evidence, priorShare * priorPath, 0),
            evidence, sources.Sum(s => s.Weight * s.Learners), blend.CoSupport, priorContent, priorPath);
        return (picks, mix);
    }

    /// <summary>
    /// A learner's several interests kept on the first page: an interest is a topic with at least two of the learner's
    /// completions (an item without a topic belongs to the topic of the completed item closest to it); each gets at least
    /// <paramref name="perInterest"/> of the first <see cref="FirstPage"/> ready picks when it has candidates, its best ones
    /// (in list order) moved up in place of the last picks of the interest holding the most. Nothing else moves.
    /// </summary>
    public static List<BlendedPick> KeepInterests(List<BlendedPick> picks, IReadOnlyDictionary<ContentKey, RankingItem> items, IReadOnlyList<HistoryItem> history, int perInterest, Func<BlendedPick, bool> front)
    {
        var interests = history.Select(h => TopicOf(h.Key, items, history)).OfType<string>()
            .GroupBy(t => t, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() >= 2).Select(g => g.Key).ToList();
        var page = Math.Min(FirstPage, picks.Count(front));
        if (interests.Count < 2 || page < FirstPage)
        {
            return picks;
        }
        var topics = picks.Select(p => TopicOf(p.Key, items, history)).ToList();
        var list = picks.Select((p, i) => (Pick: p, Topic: topics[i])).ToList();
        foreach (var interest in interests)
        {
            bool Of((BlendedPick Pick, string? Topic) x) => string.Equals(x.Topic, interest, StringComparison.OrdinalIgnoreCase);
            while (list.Take(page).Count(Of) < perInterest)
            {
                var from = list.FindIndex(page, x => front(x.Pick) && Of(x));
                if (from < 0)
                {
                    break;
                }
                // The most held interest on the page gives up its last pick (never one of another kept interest's minimum).
                var counts = list.Take(page).GroupBy(x => x.Topic ?? "", StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Count(), StringComparer.OrdinalIgnoreCase);
                var richest = counts.Where(c => !string.Equals(c.Key, interest, StringComparison.OrdinalIgnoreCase)
                    && (!interests.Contains(c.Key, StringComparer.OrdinalIgnoreCase) || c.Value > perInterest)).OrderByDescending(c => c.Value).Select(c => c.Key).FirstOrDefault();
                if (richest is null)
                {
                    break;
                }
                var to = list.FindLastIndex(page - 1, page, x => string.Equals(x.Topic ?? "", richest, StringComparison.OrdinalIgnoreCase));
                var moved = list[from];
                list.RemoveAt(from);
                var given = list[to];
                list.RemoveAt(to);
                list.Insert(to, moved);
                list.Insert(page, given);
            }
        }
        return [.. list.Select(x => x.Pick)];
    }

    private static string? TopicOf(ContentKey key, IReadOnlyDictionary<ContentKey, RankingItem> items, IReadOnlyList<HistoryItem> history)
    {
        if (!items.TryGetValue(key, out var item))
        {
            return null;
        }
        if (item.Path.Topic is { } topic)
        {
            return topic;
        }
        if (item.Vector is not { } vector)
        {
            return null;
        }
        var closest = history.Where(h => h.Vector is { } v && v.Length == vector.Length && h.Key != key)
            .MaxBy(h => TensorPrimitives.Dot(h.Vector!, vector));
        return closest?.Path.Topic;
    }

    /// <summary>
    /// Maximal marginal relevance over the ready picks (Carbonell and Goldstein, 1998): each next pick maximises its blend
    /// score (scaled by the best) times <paramref name="relevance"/> minus (1 − relevance) × its similarity to the closest
    /// pick so far. The first pick is the blend's best; held-back picks stay after the ready ones, in blend order.
    /// </summary>
    public static List<BlendedPick> Diversify(List<BlendedPick> picks, IReadOnlyDictionary<ContentKey, RankingItem> items, double relevance, Func<BlendedPick, bool> front)
    {
        var ready = picks.Where(front).ToList();
        if (ready.Count < 2 || relevance >= 1)
        {
            return picks;
        }
        var vectors = ready.Select(p => items.TryGetValue(p.Key, out var item) ? item.Vector : null).ToArray();
        var best = Math.Max(ready.Max(p => p.Score), 1e-9);
        var closest = new double[ready.Count];
        Array.Fill(closest, double.NegativeInfinity);
        var taken = new bool[ready.Count];
        var ordered = new List<BlendedPick>(picks.Count);
        while (ordered.Count < ready.Count)
        {
            var next = -1;
            var nextValue = double.NegativeInfinity;
            for (var i = 0; i < ready.Count; i++)
            {
                if (taken[i])
                {
                    continue;
                }
                var value = relevance * ready[i].Score / best - (1 - relevance) * (double.IsFinite(closest[i]) ? closest[i] : 0);
                if (value > nextValue)
                {
                    (next, nextValue) = (i, value);
                }
            }
            taken[next] = true;
            ordered.Add(ready[next]);
            if (vectors[next] is not { } vector)
            {
                continue;
            }
            for (var i = 0; i < ready.Count; i++)
            {
                if (!taken[i] && vectors[i] is { } v && v.Length == vector.Length)
                {
                    closest[i] = Math.Max(closest[i], TensorPrimitives.Dot(v, vector));
                }
            }
        }
        ordered.AddRange(picks.Where(p => !front(p)));
        return ordered;
    }

    /// <summary>The history item with the highest weighted similarity to <paramref name="vector"/> (as the content component names its driver).</summary>
    public static ContentKey? ClosestDriver(float[] vector, IReadOnlyList<HistoryItem> history, IReadOnlyList<double> weights)
    {
        ContentKey? best = null;
        var bestValue = double.NegativeInfinity;
        for (var i = 0; i < history.Count; i++)
        {
            if (history[i].Vector is { } v && v.Length == vector.Length)
            {
                var value = weights[i] * TensorPrimitives.Dot(v, vector);
                if (value > bestValue)
                {
                    (best, bestValue) = (history[i].Key, value);
                }
            }
        }
        return best;
    }
}
