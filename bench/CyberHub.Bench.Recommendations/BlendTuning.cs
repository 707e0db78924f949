using System.Diagnostics;
using System.Globalization;
using CyberHub.Ai.Recommendations;

namespace CyberHub.Bench.Recommendations;

/// <summary>
/// Chooses the blend on the tuning split only: <see cref="FitAsync"/> fits the learned blend's model on the tuning
/// learners' hidden completions; <c>--tune-blend</c> also prints the weighted-sum grid and the fitted model against each
/// component; <c>--tune-content</c> the content component's grid. The reporting split is never read here.
/// </summary>
public static class BlendTuning
{
    /// <summary>
    /// The learned blend's model fitted on the tuning split: for each tuning learner with more than <paramref name="hidden"/>
    /// completions, the ranker's candidates on the visible history, taken (a hidden completion) or not. Two fits: against
    /// every candidate, and against the hard ones only (co-completion's top 20, diffusion's top 10, what the latest
    /// completion unlocks); the one with the higher NDCG@10 on the tuning split is kept.
    /// </summary>
    public static async Task<BlendModel> FitAsync(EvaluationContext context, IReadOnlyList<Learner> population, int hidden, CancellationToken cancellationToken = default)
    {
        var inputs = await BlendInputs.ForAsync(context);
        var all = new List<IReadOnlyList<(double[] Features, bool Taken)>>();
        var hard = new List<IReadOnlyList<(double[] Features, bool Taken)>>();
        foreach (var learner in population.Where(l => l.Split == Learner.Tuning && l.Log.Count > hidden))
        {
            var (visible, next) = learner.SplitAt(hidden);
            var history = inputs.History(visible);
            if (history.Count == 0)
            {
                continue;
            }
            var taken = next.Select(c => c.Item).ToHashSet();
            var candidates = inputs.Learned.Features(history).Select(f => (f.Values, Taken: taken.Contains(f.Key))).ToList();
            all.Add(candidates);
            hard.Add([.. candidates.Where(c => c.Taken || c.Values[BlendFeature.CoCompletionRank] >= 1.0 / 20
                || c.Values[BlendFeature.ContentRank] >= 1.0 / 10 || c.Values[BlendFeature.UnlockedByLatest] > 0)]);
        }
        var best = (Model: (BlendModel?)null, Ndcg: double.NegativeInfinity);
        foreach (var groups in new[] { all, hard })
        {
            var model = BlendModel.Fit(groups);
            var previous = inputs.Model;
            inputs.Model = model;
            var table = await Evaluation.TimeSplitAsync(context, population, Learner.Tuning, hidden,
                [new BlendRecommender(context, Strategies.Blend, BlendRecommender.Mode.Blend)], cancellationToken);
            inputs.Model = previous;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"- learned blend fitted against {(groups == all ? "every candidate" : "the hard candidates")}: NDCG@10 on the tuning split {table.Rows[0].Ndcg.Mean:F4}"));
            if (table.Rows[0].Ndcg.Mean > best.Ndcg)
            {
                best = (model, table.Rows[0].Ndcg.Mean);
            }
        }
        return best.Model!;
    }

    public static string Describe(BlendModel model) =>
        string.Join(", ", model.Coefficients.Select((c, i) => string.Create(CultureInfo.InvariantCulture, $"{BlendFeature.Names[i]} {c:0.####}")));

    /// <summary>The coefficients as C# for <see cref="BlendModel.Default"/>.</summary>
    public static string Code(BlendModel model) =>
        "new([" + string.Join(", ", model.Coefficients.Select(c => c.ToString("0.####", CultureInfo.InvariantCulture))) + "])";

    public static async Task RunAsync(EvaluationContext context, IReadOnlyList<Learner> population, int hidden, CancellationToken cancellationToken)
    {
        var inputs = await BlendInputs.ForAsync(context);
        inputs.Model = await FitAsync(context, population, hidden);
        Console.WriteLine($"fitted on the tuning split: {Describe(inputs.Model)}");
        Console.WriteLine($"as code: {Code(inputs.Model)}");
        var strategies = Strategies.All.Where(s => Strategies.Components.Contains(s.Name) || s.Name is Strategies.MeanEmbedding or Strategies.Blend)
            .Select(s => s.Create(context)).ToList();
        foreach (var moving in new[] { false, true })
        {
            var table = await Evaluation.TimeSplitAsync(context, population, Learner.Tuning, hidden, strategies, cancellationToken, crossTopicOnly: moving);
            Console.WriteLine(Report.Markdown(table));
        }
        double[] grid = [0, 0.5, 1, 2];
        var results = new List<(BlendWeights W, double All, double Moving)>();
        foreach (var content in grid)
        foreach (var co in grid)
        foreach (var path in grid)
        {
            if (content + co + path == 0)
            {
                continue;
            }
            var weights = new BlendWeights(content, co, path, 0);
            var strategy = new BlendRecommender(context, "blend", BlendRecommender.Mode.WeightedBlend, weights);
            var all = await Evaluation.TimeSplitAsync(context, population, Learner.Tuning, hidden, [strategy], cancellationToken);
            var moving = await Evaluation.TimeSplitAsync(context, population, Learner.Tuning, hidden, [strategy], cancellationToken, crossTopicOnly: true);
            results.Add((weights, all.Rows[0].Ndcg.Mean, moving.Rows[0].Ndcg.Mean));
        }
        Console.WriteLine("weighted-sum blend, best first:");
        foreach (var r in results.OrderByDescending(r => r.All + r.Moving).Take(10))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"content {r.W.Content} co {r.W.CoCompletion} path {r.W.Path}: NDCG@10 all {r.All:F3}, moving {r.Moving:F3}"));
        }
    }

    /// <summary>The content component's grid on the tuning split of the content-only set (time split and topic precision).</summary>
    public static async Task TuneContentAsync(
        EvaluationContext context, IReadOnlyList<Learner> learners, IReadOnlyList<TopicProbe> probes, int probeSeed, int hidden, CancellationToken cancellationToken)
    {
        var baseline = new MeanEmbeddingRecommender(context);
        var b1 = await Evaluation.TimeSplitAsync(context, learners, Learner.Tuning, hidden, [baseline], cancellationToken);
        var b2 = await Evaluation.TopicPrecisionAsync(context, probes, Learner.Tuning, probeSeed, [baseline], cancellationToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mean-embedding: P@10 time split {b1.Rows[0].Precision.Mean:F4}, topic precision {b2.Rows[0].Precision.Mean:F4}"));
        var results = new List<(ContentSettings S, double Time, double Topic)>();
        // The first grid (items per cluster {25, 50} × boost {0, 0.1, 0.2} × merge {0, 0.3} × step decay {0.7, 1} ×
        // expansion {0, 0.5, 1}) chose 50, 0.1, 0, 1, 0 at 1.012×; this one adds the hubness correction to it.
        foreach (var boost in new[] { 0.1, 0.2 })
        foreach (var merge in new[] { 0.0, 0.3 })
        foreach (var hubness in new[] { 0.0, 0.25, 0.5, 1.0 })
        {
            var (size, decay, expansion) = (50, 1.0, 0.0);
            var settings = new ContentSettings(size, boost, merge, decay, expansion, hubness);
            var strategy = new MultiInterestRecommender(context, "content", settings);
            var t1 = await Evaluation.TimeSplitAsync(context, learners, Learner.Tuning, hidden, [strategy], cancellationToken);
            var t2 = await Evaluation.TopicPrecisionAsync(context, probes, Learner.Tuning, probeSeed, [strategy], cancellationToken);
            results.Add((settings, t1.Rows[0].Precision.Mean / b1.Rows[0].Precision.Mean, t2.Rows[0].Precision.Mean / b2.Rows[0].Precision.Mean));
        }
        foreach (var r in results.OrderByDescending(r => Math.Min(r.Time, r.Topic)))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"items per cluster {r.S.ItemsPerCluster}, boost {r.S.ClusterBoost}, merge above {r.S.MergeAbove}, step decay {r.S.StepDecay}, expansion {r.S.Expansion}, hubness {r.S.Hubness}: P@10 ratio time split {r.Time:F3}, topic precision {r.Topic:F3}"));
        }
    }

    /// <summary>Mean wall time per call of the blend over the reporting learners (inputs already built).</summary>
    /// <summary>
    /// The served ranking's choices on the tuning split of the simulated population only: scoring (weighted sums, the
    /// learned blend fitted on tuning), diversification (relevance λ) and ready-first or not; per choice, NDCG@10 with its
    /// interval on the time split, and the multi-interest slice's picks from the learner's other topic. The reporting
    /// split is never read.
    /// </summary>
    public static async Task TuneServedAsync(EvaluationContext context, IReadOnlyList<Learner> population, int hidden, Action<string> say, CancellationToken cancellationToken,
        IRecommender? oracle = null)
    {
        await BlendInputs.ForAsync(context);
        // The first grid (weights × relevance {1, 0.9, 0.75}, ready first) found the weights to matter within ±0.005
        // NDCG@10. This one asks what cost the served ranking its place below co-completion alone: the scaling (by the
        // best candidate, or absolute, or by rank), ready first or not, diversification and the interest guarantee.
        // First run of this grid (tuning split): ready first 0.512; readiness a feature only: weighted sum scaled by the
        // best 0.710, calibrated sum 0.687, rank fusion (k 10) 0.710, learned blend 0.718, co-completion alone 0.714;
        // holding back items not ready below a co-completion share of 0.05 / 0.1 / 0.2 (calibrated): 0.696 / 0.676 / 0.565.
        // Second run (docs/recommendations.md, "Why the served ranking lost to co-completion"): rank fusion k 10 held back
        // below share 0.02, confidence n/(n+5), 2 per interest where it is thin, was served (0.709 against co-completion's
        // 0.714). This one asks whether co-completion shrunk toward content and path by a few pseudo-learners per history
        // item (other learners decide where many completed the learner's items) does better, pooled linearly or geometrically.
        var choices = new List<ServedBlend>
        {
            ServedBlend.RankFusion,
            ServedBlend.RankFusion with { Fusion = ServedFusion.Shrunk },
            ServedBlend.RankFusion with { Fusion = ServedFusion.Shrunk, CoSupport = 20 },
            ServedBlend.RankFusion with { Fusion = ServedFusion.Shrunk, HoldBack = HoldBack.None },
            ServedBlend.RankFusion with { Fusion = ServedFusion.Pooled },
            ServedBlend.RankFusion with { Fusion = ServedFusion.Pooled, CoSupport = 20 },
            ServedBlend.RankFusion with { Fusion = ServedFusion.Pooled, HoldBack = HoldBack.None },
            ServedBlend.RankFusion with { Fusion = ServedFusion.Pooled, CoSupport = 1 },
            ServedBlend.RankFusion with { Fusion = ServedFusion.Shrunk, Renormalise = true },
            ServedBlend.RankFusion with { Fusion = ServedFusion.Pooled, Renormalise = true },
            ServedBlend.RankFusion with { Passed = 0.3 },
            ServedBlend.RankFusion with { Fusion = ServedFusion.Shrunk, Passed = 0.3 },
            ServedBlend.RankFusion with { Fusion = ServedFusion.Pooled, Passed = 0.3 },
            ServedBlend.RankFusion with { Fusion = ServedFusion.Pooled, Passed = 0.1 },
        };
        var coCompletion = new BlendRecommender(context, Strategies.CoCompletion, BlendRecommender.Mode.CoCompletion);
        say("| served choice (tuning split) | NDCG@10 | minus co-completion (paired) | P@10 | coverage | ILD | multi-interest: picks in latest topic | in other topic | learners with 2+ of other |");
        say("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        var meanEmbedding = new MeanEmbeddingRecommender(context);
        var baseTable = await Evaluation.TimeSplitAsync(context, population, Learner.Tuning, hidden, [meanEmbedding], cancellationToken);
        var baseSlice = await Evaluation.MultiInterestAsync(context, population, Learner.Tuning, hidden, [meanEmbedding], cancellationToken);
        var b = baseTable.Rows[0];
        var coTable = await Evaluation.TimeSplitAsync(context, population, Learner.Tuning, hidden, [coCompletion], cancellationToken);
        var coSlice = await Evaluation.MultiInterestAsync(context, population, Learner.Tuning, hidden, [coCompletion], cancellationToken);
        var c = coTable.Rows[0];
        say($"| co-completion alone | {c.Ndcg} | – | {c.Precision} | {c.Coverage:F3} | {c.Diversity} | {coSlice.Rows[0].InLatest} | {coSlice.Rows[0].InOther} | {coSlice.Rows[0].TwoOrMoreOther} |");
        if (oracle is not null)
        {
            var o = (await Evaluation.TimeSplitAsync(context, population, Learner.Tuning, hidden, [oracle], cancellationToken)).Rows[0];
            var os = (await Evaluation.MultiInterestAsync(context, population, Learner.Tuning, hidden, [oracle], cancellationToken)).Rows[0];
            say($"| {oracle.Name} | {o.Ndcg} | | {o.Precision} | {o.Coverage:F3} | {o.Diversity} | {os.InLatest} | {os.InOther} | {os.TwoOrMoreOther} |");
        }
        say($"| mean-embedding | {b.Ndcg} | | {b.Precision} | {b.Coverage:F3} | {b.Diversity} | {baseSlice.Rows[0].InLatest} | {baseSlice.Rows[0].InOther} | {baseSlice.Rows[0].TwoOrMoreOther} |");
        foreach (var choice in choices)
        {
            // Named as the served row so the table pairs it with co-completion alone, learner by learner.
            var strategy = new ServedRecommender(context, Strategies.Served, choice);
            var table = await Evaluation.TimeSplitAsync(context, population, Learner.Tuning, hidden, [coCompletion, strategy], cancellationToken);
            var slice = await Evaluation.MultiInterestAsync(context, population, Learner.Tuning, hidden, [strategy], cancellationToken);
            var r = table.Rows[1];
            var m = slice.Rows[0];
            var d = table.BlendVersus.Single(v => v.Other == Strategies.CoCompletion).Ndcg;
            say(string.Create(CultureInfo.InvariantCulture, $"| {choice.Describe()} | {r.Ndcg} | {Math.Round(d.Mean, 3):+0.000;-0.000;0.000} ± {d.HalfWidth:F3} | {r.Precision} | {r.Coverage:F3} | {r.Diversity} | {m.InLatest} | {m.InOther} | {m.TwoOrMoreOther} |"));
        }
        say($"(multi-interest slice: {baseSlice.Learners} tuning learners)");
    }

    /// <summary>
    /// CPU per call of each strategy over the reporting learners of the time split (the served ranking's reads and ranking,
    /// as a service miss), in interleaved rounds so the machine's load falls on all alike; the mean over the rounds.
    /// </summary>
    public static async Task<string> InterleavedCostAsync(IReadOnlyList<IRecommender> strategies, IReadOnlyList<Learner> learners, int hidden, int rounds, CancellationToken cancellationToken)
    {
        var evaluated = learners.Where(l => l.Split == Learner.Reporting && l.Log.Count > hidden).ToList();
        var cpu = new double[strategies.Count];
        for (var round = 0; round < rounds; round++)
        {
            for (var s = 0; s < strategies.Count; s++)
            {
                var before = Process.GetCurrentProcess().TotalProcessorTime;
                foreach (var learner in evaluated)
                {
                    await strategies[s].RecommendAsync(new RecommendationRequest(learner.Id, learner.SplitAt(hidden).History, Evaluation.Cutoff), cancellationToken);
                }
                cpu[s] += (Process.GetCurrentProcess().TotalProcessorTime - before).TotalMilliseconds / evaluated.Count;
            }
        }
        return string.Join("; ", strategies.Select((s, i) => string.Create(CultureInfo.InvariantCulture, $"{s.Name} {cpu[i] / rounds:F2} ms CPU per call")))
            + string.Create(CultureInfo.InvariantCulture, $" (mean of {rounds} interleaved rounds over {evaluated.Count} learners, single thread)");
    }

    public static async Task<string> CostAsync(EvaluationContext context, IReadOnlyList<Learner> learners, int hidden, CancellationToken cancellationToken)
    {
        var strategy = new BlendRecommender(context, "blend", BlendRecommender.Mode.Blend);
        var evaluated = learners.Where(l => l.Split == Learner.Reporting && l.Log.Count > hidden).ToList();
        await strategy.RecommendAsync(new RecommendationRequest(evaluated[0].Id, evaluated[0].SplitAt(hidden).History, Evaluation.Cutoff), cancellationToken);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        foreach (var learner in evaluated)
        {
            await strategy.RecommendAsync(new RecommendationRequest(learner.Id, learner.SplitAt(hidden).History, Evaluation.Cutoff), cancellationToken);
        }
        var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        return string.Create(CultureInfo.InvariantCulture, $"blend {clock.Elapsed.TotalMilliseconds / evaluated.Count:F2} ms wall, {used.TotalMilliseconds / evaluated.Count:F2} ms CPU per call over {evaluated.Count} calls");
    }
}
