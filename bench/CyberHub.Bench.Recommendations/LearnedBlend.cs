using System.Collections.ObjectModel;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Recommendations;

/// <summary>
/// The features the learned blend reads for one candidate of one learner, each in 0..1 (see <see cref="LearnedBlendRanker.Features"/>).
/// Their order is the order of <see cref="BlendModel.Coefficients"/>.
/// </summary>
public static class BlendFeature
{
    /// <summary>Diffusion score scaled by the learner's best candidate.</summary>
    public const int Content = 0;
    /// <summary>Co-completion score scaled by the learner's best candidate.</summary>
    public const int CoCompletion = 1;
    /// <summary>Co-completion score over the history's total weight: the weighted share of learners who took it next (absolute).</summary>
    public const int CoCompletionShare = 2;
    /// <summary>The learning path's score (topic share × level fit, or next step).</summary>
    public const int Path = 3;
    /// <summary>1 when every prerequisite is done.</summary>
    public const int Ready = 4;
    /// <summary>The share of its prerequisites not done.</summary>
    public const int Missing = 5;
    /// <summary>1 when the learner's latest completion is one of its prerequisites.</summary>
    public const int UnlockedByLatest = 6;
    /// <summary>1 when it is of the topic of the learner's latest completion.</summary>
    public const int SameTopicAsLatest = 7;
    /// <summary>log(1 + completions) over the same for the learner's most completed candidate.</summary>
    public const int Popular = 8;
    /// <summary>Multi-interest affinity: the best cosine between the candidate and one of the learner's interests.</summary>
    public const int Interest = 9;
    /// <summary>1 / (1 + rank) in the diffusion's order (reciprocal-rank fusion's term).</summary>
    public const int ContentRank = 10;
    /// <summary>1 / (1 + rank) in co-completion's order.</summary>
    public const int CoCompletionRank = 11;
    /// <summary>Ready × scaled co-completion.</summary>
    public const int ReadyCoCompletion = 12;
    /// <summary>Ready × unlocked by the latest completion.</summary>
    public const int ReadyUnlocked = 13;

    /// <summary>The learner's taste for the candidate's content type: (their completions of that type + 1) / (their completions + 3).</summary>
    public const int TypeTaste = 14;
    /// <summary>
    /// Unlocked by the latest completion × how often this learner took an item right after one of its prerequisites
    /// ((such steps + 0.5) / (steps + 1)): learners who go deep follow what they just unlocked.
    /// </summary>
    public const int FollowOn = 15;
    /// <summary>The share of the latest completion's learners who took the candidate after it (first-order co-completion).</summary>
    public const int CoCompletionFromLatest = 16;
    /// <summary>1 when the candidate is not ready but each missing prerequisite is itself ready (two steps away).</summary>
    public const int TwoSteps = 17;

    public const int Count = 18;

    public static ReadOnlyCollection<string> Names { get; } = new([
        "content", "co-completion", "co-completion share", "path", "ready", "missing", "unlocked by latest", "same topic as latest",
        "popular", "interest", "content rank", "co-completion rank", "ready × co-completion", "ready × unlocked",
        "type taste", "follow-on", "co-completion from latest", "two steps"]);
}

/// <summary>
/// The learned blend (a harness strategy, not served: docs/recommendations.md says why): a linear scoring of <see cref="BlendFeature"/>s, fitted as a pairwise logistic model (a candidate the
/// learner took next against one they did not, both for the same learner) on the tuning split of the evaluation harness.
/// Ranking by the linear score is ranking by the model's probability. Deterministic: the same features give the same score.
/// </summary>
public sealed record BlendModel(IReadOnlyList<double> Coefficients)
{
    /// <summary>
    /// Fitted by the harness on its tuning split (<c>--tune-blend</c>, docs/recommendations.md), seed 20261205, 4,000 simulated
    /// learners over the demo catalog's prerequisites.
    /// </summary>
    public static BlendModel Default { get; } = new([
        0.833, 3.561, 0.7434, -0.0806, -0.2679, -1.3466, -1.1312, 1.3646, 2.0608, 0.7383, 0.0114, 1.7409, -1.8365, 1.3238,
        -0.2727, -0.0171, -0.9132, 0.8455]);

