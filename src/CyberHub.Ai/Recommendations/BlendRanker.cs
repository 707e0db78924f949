using System.Numerics.Tensors;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Recommendations;

/// <summary>A completed item of the learner's history, with its vector (null when unknown) and path facts.</summary>
public sealed record HistoryItem(ContentKey Key, DateTime CompletedAt, float[]? Vector, PathItem Path);

/// <summary>A candidate of the blend: every component's signal, and the learned blend's features (<see cref="BlendFeature"/>).</summary>
public sealed record BlendFeatures(BlendCandidate Candidate, double[] Values)
{
    public ContentKey Key => Candidate.Key;
}

/// <summary>
/// How the history is weighted: a completion's weight halves every <see cref="HalfLifeDays"/> before the learner's
/// latest one (never below <see cref="MinRecency"/>) and by <see cref="StepDecay"/> per later completion, so the last
/// few items lead. <see cref="CandidateLimit"/> caps the diffusion's candidates.
/// </summary>
public sealed record BlendSettings(double HalfLifeDays = 30, double MinRecency = 0.25, double StepDecay = 0.7, int CandidateLimit = 200,
    double Restart = Diffusion.DefaultRestart)
{
    public static BlendSettings Default { get; } = new();
}

/// <summary>
/// The components and their blend for one learner, from plain inputs: the catalog's neighbour graph, the co-completion
/// model, each item's path facts and vector, and the items a completed prerequisite unlocks. Candidates are what the
/// diffusion reaches, what co-completion follows the history with, what the history unlocks, and any the caller adds
/// (e.g. the vector search's nearest items): nothing scans the catalog.
/// </summary>
public sealed class BlendRanker(
    NeighbourGraph graph,
    CoCompletionModel coCompletion,
    Func<ContentKey, PathItem?> pathOf,
    Func<ContentKey, float[]?> vectorOf,
    Func<ContentKey, IReadOnlyList<ContentKey>> unlockedBy,
    BlendSettings? settings = null)
{
    private readonly BlendSettings _settings = settings ?? BlendSettings.Default;

    /// <summary>Each history item's weight (same order as <paramref name="history"/>, which must be oldest first).</summary>
    public IReadOnlyList<double> Weights(IReadOnlyList<HistoryItem> history)
    {
        if (history.Count == 0)
        {
            return [];
        }
        var latest = history.Max(h => h.CompletedAt);
        return [.. history.Select((h, i) =>
            Math.Max(_settings.MinRecency, Math.Pow(0.5, Math.Max(0, (latest - h.CompletedAt).TotalDays) / _settings.HalfLifeDays))
            * Math.Pow(_settings.StepDecay, history.Count - 1 - i))];
    }

    /// <summary>Content: personalised PageRank from the weighted history; the driver is the most similar weighted history item.</summary>
    public IReadOnlyDictionary<ContentKey, ComponentSignal> Content(IReadOnlyList<HistoryItem> history) => Content(history, drivers: true);

    /// <summary>The diffusion's candidates alone (no drivers named): what a caller fetches before ranking.</summary>
    public IReadOnlyCollection<ContentKey> ContentKeys(IReadOnlyList<HistoryItem> history) => Content(history, drivers: false).Keys.ToList();

    private IReadOnlyDictionary<ContentKey, ComponentSignal> Content(IReadOnlyList<HistoryItem> history, bool drivers)
    {
        var weights = Weights(history);
        var done = history.Select(h => h.Key).ToHashSet();
        var rank = Diffusion.PersonalisedPageRank(graph, [.. history.Select((h, i) => (h.Key, weights[i]))], _settings.Restart);
        return rank.Where(r => !done.Contains(r.Key))
            .OrderByDescending(r => r.Value).ThenBy(r => r.Key.ContentType, StringComparer.Ordinal).ThenBy(r => r.Key.ContentId, StringComparer.Ordinal)
            .Take(_settings.CandidateLimit)
            .ToDictionary(r => r.Key, r => new ComponentSignal(r.Value, drivers ? ContentDriver(r.Key, history, weights) : null));
    }

    /// <summary>Co-completion: what learners took after the learner's weighted items, above the support floor.</summary>
    public IReadOnlyDictionary<ContentKey, ComponentSignal> CoCompletion(IReadOnlyList<HistoryItem> history)
    {
        var weights = Weights(history);
        return coCompletion.Score([.. history.Select((h, i) => (h.Key, weights[i]))])
            .ToDictionary(s => s.Key, s => new ComponentSignal(s.Value.Score, s.Value.Driver));
    }

    /// <summary>The learning path's signals for the given candidates.</summary>
    public IReadOnlyDictionary<ContentKey, PathSignal> Path(IReadOnlyList<HistoryItem> history, IEnumerable<ContentKey> candidates)
    {
        var weights = Weights(history);
        return LearningPath.Score([.. history.Select((h, i) => (h.Path, weights[i]))], candidates.Select(pathOf).OfType<PathItem>());
    }

    /// <summary>
    /// The blended list over the union of candidates (what diffusion reaches, co-completion successors, what the history
    /// unlocks, <paramref name="extraCandidates"/>). With <paramref name="weights"/>, the weighted sum of the scaled
    /// components, ready items first (<see cref="Blend.Rank"/>); without, the learned blend (<paramref name="model"/>, by
    /// default <see cref="BlendModel.Default"/>) over <see cref="Features"/>, where readiness is one feature among others.
    /// With no history, the candidates are <paramref name="extraCandidates"/> ranked by popularity, introductory items first.
    /// </summary>
    public IReadOnlyList<BlendedPick> Recommend(
        IReadOnlyList<HistoryItem> history, int count, BlendWeights? weights = null, IEnumerable<ContentKey>? extraCandidates = null,
        BlendModel? model = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        var candidates = Features(history, extraCandidates, learned: weights is null && history.Count > 0);
        if (history.Count == 0 || weights is not null)
        {
            return Blend.Rank([.. candidates.Select(c => c.Candidate)], history.Count == 0 ? new BlendWeights(0, 0, 0, 1) : weights!, count);
        }
        model ??= BlendModel.Default;
        return [.. candidates
            .Select(c => Pick(c, model))
            .OrderByDescending(p => p.Score)
            .ThenBy(p => p.Key.ContentType, StringComparer.Ordinal).ThenBy(p => p.Key.ContentId, StringComparer.Ordinal)
            .Take(Math.Max(0, count))];
    }

    /// <summary>
    /// Every candidate (what diffusion reaches, co-completion successors, what the history unlocks,
    /// <paramref name="extraCandidates"/>) with each component's raw signal, its readiness and missing prerequisites,
    /// unscaled: what a caller that fuses the components its own way (<see cref="ServedRanking"/>) ranks.
    /// </summary>
    public IReadOnlyList<BlendCandidate> Candidates(IReadOnlyList<HistoryItem> history, IEnumerable<ContentKey>? extraCandidates = null) =>
        [.. Features(history, extraCandidates, learned: false).Select(f => f.Candidate)];

    /// <summary>
    /// Every candidate with each component's signal and the learned blend's <see cref="BlendFeature"/>s (what
    /// <see cref="Recommend"/> ranks, and what the harness fits <see cref="BlendModel"/> on). Items of the history are never candidates.
    /// </summary>
    public IReadOnlyList<BlendFeatures> Features(IReadOnlyList<HistoryItem> history, IEnumerable<ContentKey>? extraCandidates = null) =>
        Features(history, extraCandidates, learned: true);

    /// <summary>
    /// The candidates with their components' signals; with <paramref name="learned"/> false the learned blend's features
    /// are left empty (the weighted sum reads none of them, and the interests, affinities and two-step checks cost a miss CPU).
    /// </summary>
    private List<BlendFeatures> Features(IReadOnlyList<HistoryItem> history, IEnumerable<ContentKey>? extraCandidates, bool learned)
    {
        ArgumentNullException.ThrowIfNull(history);
        var weights = Weights(history);
        var done = history.Select(h => h.Key).ToHashSet();
        var content = Content(history);
        var co = CoCompletion(history);
        var keys = new List<ContentKey>();
        var seen = new HashSet<ContentKey>();
        void Add(ContentKey key)
        {
            if (!done.Contains(key) && seen.Add(key))
            {
                keys.Add(key);
            }
        }
        foreach (var k in content.Keys) Add(k);
        foreach (var k in co.Keys) Add(k);
        foreach (var h in history)
        {
            foreach (var k in unlockedBy(h.Key)) Add(k);
        }
        foreach (var k in extraCandidates ?? []) Add(k);
        var path = Path(history, keys);
        if (!learned)
        {
            var inTopics = history.Select(h => h.Path.Topic).OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
            return [.. keys.Select(k =>
            {
                var p = path.GetValueOrDefault(k);
                var facts = pathOf(k);
                var inTopic = inTopics.Count == 0 || (facts?.Topic is { } t && inTopics.Contains(t));
                var popular = inTopic ? coCompletion.ItemCount(k) * (facts?.Level is null or 0 ? 1.0 : 0.5) : 0;
                return new BlendFeatures(new BlendCandidate(k, content.GetValueOrDefault(k), co.GetValueOrDefault(k),
                    new ComponentSignal(p?.Score ?? 0, p?.After), new ComponentSignal(popular, null), p?.Ready ?? true, p?.Missing), []);
            })];
        }
        var topics = history.Select(h => h.Path.Topic).OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
        var interests = Interests.Cluster([.. history.Select((h, i) => (h.Key, h.Vector ?? [], weights[i]))]);
        var latest = history.Count == 0 ? null : history[^1];
        var totalWeight = weights.Sum();
        var contentRank = Ranks(content);
        var coRank = Ranks(co);
        var maxContent = content.Values.Select(s => s.Score).DefaultIfEmpty(0).Max();
        var maxCo = co.Values.Select(s => s.Score).DefaultIfEmpty(0).Max();
        var maxCount = keys.Select(coCompletion.ItemCount).DefaultIfEmpty(0).Max();
        var types = history.GroupBy(h => h.Key.ContentType, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var followOnSteps = Enumerable.Range(1, Math.Max(0, history.Count - 1)).Count(i => history[i].Path.Prerequisites.Contains(history[i - 1].Key));
        var followOnRate = (followOnSteps + 0.5) / Math.Max(1, history.Count);
        var fromLatest = latest is null ? [] : coCompletion.After(latest.Key).ToDictionary(a => a.Item, a => a.Share);
        return [.. keys.Select(k =>
        {
            var p = path.GetValueOrDefault(k);
            var facts = pathOf(k);
            // Popular within what the learner chose: their topics (any topic before they have one), introductory first.
            var inTopic = topics.Count == 0 || (facts?.Topic is { } t && topics.Contains(t));
            var popular = inTopic ? coCompletion.ItemCount(k) * (facts?.Level is null or 0 ? 1.0 : 0.5) : 0;
            var candidate = new BlendCandidate(k,
                content.GetValueOrDefault(k),
                co.GetValueOrDefault(k),
                new ComponentSignal(p?.Score ?? 0, p?.After),
                new ComponentSignal(popular, null),
                p?.Ready ?? true, p?.Missing);
            var f = new double[BlendFeature.Count];
            var ready = candidate.Ready ? 1.0 : 0.0;
            var scaledCo = Scale(candidate.CoCompletion.Score, maxCo);
            var unlocked = latest is not null && facts is not null && facts.Prerequisites.Contains(latest.Key) ? 1.0 : 0.0;
            f[BlendFeature.Content] = Scale(candidate.Content.Score, maxContent);
            f[BlendFeature.CoCompletion] = scaledCo;
            f[BlendFeature.CoCompletionShare] = totalWeight > 0 ? Math.Clamp(candidate.CoCompletion.Score / totalWeight, 0, 1) : 0;
            f[BlendFeature.Path] = candidate.Path.Score;
            f[BlendFeature.Ready] = ready;
            f[BlendFeature.Missing] = facts is { Prerequisites.Count: > 0 } ? (double)(p?.Missing.Count ?? 0) / facts.Prerequisites.Count : 0;
            f[BlendFeature.UnlockedByLatest] = unlocked;
            f[BlendFeature.SameTopicAsLatest] = latest?.Path.Topic is { } lt && string.Equals(facts?.Topic, lt, StringComparison.OrdinalIgnoreCase) ? 1 : 0;
            f[BlendFeature.Popular] = maxCount > 0 ? Math.Log(1 + coCompletion.ItemCount(k)) / Math.Log(1 + maxCount) : 0;
            f[BlendFeature.Interest] = Math.Max(0, Interests.Affinity(interests, vectorOf(k)));
            f[BlendFeature.ContentRank] = contentRank.TryGetValue(k, out var cr) ? 1.0 / (1 + cr) : 0;
            f[BlendFeature.CoCompletionRank] = coRank.TryGetValue(k, out var kr) ? 1.0 / (1 + kr) : 0;
            f[BlendFeature.ReadyCoCompletion] = ready * scaledCo;
            f[BlendFeature.ReadyUnlocked] = ready * unlocked;
            f[BlendFeature.TypeTaste] = (types.GetValueOrDefault(k.ContentType) + 1.0) / (history.Count + 3.0);
            f[BlendFeature.FollowOn] = unlocked * followOnRate;
            f[BlendFeature.CoCompletionFromLatest] = Math.Clamp(fromLatest.GetValueOrDefault(k), 0, 1);
            f[BlendFeature.TwoSteps] = !candidate.Ready && candidate.Missing is { Count: > 0 } missing
                && missing.All(m => pathOf(m) is { } mp && mp.Prerequisites.All(done.Contains)) ? 1 : 0;
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
        var scores = new ComponentScores(f[BlendFeature.Content], f[BlendFeature.CoCompletion], f[BlendFeature.Path], f[BlendFeature.Popular]);
        (RecommendationSource Source, double Part, ContentKey? Driver)[] parts =
        [
            (RecommendationSource.NextStep, Part(BlendFeature.Path, BlendFeature.UnlockedByLatest, BlendFeature.ReadyUnlocked), c.Candidate.Path.Driver),
            (RecommendationSource.CoCompletion, Part(BlendFeature.CoCompletion, BlendFeature.CoCompletionShare, BlendFeature.CoCompletionRank, BlendFeature.ReadyCoCompletion), c.Candidate.CoCompletion.Driver),
            (RecommendationSource.Content, Part(BlendFeature.Content, BlendFeature.ContentRank, BlendFeature.Interest), c.Candidate.Content.Driver),
            (RecommendationSource.Popular, Part(BlendFeature.Popular), null),
        ];
        var strongest = parts.Where(p => p.Source != RecommendationSource.NextStep || p.Driver is not null)
            .Where(p => p.Source != RecommendationSource.CoCompletion || p.Driver is not null).MaxBy(p => p.Part);
        if (strongest.Part <= 0)
        {
            strongest = parts.First(p => p.Source == RecommendationSource.Content);
        }
        return new BlendedPick(c.Candidate.Key, model.Score(f), scores, strongest.Source, strongest.Driver, c.Candidate.Ready, c.Candidate.Missing ?? []);
    }

    private ContentKey? ContentDriver(ContentKey pick, IReadOnlyList<HistoryItem> history, IReadOnlyList<double> weights)
    {
        var vector = vectorOf(pick);
        if (vector is null)
        {
            return history.Count == 0 ? null : history[^1].Key;
        }
        ContentKey? best = null;
        var bestValue = double.NegativeInfinity;
        for (var i = 0; i < history.Count; i++)
        {
            if (history[i].Vector is not { } v || v.Length != vector.Length)
            {
                continue;
            }
            var value = weights[i] * TensorPrimitives.Dot(v, vector);
            if (value > bestValue)
            {
                (best, bestValue) = (history[i].Key, value);
            }
        }
        return best;
    }
}
