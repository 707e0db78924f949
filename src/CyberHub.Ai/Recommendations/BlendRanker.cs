using System.Numerics.Tensors;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Recommendations;

/// <summary>A completed item of the learner's history, with its vector (null when unknown) and path facts.</summary>
public sealed record HistoryItem(ContentKey Key, DateTime CompletedAt, float[]? Vector, PathItem Path);

/// <summary>
/// How the history is weighted: a completion's weight halves every <see cref="HalfLifeDays"/> before the learner's
/// latest one (never below <see cref="MinRecency"/>) and by <see cref="StepDecay"/> per later completion, so the last
/// few items lead. <see cref="CandidateLimit"/> caps the diffusion's candidates.
/// The content component's score of a candidate (<see cref="BlendRanker.Candidates"/>) is the diffusion's share mixed with
/// a direct part, <see cref="ContentMix"/> of it (0: the diffusion alone). The direct part hands out the diffusion's own
/// shares, the largest first, in the order of the candidate's cosine to the learner's interest (the weighted mean
/// direction of the latest <see cref="ServedRanking.RecentSeeds"/> completions, each step back weighted by
/// <see cref="InterestStepDecay"/> besides recency) minus <see cref="Hubness"/> × its <see cref="NeighbourGraph.Hubness"/>:
/// the order is the direct score's, the spread the diffusion's. The cosine is taken after <see cref="Centring"/> × the
/// catalog's mean vector (<see cref="NeighbourGraph.CatalogMean"/>) is subtracted from both the interest and the
/// candidate: what every item of the catalog shares says nothing about which of them the learner is after, and an item
/// close to that shared direction (a generic one) loses the lead its raw cosine gave it. 0: raw cosines. The words add
/// <see cref="Words"/> × the cosine of the candidate's words (<see cref="NeighbourGraph.Words"/>) to the interest's (the
/// same completions' words, each weighed by how few items of the catalog hold it: <see cref="NeighbourGraph.WeighedWords"/>;
/// the completions weighted alike): a candidate that shares the rare words of what the learner just did (a service's
/// name, a tool's) gains on one that only means something near. 0: vectors alone. Vectors, words and the item graph
/// only: no topic or other metadata, no other learners. <see cref="Nearest"/> is how many items nearest the learner's
/// profile vector the vector search adds to those candidates (never fewer than <see cref="RecommendationCore.MaxPicks"/>,
/// so a list of one type can always be filled). The defaults were chosen with the evaluation harness on its
/// tuning split (docs/recommendations.md, "The content side: the catalog's mean taken out", "Words weighed by the
/// catalog" and "How many nearest items a miss searches for").
/// </summary>
public sealed record BlendSettings(double HalfLifeDays = 30, double MinRecency = 0.25, double StepDecay = 0.7, int CandidateLimit = 200,
    double Restart = Diffusion.DefaultRestart, double ContentMix = 1, double Hubness = 0.25, double InterestStepDecay = 1.0, double Centring = 2,
    double Words = 0.5, int Nearest = RecommendationCore.NearestPool)
{
    public static BlendSettings Default { get; } = new();
}

