using System.Globalization;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Recommendations;

/// <summary>
/// The content score's space, tried on the bare content-only set (<c>--tune-space</c>, tuning split only;
/// docs/recommendations.md, "The content side: the catalog's mean taken out"): every rule ranked exactly against the
/// learner's profile after the catalog's mean is taken out (× β) and, optionally, its top principal directions
/// ("all-but-the-top", Mu and Viswanath 2018), with a hubness correction in the same space, a penalty for candidates
/// close to one completed item but not the others, a share of the closest completed item's similarity, or the profile
/// expanded by its nearest items (pseudo-relevance feedback), each dimension scaled by a power of its spread over the
/// catalog, each completed item's direction counted alike in the profile, a boost for the learner's share of the
/// candidate's content cluster (<see cref="ContentClusters"/>), or the cosine of the candidate's words to the learner's
/// (TF-IDF; docs/recommendations.md, "Words weighed by the catalog").
/// </summary>
public static class CatalogSpace
{
    /// <summary>One variant of the space and the score over it.</summary>
    public sealed record Variant(double Beta, int Directions, double Hubness, double Spread = 0, double Closest = 0, double Feedback = 0, double Scale = 0, bool EqualItems = false, double ClusterBoost = 0, int PerCluster = 50, double Augment = 0, int AugmentK = 10, double Words = 0, bool WordsTfNorm = false, int ProfileTerms = 0, bool TitlesOnly = false)
    {
        public string Label => string.Create(CultureInfo.InvariantCulture,
            $"{(Beta == 0 ? "raw" : $"mean × {Beta} out")}{(Directions > 0 ? $", top {Directions} directions out" : "")}, h {Hubness}"
            + $"{(Spread > 0 ? $", spread penalty {Spread}" : "")}{(Closest > 0 ? $", closest item {Closest}" : "")}{(Feedback > 0 ? $", feedback {Feedback}" : "")}{(Scale != 0 ? $", dimensions × std^{Scale}" : "")}{(EqualItems ? ", each completed item's direction counted alike" : "")}{(ClusterBoost > 0 ? $", cluster boost {ClusterBoost} ({PerCluster} a cluster)" : "")}{(Augment > 0 ? $", each item plus {Augment} × the mean of its {AugmentK} nearest" : "")}{(Words > 0 ? $", words (TF-IDF cosine) × {Words}{(WordsTfNorm ? ", candidates without idf (lnc.ltc)" : "")}{(ProfileTerms > 0 ? $", profile's top {ProfileTerms} terms" : "")}{(TitlesOnly ? ", titles only" : "")}" : "")}");
    }

    /// <summary>The variants reported: β, the principal directions, and each further idea at the β that did best.</summary>
    public static IReadOnlyList<Variant> Grid { get; } =
    [
        new(0, 0, 0), new(0, 0, 0.5),
        new(1, 0, 0), new(1, 0, 0.25), new(1.5, 0, 0), new(2, 0, 0), new(2, 0, 0.25), new(2.5, 0, 0), new(3, 0, 0), new(4, 0, 0),
        new(1, 1, 0), new(1, 2, 0), new(1, 4, 0), new(1, 8, 0), new(1, 16, 0),
        new(1, 0, 0, Spread: 0.5), new(1, 0, 0, Spread: 1),
        new(2, 0, 0.25, Closest: 0.25), new(2, 0, 0.25, Closest: 0.5), new(2, 0, 0.25, Closest: 1),
        new(2, 0, 0.25, Feedback: 0.5), new(2, 0, 0.25, Feedback: 1),
        new(2, 0, 0.25, Scale: -0.5), new(2, 0, 0.25, Scale: 0.5), new(2, 0, 0.25, Scale: 1), new(2, 0, 0.25, Scale: 2),
        new(2, 0, 0.25, EqualItems: true), new(1, 0, 0.25, EqualItems: true),
        new(2, 0, 0.25, ClusterBoost: 0.05), new(2, 0, 0.25, ClusterBoost: 0.1), new(2, 0, 0.25, ClusterBoost: 0.2),
        new(2, 0, 0.25, ClusterBoost: 0.1, PerCluster: 25), new(2, 0, 0.25, ClusterBoost: 0.1, PerCluster: 100),
        new(2, 0, 0.25, Augment: 0.5), new(2, 0, 0.25, Augment: 1), new(2, 0, 0.25, Augment: 2), new(2, 0, 0.25, Augment: 1, AugmentK: 5), new(0, 0, 0, Augment: 1),
        new(2, 0, 0.25, Words: 0.05), new(2, 0, 0.25, Words: 0.1), new(2, 0, 0.25, Words: 0.2), new(2, 0, 0.25, Words: 0.3),
        new(2, 0, 0.25, Words: 0.5), new(2, 0, 0.25, Words: 1), new(0, 0, 0.5, Words: 0.2), new(0, 0, 0, Words: 1000),
        new(2, 0, 0.25, Words: 0.4), new(2, 0, 0.25, Words: 0.3, WordsTfNorm: true), new(2, 0, 0.25, Words: 0.5, WordsTfNorm: true), new(2, 0, 0.25, Words: 0.8, WordsTfNorm: true), new(2, 0, 0.25, Words: 1.2, WordsTfNorm: true),
        new(2, 0, 0.25, Words: 0.3, ProfileTerms: 32), new(2, 0, 0.25, Words: 0.3, ProfileTerms: 64), new(2, 0, 0.25, Words: 0.3, ProfileTerms: 128),
        new(2, 0, 0.25, Words: 0.3, TitlesOnly: true), new(2, 0, 0.25, Words: 0.3, Closest: 0.25), new(2, 0, 0.25, Words: 0.3, ClusterBoost: 0.05),
    ];

    public static async Task TuneAsync(
        EvaluationContext bare, IReadOnlyList<Learner> learners, IReadOnlyList<TopicProbe> probes, int seed, int hidden, Action<string> say, CancellationToken cancellationToken)
    {
        IRecommender[] baseline = [new MeanEmbeddingRecommender(bare)];
        var topicBase = (await Evaluation.TopicPrecisionAsync(bare, probes, Learner.Tuning, seed, baseline, cancellationToken)).Rows[0].Precision.Mean;
        var timeBase = (await Evaluation.TimeSplitAsync(bare, learners, Learner.Tuning, hidden, baseline, cancellationToken)).Rows[0].Precision.Mean;
        var vectors = bare.Items.Select(i => i.Vector).ToList();
        var mean = MeanOf(vectors);
        say(string.Create(CultureInfo.InvariantCulture, $"- the catalog's mean vector has length {Math.Sqrt(mean.Sum(x => x * x)):F3}"));
        say("| space and score (exact over the catalog) | topic precision P@10 ratio | time split P@10 ratio |");
        say("|---|---:|---:|");
        var directions = TopDirections(vectors, mean, Grid.Max(v => v.Directions));
        var std = StdOf(vectors, mean);
        // The harness's content clusters (spherical k-means over the raw vectors), one set per cluster size the grid asks for.
        var clusters = Grid.Where(v => v.ClusterBoost > 0).Select(v => v.PerCluster).Distinct().ToDictionary(n => n,
            n => ContentClusters.Build([.. bare.Items.Select(i => (i.Key, i.Vector))], Math.Max(2, (int)Math.Round(bare.Items.Count / (double)n))));
        var records = await bare.Store.GetManyAsync([.. bare.Items.Select(i => i.Key)], cancellationToken);
        var texts = records.Select(r => (ContentVectors.KeyOf(r.Content), r.Content.Title, (string?)r.Content.Description)).ToList();
        var words = WordVectors.Of(texts);
        var tfNormed = WordVectors.Of(texts, weighed: false);
        var titles = WordVectors.Of([.. texts.Select(t => (t.Item1, t.Title, (string?)null))]);
        foreach (var variant in Grid)
        {
            IRecommender[] strategy = [new SpaceRecommender(bare, variant, mean, directions.Take(variant.Directions).ToArray(), std,
                variant.ClusterBoost > 0 ? clusters[variant.PerCluster] : null, variant.TitlesOnly ? titles : variant.WordsTfNorm ? tfNormed : words, words)];
            var topic = (await Evaluation.TopicPrecisionAsync(bare, probes, Learner.Tuning, seed, strategy, cancellationToken)).Rows[0].Precision.Mean;
            var time = (await Evaluation.TimeSplitAsync(bare, learners, Learner.Tuning, hidden, strategy, cancellationToken)).Rows[0].Precision.Mean;
            say(string.Create(CultureInfo.InvariantCulture, $"| {variant.Label} | {topic / topicBase:F3} | {time / timeBase:F3} |"));
        }
    }

    private static double[] StdOf(IReadOnlyList<float[]> vectors, double[] mean)
    {
        var variance = new double[mean.Length];
        foreach (var v in vectors)
        {
            for (var d = 0; d < mean.Length; d++)
            {
                variance[d] += (v[d] - mean[d]) * (v[d] - mean[d]) / vectors.Count;
            }
        }
        return [.. variance.Select(Math.Sqrt)];
    }

    private static double[] MeanOf(IReadOnlyList<float[]> vectors)
    {
        var mean = new double[vectors[0].Length];
        foreach (var v in vectors)
        {
            for (var d = 0; d < mean.Length; d++)
            {
                mean[d] += v[d] / (double)vectors.Count;
            }
        }
        return mean;
    }

    /// <summary>The top principal directions of the centred vectors, by power iteration with deflation (fixed start, so deterministic).</summary>
    private static double[][] TopDirections(IReadOnlyList<float[]> vectors, double[] mean, int count)
    {
        var centred = vectors.Select(v => v.Select((x, d) => x - mean[d]).ToArray()).ToArray();
        var found = new List<double[]>();
        var random = new Random(7);
        for (var k = 0; k < count; k++)
        {
            var u = Enumerable.Range(0, mean.Length).Select(_ => random.NextDouble() - 0.5).ToArray();
            for (var iteration = 0; iteration < 200; iteration++)
            {
                var next = new double[u.Length];
                foreach (var x in centred)
                {
                    var dot = Dot(x, u);
                    for (var d = 0; d < next.Length; d++)
                    {
                        next[d] += dot * x[d];
                    }
                }
                foreach (var f in found)
                {
                    var dot = Dot(next, f);
                    for (var d = 0; d < next.Length; d++)
                    {
                        next[d] -= dot * f[d];
                    }
                }
                var norm = Math.Sqrt(Dot(next, next));
                u = [.. next.Select(x => x / norm)];
            }
            found.Add(u);
        }
        return [.. found];
    }

    private static double Dot(double[] a, double[] b)
    {
        var sum = 0.0;
        for (var d = 0; d < a.Length; d++)
        {
            sum += a[d] * b[d];
        }
        return sum;
    }

    /// <summary>Every rule the learner has not done, scored exactly in the variant's space against today's weighted-mean profile.</summary>
    private sealed class SpaceRecommender : IRecommender
    {

        private readonly EvaluationContext _context;
        private readonly Variant _variant;
        private readonly double[] _mean;
        private readonly double[][] _directions;
        private readonly double[] _std;
        private readonly ContentClusters? _clusters;
        private readonly Dictionary<ContentKey, float[]> _raw;

        /// <summary>Database-side augmentation: the item's vector plus <paramref name="alpha"/> × the mean of its k nearest others' (raw cosine).</summary>
        private static float[] Augmented(IReadOnlyList<CatalogItem> items, CatalogItem item, double alpha, int k)
        {
            var nearest = items.Where(o => o.Key != item.Key).OrderByDescending(o => System.Numerics.Tensors.TensorPrimitives.Dot(o.Vector, item.Vector)).Take(k).ToList();
            var sum = item.Vector.Select(x => (double)x).ToArray();
            foreach (var o in nearest)
            {
                for (var d = 0; d < sum.Length; d++)
                {
                    sum[d] += alpha / nearest.Count * o.Vector[d];
                }
            }
            var norm = Math.Sqrt(Dot(sum, sum));
            return [.. sum.Select(x => (float)(x / norm))];
        }
        private readonly Dictionary<ContentKey, double[]> _mapped;
        private readonly Dictionary<ContentKey, double> _hubness;

        private readonly IReadOnlyDictionary<ContentKey, WordVector> _words;
        private readonly IReadOnlyDictionary<ContentKey, WordVector> _profileWords;

        public SpaceRecommender(EvaluationContext context, Variant variant, double[] mean, double[][] directions, double[] std, ContentClusters? clusters,
            IReadOnlyDictionary<ContentKey, WordVector> words, IReadOnlyDictionary<ContentKey, WordVector> profileWords)
        {
            (_context, _variant, _mean, _directions, _std, _clusters, _words) = (context, variant, mean, directions, std, clusters, words);
            _profileWords = variant.TitlesOnly ? words : profileWords;
            _raw = context.Items.ToDictionary(i => i.Key, i => variant.Augment > 0 ? Augmented(context.Items, i, variant.Augment, variant.AugmentK) : i.Vector);
            _mapped = _raw.ToDictionary(p => p.Key, p => Map(p.Value));
            // Each rule's mean similarity to its 10 nearest others, in the same space.
            _hubness = _mapped.ToDictionary(p => p.Key, p => _mapped.Where(o => o.Key != p.Key).Select(o => Dot(p.Value, o.Value)).OrderDescending().Take(10).Average());
        }

        public string Name => _variant.Label;

        private double[] Map(float[] vector)
        {
            var x = vector.Select((v, d) => (v - _variant.Beta * _mean[d]) * (_variant.Scale == 0 ? 1 : Math.Pow(_std[d], _variant.Scale))).ToArray();
            foreach (var u in _directions)
            {
                var dot = Dot(x, u);
                for (var d = 0; d < x.Length; d++)
                {
                    x[d] -= dot * u[d];
                }
            }
            var norm = Math.Max(Math.Sqrt(Dot(x, x)), 1e-12);
            return [.. x.Select(v => v / norm)];
        }

        public async Task<IReadOnlyList<ContentKey>> RecommendAsync(RecommendationRequest request, CancellationToken cancellationToken)
        {
            var (vector, history, started) = await _context.ProfileAsync(request, cancellationToken);
            if (vector is null)
            {
                return await TodayRecommender.StarterAsync(_context, request.Count, cancellationToken);
            }
            if (_variant.Augment > 0)
            {
                // The profile from the augmented vectors of the history, weighted as today's.
                var sum = new float[vector.Length];
                foreach (var w in history)
                {
                    var v = _raw[new ContentKey(w.Entry.ContentType, w.Entry.ContentId)];
                    for (var d = 0; d < sum.Length; d++)
                    {
                        sum[d] += (float)w.Weight * v[d];
                    }
                }
                vector = ContentVectors.UnitOrZero(sum);
            }
            var profile = Map(vector);
            var shares = _clusters?.Share([.. history.Select(w => (new ContentKey(w.Entry.ContentType, w.Entry.ContentId), w.Weight))]);
            var items = history.Select(w => (Vector: _mapped[new ContentKey(w.Entry.ContentType, w.Entry.ContentId)], w.Weight)).ToList();
            if (_variant.EqualItems)
            {
                var sum = new double[profile.Length];
                foreach (var (v, w) in items)
                {
                    for (var d = 0; d < sum.Length; d++)
                    {
                        sum[d] += w * v[d];
                    }
                }
                var norm = Math.Sqrt(Dot(sum, sum));
                profile = [.. sum.Select(x => x / norm)];
            }
            var total = items.Sum(i => i.Weight);
            var open = _mapped.Where(p => !started.Contains(p.Key)).ToList();
            if (_variant.Feedback > 0)
            {
                var top = open.OrderByDescending(p => Dot(profile, p.Value) - _variant.Hubness * _hubness[p.Key]).Take(10).ToList();
                var expanded = (double[])profile.Clone();
                foreach (var (_, v) in top)
                {
                    for (var d = 0; d < expanded.Length; d++)
                    {
                        expanded[d] += _variant.Feedback / top.Count * v[d];
                    }
                }
                var norm = Math.Sqrt(Dot(expanded, expanded));
                profile = [.. expanded.Select(x => x / norm)];
            }
            double Spread(double[] v)
            {
                if (_variant.Spread == 0 || items.Count < 2)
                {
                    return 0;
                }
                var similarities = items.Select(i => (Similarity: Dot(v, i.Vector), i.Weight)).ToList();
                var mean = similarities.Sum(s => s.Similarity * s.Weight) / total;
                return Math.Sqrt(similarities.Sum(s => s.Weight * (s.Similarity - mean) * (s.Similarity - mean)) / total);
            }
            double Closest(double[] v) => _variant.Closest == 0 ? 0 : items.Max(i => Dot(v, i.Vector));
            var wordProfile = _variant.Words > 0
                ? WordVectors.Sum(history.Select(w => (_profileWords[new ContentKey(w.Entry.ContentType, w.Entry.ContentId)], w.Weight)), _variant.ProfileTerms)
                : null;
            return [.. open
                .Select(p => (p.Key, Score: (1 - _variant.Closest) * Dot(profile, p.Value) + _variant.Closest * Closest(p.Value)
                    + (_clusters is null ? 0 : _variant.ClusterBoost * shares!.GetValueOrDefault(_clusters.Of(p.Key)))
                    - _variant.Hubness * _hubness[p.Key] - _variant.Spread * Spread(p.Value)
                    + (wordProfile is null ? 0 : _variant.Words * _words[p.Key].Dot(wordProfile))))
                .OrderByDescending(x => x.Score).ThenBy(x => x.Key.ContentType, StringComparer.Ordinal).ThenBy(x => x.Key.ContentId, StringComparer.Ordinal)
                .Take(request.Count).Select(x => x.Key)];
        }
    }
}

