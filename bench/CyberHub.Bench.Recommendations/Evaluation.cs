using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Recommendations;

/// <summary>
/// One strategy's figures on one table: per-learner means with 95% intervals (normal approximation), and catalog coverage,
/// a property of all the lists together, as a single value: resampling learners with replacement draws about 63% of them
/// distinct, so a bootstrap interval of coverage lies below the value it is meant to surround.
/// </summary>
public sealed record StrategyResult(
    string Strategy,
    Estimate Precision,
    Estimate Recall,
    Estimate Ndcg,
    Estimate Mrr,
    double Coverage,
    Estimate HeadShare,
    Estimate Diversity)
{
    /// <summary>
    /// The paired difference to mean-embedding over the same learners (this strategy's value minus the baseline's, learner
    /// by learner), with its 95% interval: tighter than comparing two intervals, and the figure a "beats" claim needs.
    /// </summary>
    public Estimate? NdcgDelta { get; init; }

    public Estimate? PrecisionDelta { get; init; }
}

/// <summary>One strategy on the multi-interest slice: picks in the latest topic, in the other, learners offered ≥ 2 of the other, NDCG@10.</summary>
public sealed record MultiInterestRow(string Strategy, Estimate InLatest, Estimate InOther, Estimate TwoOrMoreOther, Estimate Ndcg);

/// <summary>The multi-interest slice of one split (<see cref="Evaluation.MultiInterestAsync"/>).</summary>
public sealed record MultiInterestTable(string Dataset, string Split, int Learners, IReadOnlyList<MultiInterestRow> Rows);

/// <summary>Per-learner values kept for paired comparisons.</summary>
internal sealed record Scored(StrategyResult Result, double[] Ndcg, double[] Precision);

/// <summary>
/// A table of the report: one protocol on one data set and split. <see cref="BlendVersus"/> holds the blend's paired
/// differences (blend minus the other, learner by learner) against every other strategy of the table.
/// </summary>
public sealed record ResultTable(string Dataset, string Protocol, string Split, int Learners, string Relevant, IReadOnlyList<StrategyResult> Rows)
{
    public IReadOnlyList<PairedComparison> BlendVersus { get; init; } = [];
}

/// <summary>The blend against one other strategy over the same learners: NDCG@10 and P@10 differences with their 95% intervals.</summary>
public sealed record PairedComparison(string Other, Estimate Ndcg, Estimate Precision);

public static class Evaluation
{
    public const int Cutoff = 10;

    /// <summary>
    /// The time split: for every learner of <paramref name="split"/> with more than <paramref name="hidden"/> completions,
    /// the last <paramref name="hidden"/> are hidden, the rest is the history, and the hidden items are the relevant ones.
    /// </summary>
    public static async Task<ResultTable> TimeSplitAsync(
        EvaluationContext context, IReadOnlyList<Learner> learners, string split, int hidden, IReadOnlyList<IRecommender> strategies, CancellationToken cancellationToken,
        bool crossTopicOnly = false)
    {
        var evaluated = learners.Where(l => l.Split == split && l.Log.Count > hidden && (!crossTopicOnly || MovesTopic(context, l, hidden))).ToList();
        var rows = new List<Scored>();
        foreach (var strategy in strategies)
        {
            var lists = new List<IReadOnlyList<ContentKey>>(evaluated.Count);
            var relevance = new List<IReadOnlyDictionary<ContentKey, int>>(evaluated.Count);
            foreach (var learner in evaluated)
            {
                var (history, next) = learner.SplitAt(hidden);
                lists.Add(await strategy.RecommendAsync(new RecommendationRequest(learner.Id, history, Cutoff), cancellationToken));
                relevance.Add(next.ToDictionary(c => c.Item, _ => 1));
            }
            rows.Add(Score(context, strategy.Name, lists, relevance));
        }
        return new ResultTable(context.Name, crossTopicOnly ? $"time split, last {hidden} hidden, learners moving to a new topic" : $"time split, last {hidden} hidden", split, evaluated.Count, $"the {hidden} hidden completions", Paired(rows))
        {
            BlendVersus = Versus(rows),
        };
    }

    /// <summary>Whether a hidden completion is in a track the learner's visible history does not have.</summary>
    public static bool MovesTopic(EvaluationContext context, Learner learner, int hidden)
    {
        var (history, next) = learner.SplitAt(hidden);
        var tracks = history.Select(c => context.ByKey[c.Item].Track).ToHashSet();
        return next.Any(c => !tracks.Contains(context.ByKey[c.Item].Track));
    }

    /// <summary>
    /// The topic-precision protocol: learners who finished a few items of one group ask for 10; every item of the group
    /// they have not done is relevant, so precision@10 is the share of the list inside the learner's group.
    /// </summary>
    public static async Task<ResultTable> TopicPrecisionAsync(
        EvaluationContext context, IReadOnlyList<TopicProbe> all, string split, int seed, IReadOnlyList<IRecommender> strategies, CancellationToken cancellationToken)
    {
        var probes = all.Where(p => Learner.HalfOf(p.LearnerId, seed) == split).ToList();
        var rows = new List<Scored>();
        foreach (var strategy in strategies)
        {
            var lists = new List<IReadOnlyList<ContentKey>>(probes.Count);
            var relevance = new List<IReadOnlyDictionary<ContentKey, int>>(probes.Count);
            foreach (var probe in probes)
            {
                lists.Add(await strategy.RecommendAsync(new RecommendationRequest(probe.LearnerId, probe.History, Cutoff), cancellationToken));
                var done = probe.History.Select(c => c.Item).ToHashSet();
                relevance.Add(context.Items.Where(i => i.Track == probe.Group && !done.Contains(i.Key)).ToDictionary(i => i.Key, _ => 1));
            }
            rows.Add(Score(context, strategy.Name, lists, relevance));
        }
        var completed = probes.Count == 0 ? 0 : probes[0].History.Count;
        return new ResultTable(context.Name, $"topic precision, {completed} done in one group", split, probes.Count, "every other item of the learner's group", Paired(rows))
        {
            BlendVersus = Versus(rows),
        };
    }