    public double Score(ReadOnlySpan<double> features)
    {
        if (features.Length != Coefficients.Count)
        {
            throw new ArgumentException($"Expected {Coefficients.Count} features, got {features.Length}.", nameof(features));
        }
        var score = 0.0;
        for (var i = 0; i < features.Length; i++)
        {
            score += Coefficients[i] * features[i];
        }
        return score;
    }

    /// <summary>
    /// Fits a pairwise logistic model: for every learner (group), every (taken, not taken) pair of their candidates is one
    /// example whose input is the difference of the two feature vectors. L2-penalised (<paramref name="l2"/>), solved by
    /// Newton's method (the problem is small: one weight per feature). Deterministic.
    /// </summary>
    public static BlendModel Fit(IEnumerable<IReadOnlyList<(double[] Features, bool Taken)>> groups, double l2 = 1.0, int iterations = 25)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var pairs = new List<double[]>();
        var dimensions = -1;
        foreach (var group in groups)
        {
            var taken = group.Where(c => c.Taken).ToList();
            var not = group.Where(c => !c.Taken).ToList();
            foreach (var t in taken)
            {
                foreach (var n in not)
                {
                    dimensions = t.Features.Length;
                    pairs.Add([.. t.Features.Zip(n.Features, (a, b) => a - b)]);
                }
            }
        }
        if (dimensions <= 0)
        {
            throw new ArgumentException("No learner has both a taken and a not-taken candidate.", nameof(groups));
        }
        var w = new double[dimensions];
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            // Gradient and Hessian of Σ log(1 + exp(−w·x)) + l2/2 |w|².
            var gradient = new double[dimensions];
            var hessian = new double[dimensions, dimensions];
            for (var i = 0; i < dimensions; i++)
            {
                gradient[i] = l2 * w[i];
                hessian[i, i] = l2;
            }
            foreach (var x in pairs)
            {
                var margin = 0.0;
                for (var i = 0; i < dimensions; i++)
                {
                    margin += w[i] * x[i];
                }
                var p = 1 / (1 + Math.Exp(margin)); // probability of the wrong order
                var curvature = p * (1 - p);
                for (var i = 0; i < dimensions; i++)
                {
                    gradient[i] -= p * x[i];
                    for (var j = 0; j <= i; j++)
                    {
                        hessian[i, j] += curvature * x[i] * x[j];
                    }
                }
            }
            for (var i = 0; i < dimensions; i++)
            {
                for (var j = i + 1; j < dimensions; j++)
                {
                    hessian[i, j] = hessian[j, i];
                }
            }
            var step = Solve(hessian, gradient);
            var size = 0.0;
            for (var i = 0; i < dimensions; i++)
            {
                w[i] -= step[i];
                size = Math.Max(size, Math.Abs(step[i]));
            }
            if (size < 1e-7)
            {
                break;
            }
        }
        return new BlendModel([.. w.Select(v => Math.Round(v, 4))]);
    }

    /// <summary>Gaussian elimination with partial pivoting (the Hessian is positive definite through the L2 term).</summary>
    private static double[] Solve(double[,] a, double[] b)
    {
        var n = b.Length;
        var m = (double[,])a.Clone();
        var x = (double[])b.Clone();
        for (var col = 0; col < n; col++)
        {
            var pivot = col;
            for (var row = col + 1; row < n; row++)
            {
                if (Math.Abs(m[row, col]) > Math.Abs(m[pivot, col]))
                {
                    pivot = row;
                }
            }
            if (pivot != col)
            {
                for (var k = 0; k < n; k++)
                {
                    (m[col, k], m[pivot, k]) = (m[pivot, k], m[col, k]);
                }
                (x[col], x[pivot]) = (x[pivot], x[col]);
            }
            for (var row = col + 1; row < n; row++)
            {
                var factor = m[row, col] / m[col, col];
                for (var k = col; k < n; k++)
                {
                    m[row, k] -= factor * m[col, k];
                }
                x[row] -= factor * x[col];
            }
        }
        for (var row = n - 1; row >= 0; row--)
        {
            for (var k = row + 1; k < n; k++)
            {
                x[row] -= m[row, k] * x[k];
            }
            x[row] /= m[row, row];
        }
        return x;
    }
}

