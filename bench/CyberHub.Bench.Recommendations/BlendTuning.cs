using System.Diagnostics;
using System.Globalization;
using CyberHub.Ai.Recommendations;

namespace CyberHub.Bench.Recommendations;

/// <summary>
/// Chooses the blend's weights on the tuning split only (<c>--tune-blend</c>): a grid over the weights, NDCG@10 on the
/// whole tuning population and on its learners moving to a new topic. The reporting split is never read here.
/// </summary>
public static class BlendTuning
{
    public static async Task RunAsync(EvaluationContext context, IReadOnlyList<Learner> population, int hidden, CancellationToken cancellationToken)
    {
        double[] grid = [0, 0.5, 1, 2];
        var results = new List<(BlendWeights W, double All, double Moving)>();
        foreach (var content in grid)
        foreach (var co in grid)
        foreach (var path in grid)
        foreach (var popular in new[] { 0.0, 0.2 })
        {
            if (content + co + path == 0)
            {
                continue;
            }
            var weights = new BlendWeights(content, co, path, popular);
            var strategy = new BlendRecommender(context, "blend", BlendRecommender.Mode.Blend, weights);
            var all = await Evaluation.TimeSplitAsync(context, population, Learner.Tuning, hidden, [strategy], cancellationToken);
            var moving = await Evaluation.TimeSplitAsync(context, population, Learner.Tuning, hidden, [strategy], cancellationToken, crossTopicOnly: true);
            results.Add((weights, all.Rows[0].Ndcg.Mean, moving.Rows[0].Ndcg.Mean));
        }
        foreach (var r in results.OrderByDescending(r => r.All + r.Moving).Take(25))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"content {r.W.Content} co {r.W.CoCompletion} path {r.W.Path} popular {r.W.Popular}: NDCG@10 all {r.All:F3}, moving {r.Moving:F3}"));
        }
    }

    /// <summary>Mean wall time per call of the blend over the reporting learners (inputs already built).</summary>
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