    /// <summary>
    /// The multi-interest slice: learners whose visible history has exactly two topics with at least two completions each.
    /// Per strategy, how many of the 10 picks are in the topic of the learner's latest completion, how many in their other
    /// topic, and the share of learners offered at least two of the other topic; NDCG@10 on the hidden completions beside.
    /// </summary>
    public static async Task<MultiInterestTable> MultiInterestAsync(
        EvaluationContext context, IReadOnlyList<Learner> learners, string split, int hidden, IReadOnlyList<IRecommender> strategies, CancellationToken cancellationToken)
    {
        var evaluated = new List<(Learner Learner, string Latest, string Other)>();
        foreach (var learner in learners.Where(l => l.Split == split && l.Log.Count > hidden))
        {
            var (history, _) = learner.SplitAt(hidden);
            var topics = history.GroupBy(c => context.ByKey[c.Item].Track).Where(g => g.Count() >= 2).Select(g => g.Key).ToList();
            var latest = context.ByKey[history[^1].Item].Track;
            if (topics.Count == 2 && topics.Contains(latest))
            {
                evaluated.Add((learner, latest, topics.Single(t => t != latest)));
            }
        }
        var rows = new List<MultiInterestRow>();
        foreach (var strategy in strategies)
        {
            var inLatest = new double[evaluated.Count];
            var inOther = new double[evaluated.Count];
            var twoOther = new double[evaluated.Count];
            var ndcg = new double[evaluated.Count];
            for (var i = 0; i < evaluated.Count; i++)
            {
                var (learner, latest, other) = evaluated[i];
                var (history, next) = learner.SplitAt(hidden);
                var list = (await strategy.RecommendAsync(new RecommendationRequest(learner.Id, history, Cutoff), cancellationToken)).Take(Cutoff).ToList();
                inLatest[i] = list.Count(k => context.ByKey[k].Track == latest);
                inOther[i] = list.Count(k => context.ByKey[k].Track == other);
                twoOther[i] = inOther[i] >= 2 ? 1 : 0;
                ndcg[i] = Metrics.NdcgAt(list, next.ToDictionary(c => c.Item, _ => 1), Cutoff);
            }
            rows.Add(new MultiInterestRow(strategy.Name, Confidence.Normal(inLatest), Confidence.Normal(inOther), Confidence.Normal(twoOther), Confidence.Normal(ndcg)));
        }
        return new MultiInterestTable(context.Name, split, evaluated.Count, rows);
    }

    /// <summary>The served ranking minus each other strategy, learner by learner.</summary>
    private static IReadOnlyList<PairedComparison> Versus(IReadOnlyList<Scored> rows)
    {
        var blend = rows.FirstOrDefault(r => r.Result.Strategy == Strategies.Served);
        return blend is null ? [] : [.. rows.Where(r => r != blend).Select(r => new PairedComparison(r.Result.Strategy,
            Confidence.Normal([.. blend.Ndcg.Zip(r.Ndcg, (a, b) => a - b)]),
            Confidence.Normal([.. blend.Precision.Zip(r.Precision, (a, b) => a - b)])))];
    }

    private static IReadOnlyList<StrategyResult> Paired(IReadOnlyList<Scored> rows)
    {
        var baseline = rows.FirstOrDefault(r => r.Result.Strategy == Strategies.MeanEmbedding);
        return [.. rows.Select(r => baseline is null ? r.Result : r.Result with
        {
            NdcgDelta = Confidence.Normal([.. r.Ndcg.Zip(baseline.Ndcg, (a, b) => a - b)]),
            PrecisionDelta = Confidence.Normal([.. r.Precision.Zip(baseline.Precision, (a, b) => a - b)]),
        })];
    }

    private static Scored Score(
        EvaluationContext context, string name, IReadOnlyList<IReadOnlyList<ContentKey>> lists, IReadOnlyList<IReadOnlyDictionary<ContentKey, int>> relevance)
    {
        var precision = new double[lists.Count];
        var recall = new double[lists.Count];
        var ndcg = new double[lists.Count];
        var mrr = new double[lists.Count];
        var diversity = new double[lists.Count];
        var head = new double[lists.Count];
        for (var i = 0; i < lists.Count; i++)
        {
            precision[i] = Metrics.PrecisionAt(lists[i], relevance[i], Cutoff);
            recall[i] = Metrics.RecallAt(lists[i], relevance[i], Cutoff);
            ndcg[i] = Metrics.NdcgAt(lists[i], relevance[i], Cutoff);
            mrr[i] = Metrics.ReciprocalRankAt(lists[i], relevance[i], Cutoff);
            head[i] = lists[i].Count == 0 ? 0 : (double)lists[i].Take(Cutoff).Count(context.PopularHead.Contains) / Math.Min(Cutoff, lists[i].Count);
            diversity[i] = Metrics.IntraListDiversity([.. lists[i].Take(Cutoff).Select(k => context.ByKey[k].Vector)]);
        }
        var coverage = Metrics.Coverage(lists.Select(l => (IReadOnlyList<ContentKey>)[.. l.Take(Cutoff)]), context.Items.Count);
        return new Scored(
            new StrategyResult(name, Confidence.Normal(precision), Confidence.Normal(recall), Confidence.Normal(ndcg), Confidence.Normal(mrr), coverage,
                Confidence.Normal(head), Confidence.Normal(diversity)),
            ndcg, precision);
    }
}