/// <summary>A candidate of the learned blend: every component's signal, and its <see cref="BlendFeature"/>s.</summary>
public sealed record BlendFeatures(BlendCandidate Candidate, double[] Values)
{
    public ContentKey Key => Candidate.Key;
}

/// <summary>
/// The learned blend over a <see cref="BlendRanker"/>'s candidates: each candidate's <see cref="BlendFeature"/>s, ranked
/// by a <see cref="BlendModel"/> where readiness is one feature among others. The harness's "blend" row; the service serves
/// <see cref="ServedRanking"/>.
/// </summary>
public sealed class LearnedBlendRanker(BlendRanker ranker)
{
    /// <summary>The learned blend's list (<paramref name="model"/>, by default <see cref="BlendModel.Default"/>); without history, the weighted ranker's popular list.</summary>
    public IReadOnlyList<BlendedPick> Recommend(IReadOnlyList<HistoryItem> history, int count, BlendModel? model = null, IEnumerable<ContentKey>? extraCandidates = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0)
        {
            return ranker.Recommend(history, count, extraCandidates: extraCandidates);
        }
        model ??= BlendModel.Default;
        return [.. Features(history, extraCandidates)
            .Select(c => Pick(c, model))
            .OrderByDescending(p => p.Score)
            .ThenBy(p => p.Key.ContentType, StringComparer.Ordinal).ThenBy(p => p.Key.ContentId, StringComparer.Ordinal)
            .Take(Math.Max(0, count))];
    }

    /// <summary>
    /// Every candidate of <see cref="BlendRanker.Candidates"/> with its <see cref="BlendFeature"/>s (what <see cref="Recommend"/>
    /// ranks, and what the harness fits <see cref="BlendModel"/> on). Items of the history are never candidates.
    /// </summary>
    public IReadOnlyList<BlendFeatures> Features(IReadOnlyList<HistoryItem> history, IEnumerable<ContentKey>? extraCandidates = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        var coCompletion = ranker.CoCompletionCounts;
        var weights = ranker.Weights(history);
        var done = history.Select(h => h.Key).ToHashSet();
        var candidates = ranker.Candidates(history, extraCandidates);
        var content = ranker.Content(history);
        var co = ranker.CoCompletion(history);
        var topics = history.Select(h => h.Path.Topic).OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
        var interests = Interests.Cluster([.. history.Select((h, i) => (h.Key, h.Vector ?? [], weights[i]))]);
        var latest = history.Count == 0 ? null : history[^1];
        var totalWeight = weights.Sum();
        var contentRank = Ranks(content);
        var coRank = Ranks(co);
        var maxContent = content.Values.Select(s => s.Score).DefaultIfEmpty(0).Max();
        var maxCo = co.Values.Select(s => s.Score).DefaultIfEmpty(0).Max();
        var maxCount = candidates.Select(c => coCompletion.ItemCount(c.Key)).DefaultIfEmpty(0).Max();
        var types = history.GroupBy(h => h.Key.ContentType, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var followOnSteps = Enumerable.Range(1, Math.Max(0, history.Count - 1)).Count(i => history[i].Path.Prerequisites.Contains(history[i - 1].Key));
        var followOnRate = (followOnSteps + 0.5) / Math.Max(1, history.Count);
        var fromLatest = latest is null ? [] : coCompletion.After(latest.Key).ToDictionary(a => a.Item, a => a.Share);
        return [.. candidates.Select(candidate =>
        {
            var k = candidate.Key;
            var facts = ranker.PathOf(k);
            var f = new double[BlendFeature.Count];
            var ready = candidate.Ready ? 1.0 : 0.0;
            var scaledCo = Scale(candidate.CoCompletion.Score, maxCo);
            var unlocked = latest is not null && facts is not null && facts.Prerequisites.Contains(latest.Key) ? 1.0 : 0.0;
            f[BlendFeature.Content] = Scale(candidate.Content.Score, maxContent);
            f[BlendFeature.CoCompletion] = scaledCo;
            f[BlendFeature.CoCompletionShare] = totalWeight > 0 ? Math.Clamp(candidate.CoCompletion.Score / totalWeight, 0, 1) : 0;
            f[BlendFeature.Path] = candidate.Path.Score;
            f[BlendFeature.Ready] = ready;
            f[BlendFeature.Missing] = facts is { Prerequisites.Count: > 0 } ? (double)(candidate.Missing?.Count ?? 0) / facts.Prerequisites.Count : 0;
            f[BlendFeature.UnlockedByLatest] = unlocked;
            f[BlendFeature.SameTopicAsLatest] = latest?.Path.Topic is { } lt && string.Equals(facts?.Topic, lt, StringComparison.OrdinalIgnoreCase) ? 1 : 0;
            f[BlendFeature.Popular] = maxCount > 0 ? Math.Log(1 + coCompletion.ItemCount(k)) / Math.Log(1 + maxCount) : 0;
            f[BlendFeature.Interest] = Math.Max(0, Interests.Affinity(interests, ranker.VectorOf(k)));
            f[BlendFeature.ContentRank] = contentRank.TryGetValue(k, out var cr) ? 1.0 / (1 + cr) : 0;
            f[BlendFeature.CoCompletionRank] = coRank.TryGetValue(k, out var kr) ? 1.0 / (1 + kr) : 0;
            f[BlendFeature.ReadyCoCompletion] = ready * scaledCo;
            f[BlendFeature.ReadyUnlocked] = ready * unlocked;
            f[BlendFeature.TypeTaste] = (types.GetValueOrDefault(k.ContentType) + 1.0) / (history.Count + 3.0);
            f[BlendFeature.FollowOn] = unlocked * followOnRate;
            f[BlendFeature.CoCompletionFromLatest] = Math.Clamp(fromLatest.GetValueOrDefault(k), 0, 1);
            f[BlendFeature.TwoSteps] = !candidate.Ready && candidate.Missing is { Count: > 0 } missing
                && missing.All(m => ranker.PathOf(m) is { } mp && mp.Prerequisites.All(done.Contains)) ? 1 : 0;
            return new BlendFeatures(candidate, f);
        })];
    }

    private static double Scale(double value, double max) => max > 0 && value > 0 ? value / max : 0;

    private static Dictionary<ContentKey, int> Ranks(IReadOnlyDictionary<ContentKey, ComponentSignal> scores) =>
        scores.OrderByDescending(s => s.Value.Score).ThenBy(s => s.Key.ContentType, StringComparer.Ordinal).ThenBy(s => s.Key.ContentId, StringComparer.Ordinal)
            .Select((s, i) => (s.Key, i)).ToDictionary(x => x.Key, x => x.i);

    /// <summary>A candidate as a pick of the learned blend: its model score, and the strongest source by the model's own parts.</summary>
    private static BlendedPick Pick(BlendFeatures c, BlendModel model)
    {
        var f = c.Values;
        double Part(params int[] features) => features.Sum(i => model.Coefficients[i] * f[i]);
        var picks = Blend.Picks([c.Candidate], (candidate, _) =>
        [
            new(RecommendationSource.NextStep, Part(BlendFeature.Path, BlendFeature.UnlockedByLatest, BlendFeature.ReadyUnlocked), candidate.Path.Driver),
            new(RecommendationSource.CoCompletion, Part(BlendFeature.CoCompletion, BlendFeature.CoCompletionShare, BlendFeature.CoCompletionRank, BlendFeature.ReadyCoCompletion), candidate.CoCompletion.Driver),
            new(RecommendationSource.Content, Part(BlendFeature.Content, BlendFeature.ContentRank, BlendFeature.Interest), candidate.Content.Driver),
            new(RecommendationSource.Popular, Part(BlendFeature.Popular), null),
        ], (_, _) => model.Score(f));
        // The learned blend's component scores are its own scaled features.
        return picks[0] with { Components = new ComponentScores(f[BlendFeature.Content], f[BlendFeature.CoCompletion], f[BlendFeature.Path], f[BlendFeature.Popular]) };
    }
}