/// <summary>
/// The components and their weighted blend for one learner, from plain inputs: the catalog's neighbour graph, the co-completion
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
    /// The weighted sum of the scaled components over the union of candidates (what diffusion reaches, co-completion
    /// successors, what the history unlocks, <paramref name="extraCandidates"/>), ready items first (<see cref="Blend.Rank"/>;
    /// <see cref="BlendWeights.Default"/> when no weights are given). With no history, the candidates are
    /// <paramref name="extraCandidates"/> ranked by popularity, introductory items first.
    /// </summary>
    public IReadOnlyList<BlendedPick> Recommend(
        IReadOnlyList<HistoryItem> history, int count, BlendWeights? weights = null, IEnumerable<ContentKey>? extraCandidates = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        return Blend.Rank(Candidates(history, extraCandidates), history.Count == 0 ? new BlendWeights(0, 0, 0, 1) : weights ?? BlendWeights.Default, count);
    }

    /// <summary>
    /// Every candidate (what diffusion reaches, co-completion successors, what the history unlocks,
    /// <paramref name="extraCandidates"/>, in that order, each once) with each component's raw signal, its readiness and
    /// missing prerequisites, unscaled: what a caller fuses (<see cref="Blend.Rank"/>, <see cref="ServedRanking"/>). Items
    /// of the history are never candidates. Popular: the item's count of learners within the learner's topics (any topic
    /// before they have one), introductory items counting double.
    /// </summary>
    public IReadOnlyList<BlendCandidate> Candidates(IReadOnlyList<HistoryItem> history, IEnumerable<ContentKey>? extraCandidates = null)
    {
        ArgumentNullException.ThrowIfNull(history);
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
        var direct = Direct(history, keys, content);
        var inTopics = history.Select(h => h.Path.Topic).OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
        return [.. keys.Select(k =>
        {
            var p = path.GetValueOrDefault(k);
            var facts = pathOf(k);
            var inTopic = inTopics.Count == 0 || (facts?.Topic is { } t && inTopics.Contains(t));
            var popular = inTopic ? coCompletion.ItemCount(k) * (facts?.Level is null or 0 ? 1.0 : 0.5) : 0;
            return new BlendCandidate(k, direct?.GetValueOrDefault(k) ?? content.GetValueOrDefault(k), co.GetValueOrDefault(k),
                new ComponentSignal(p?.Score ?? 0, p?.After), new ComponentSignal(popular, null), p?.Ready ?? true, p?.Missing);
        })];
    }

    /// <summary>
    /// The content score of every candidate with <see cref="BlendSettings.ContentMix"/> above 0: (1 − mix) × the
    /// diffusion's share + mix × the direct share. The direct share keeps the diffusion's mass and changes who gets it:
    /// the candidates are ordered by cos(interest, candidate) − hubness × the candidate's <see cref="NeighbourGraph.Hubness"/>,
    /// and the r-th of them gets the diffusion's r-th largest share (renormalised when fewer candidates take part than
    /// the diffusion reached). So the content part of the prior is exactly as spread as the walk over the item graph
    /// (a content share outweighs what other learners did no more than the diffusion's did) and ordered by the direct
    /// score. A candidate without a vector or not similar to the interest at all (cosine at most 0; the graph keeps no
    /// such edge either) gets no direct share. A candidate whose hubness the graph does not know counts the mean of
    /// those it knows. The diffusion's driver is kept; a candidate only the direct part reaches names none (the caller
    /// names the closest item). Null (the diffusion's mass alone) with mix 0, when the diffusion has no mass, the
    /// history no vector, or no candidate is similar to it.
    /// </summary>
    private Dictionary<ContentKey, ComponentSignal>? Direct(
        IReadOnlyList<HistoryItem> history, IReadOnlyList<ContentKey> keys, IReadOnlyDictionary<ContentKey, ComponentSignal> diffusion)
    {
        var mix = Math.Clamp(_settings.ContentMix, 0, 1);
        if (mix <= 0 || keys.Count == 0 || diffusion.Count == 0 || Interest(history) is not { } interest)
        {
            return null;
        }
        // The diffusion's mass, largest share first: what the direct order hands out.
        var mass = new double[diffusion.Count];
        var n = 0;
        foreach (var signal in diffusion.Values)
        {
            if (signal.Score > 0)
            {
                mass[n++] = signal.Score;
            }
        }
        var diffusionSum = 0.0;
        for (var i = 0; i < n; i++)
        {
            diffusionSum += mass[i];
        }
        if (n == 0 || !(diffusionSum > 0))
        {
            return null;
        }
        Array.Sort(mass, 0, n);
        Array.Reverse(mass, 0, n);

        var hubs = new double?[keys.Count];
        var (hubSum, hubCount) = (0.0, 0);
        for (var i = 0; i < keys.Count; i++)
        {
            if ((hubs[i] = graph.Hubness(keys[i])) is { } hub)
            {
                (hubSum, hubCount) = (hubSum + hub, hubCount + 1);
            }
        }
        var meanHub = hubCount > 0 ? hubSum / hubCount : 0;
        var centred = Centred(interest);
        var words = WordInterest(history);
        // The candidates similar to the interest, by the direct score (ties by key, so the order is the same every time).
        var scored = new List<(int Index, double Score)>(keys.Count);
        for (var i = 0; i < keys.Count; i++)
        {
            if (vectorOf(keys[i]) is { } v && v.Length == interest.Length && TensorPrimitives.CosineSimilarity(interest, v) is var cosine && cosine > 0)
            {
                var score = (centred is null ? cosine : centred.Cosine(v)) - _settings.Hubness * (hubs[i] ?? meanHub);
                if (words is not null && graph.Words(keys[i]) is { } candidateWords)
                {
                    score += _settings.Words * candidateWords.Dot(words);
                }
                scored.Add((i, score));
            }
        }
        scored.Sort((a, b) =>
        {
            var order = b.Score.CompareTo(a.Score);
            if (order == 0)
            {
                order = string.CompareOrdinal(keys[a.Index].ContentType, keys[b.Index].ContentType);
            }
            return order != 0 ? order : string.CompareOrdinal(keys[a.Index].ContentId, keys[b.Index].ContentId);
        });
        // Fewer candidates similar to the interest than the diffusion reached: the shares they get are renormalised.
        var handed = Math.Min(scored.Count, n);
        if (handed == 0)
        {
            return null;
        }
        var handedSum = 0.0;
        for (var r = 0; r < handed; r++)
        {
            handedSum += mass[r];
        }
        var direct = new double[keys.Count];
        for (var r = 0; r < handed; r++)
        {
            direct[scored[r].Index] = mass[r] / handedSum;
        }
        var result = new Dictionary<ContentKey, ComponentSignal>(keys.Count);
        for (var i = 0; i < keys.Count; i++)
        {
            var d = diffusion.GetValueOrDefault(keys[i]);
            result[keys[i]] = new ComponentSignal((1 - mix) * Math.Max(0, d.Score) / diffusionSum + mix * direct[i], d.Driver);
        }
        return result;
    }

    /// <summary>
    /// The interest with <see cref="BlendSettings.Centring"/> × the catalog's mean taken out (null without a mean or
    /// centring): candidates are then compared by what sets them apart from the rest of the catalog.
    /// </summary>
    private CentredInterest? Centred(float[] interest)
    {
        if (!(_settings.Centring > 0) || graph.CatalogMean is not { } mean || mean.Length != interest.Length)
        {
            return null;
        }
        var beta = (float)_settings.Centring;
        var shifted = new float[interest.Length];
        TensorPrimitives.MultiplyAdd(mean, -beta, interest, shifted);
        var norm = TensorPrimitives.Norm(shifted);
        return norm > 1e-6f ? new CentredInterest(shifted, norm, mean, beta, TensorPrimitives.Dot(shifted, mean), TensorPrimitives.Dot(mean, mean)) : null;
    }

    /// <summary>
    /// cos(interest − βμ, v − βμ) for unit candidates v, without shifting each: (i'·v − β i'·μ) / (|i'| |v − βμ|), where
    /// |v − βμ|² = |v|² − 2β v·μ + β²|μ|².
    /// </summary>
    private sealed record CentredInterest(float[] Shifted, float Norm, float[] Mean, float Beta, float ShiftedDotMean, float MeanDotMean)
    {
        public double Cosine(float[] v)
        {
            var length2 = TensorPrimitives.Dot(v, v) - 2 * Beta * TensorPrimitives.Dot(v, Mean) + Beta * Beta * MeanDotMean;
            return length2 > 1e-12 ? (TensorPrimitives.Dot(Shifted, v) - Beta * ShiftedDotMean) / (Norm * Math.Sqrt(length2)) : 0;
        }
    }

    /// <summary>The learner's interest: the unit weighted mean of the latest completions' vectors (null without any).</summary>
    private float[]? Interest(IReadOnlyList<HistoryItem> history)
    {
        float[]? sum = null;
        foreach (var (i, weight) in InterestWeights(history))
        {
            if (history[i].Vector is not { } v || (sum is not null && v.Length != sum.Length))
            {
                continue;
            }
            sum ??= new float[v.Length];
            TensorPrimitives.MultiplyAdd(v, (float)weight, sum, sum);
        }
        return sum is null ? null : ContentVectors.UnitOrZero(sum);
    }

    /// <summary>
    /// The interest's words: the same completions' word vectors, weighted alike, unit length. Null without words (setting
    /// 0, or none learnt for those completions).
    /// </summary>
    private Dictionary<int, double>? WordInterest(IReadOnlyList<HistoryItem> history)
    {
        if (!(_settings.Words > 0))
        {
            return null;
        }
        var sum = WordVector.UnitSum(InterestWeights(history).Select(p => (graph.WeighedWords(history[p.Index].Key), p.Weight)));
        return sum.Count == 0 ? null : sum;
    }

    /// <summary>The latest <see cref="ServedRanking.RecentSeeds"/> completions (index into the history) and their weights in the interest.</summary>
    private IEnumerable<(int Index, double Weight)> InterestWeights(IReadOnlyList<HistoryItem> history)
    {
        if (history.Count == 0)
        {
            yield break;
        }
        var latest = history.Max(h => h.CompletedAt);
        for (var i = Math.Max(0, history.Count - ServedRanking.RecentSeeds); i < history.Count; i++)
        {
            yield return (i, Math.Max(_settings.MinRecency, Math.Pow(0.5, Math.Max(0, (latest - history[i].CompletedAt).TotalDays) / _settings.HalfLifeDays))
                * Math.Pow(_settings.InterestStepDecay, history.Count - 1 - i));
        }
    }

    /// <summary>The item graph the diffusion walks.</summary>
    public NeighbourGraph Graph => graph;

    /// <summary>The co-completion counts.</summary>
    public CoCompletionModel CoCompletionCounts => coCompletion;

    /// <summary>An item's path facts (null when unknown).</summary>
    public PathItem? PathOf(ContentKey key) => pathOf(key);

    /// <summary>An item's vector (null when unknown).</summary>
    public float[]? VectorOf(ContentKey key) => vectorOf(key);

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