/// <summary>The catalog's words as the service weighs them (<see cref="ItemWords"/>, <see cref="TermItems"/>), every item at once.</summary>
public static class WordVectors
{
    /// <summary>
    /// Each item's words weighed by the whole catalog's counts (ltc, <see cref="TermItems.Vector"/>), or without them
    /// (lnc, <see cref="ItemWords.Vector(string, string?)"/>, as the service holds a candidate's).
    /// </summary>
    public static IReadOnlyDictionary<ContentKey, WordVector> Of(IReadOnlyList<(ContentKey Key, string Title, string? Description)> texts, bool weighed = true)
    {
        var words = texts.ToDictionary(t => t.Key, t => ItemWords.Of(t.Title, t.Description));
        var holding = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var item in words.Values)
        {
            ItemWords.Count(holding, item.Words, 1);
        }
        var termItems = new TermItems(texts.Count, holding);
        return texts.ToDictionary(t => t.Key, t => weighed ? termItems.Vector(words[t.Key]) : ItemWords.Vector(t.Title, t.Description));
    }

    /// <summary>The weighted sum of <paramref name="vectors"/>, cut to its <paramref name="top"/> heaviest words (0: all), unit length.</summary>
    public static Dictionary<int, double> Sum(IEnumerable<(WordVector Vector, double Weight)> vectors, int top = 0)
    {
        var sum = WordVector.UnitSum(vectors.Select(v => ((WordVector?)v.Vector, v.Weight)));
        if (top > 0 && sum.Count > top)
        {
            var heaviest = sum.OrderByDescending(p => p.Value).ThenBy(p => p.Key).Take(top).ToArray();
            sum = WordVector.UnitSum([(WordVector.Unit([.. heaviest.Select(p => p.Key)], [.. heaviest.Select(p => p.Value)]), 1.0)]);
        }
        return sum;
    }
}
