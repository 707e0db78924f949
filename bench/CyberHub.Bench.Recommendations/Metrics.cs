namespace CyberHub.Bench.Recommendations;

/// <summary>
/// Ranking metrics of one list against the items judged relevant, each with a cut-off k. Relevance is graded (gain
/// 2^grade − 1, grade 1 for the time split's hidden items); an item counts as a hit when its grade is above zero.
/// </summary>
public static class Metrics
{
    public static double PrecisionAt<T>(IReadOnlyList<T> ranked, IReadOnlyDictionary<T, int> relevant, int k) where T : notnull =>
        k == 0 ? 0 : (double)ranked.Take(k).Count(item => Grade(relevant, item) > 0) / k;

    /// <summary>Hits in the top k over the relevant items; 0 when nothing is relevant.</summary>
    public static double RecallAt<T>(IReadOnlyList<T> ranked, IReadOnlyDictionary<T, int> relevant, int k) where T : notnull
    {
        var total = relevant.Values.Count(g => g > 0);
        return total == 0 ? 0 : (double)ranked.Take(k).Count(item => Grade(relevant, item) > 0) / total;
    }

    /// <summary>
    /// Normalised discounted cumulative gain (Järvelin and Kekäläinen, 2002): the sum of (2^grade − 1) / log2(rank + 1)
    /// over the top k, over the same sum for the ideal order of the relevant items; 0 when nothing is relevant.
    /// </summary>
    public static double NdcgAt<T>(IReadOnlyList<T> ranked, IReadOnlyDictionary<T, int> relevant, int k) where T : notnull
    {
        var dcg = 0.0;
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
        {
            dcg += Gain(Grade(relevant, ranked[i])) / Math.Log2(i + 2);
        }
        var ideal = 0.0;
        var grades = relevant.Values.Where(g => g > 0).OrderByDescending(g => g).Take(k).ToArray();
        for (var i = 0; i < grades.Length; i++)
        {
            ideal += Gain(grades[i]) / Math.Log2(i + 2);
        }
        return ideal == 0 ? 0 : dcg / ideal;
    }

    /// <summary>The reciprocal of the rank of the first relevant item in the top k, 0 when there is none.</summary>
    public static double ReciprocalRankAt<T>(IReadOnlyList<T> ranked, IReadOnlyDictionary<T, int> relevant, int k) where T : notnull
    {
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
        {
            if (Grade(relevant, ranked[i]) > 0)
            {
                return 1.0 / (i + 1);
            }
        }
        return 0;
    }

    /// <summary>Intra-list diversity: the mean cosine distance (1 − cosine) over the pairs of a list of unit vectors; 0 below two items.</summary>
    public static double IntraListDiversity(IReadOnlyList<float[]> vectors)
    {
        if (vectors.Count < 2)
        {
            return 0;
        }
        var sum = 0.0;
        var pairs = 0;
        for (var i = 0; i < vectors.Count; i++)
        {
            for (var j = i + 1; j < vectors.Count; j++)
            {
                sum += 1 - System.Numerics.Tensors.TensorPrimitives.Dot(vectors[i], vectors[j]);
                pairs++;
            }
        }
        return sum / pairs;
    }

    /// <summary>Catalog coverage: the share of the catalog that appears in at least one list.</summary>
    public static double Coverage<T>(IEnumerable<IReadOnlyList<T>> lists, int catalogSize)
    {
        var seen = new HashSet<T>();
        foreach (var list in lists)
        {
            seen.UnionWith(list);
        }
        return catalogSize == 0 ? 0 : (double)seen.Count / catalogSize;
    }

    private static int Grade<T>(IReadOnlyDictionary<T, int> relevant, T item) where T : notnull =>
        relevant.TryGetValue(item, out var grade) ? grade : 0;

    private static double Gain(int grade) => Math.Pow(2, grade) - 1;
}

/// <summary>A mean with its 95% confidence interval.</summary>
public readonly record struct Estimate(double Mean, double Low, double High, int N)
{
    public double HalfWidth => (High - Low) / 2;

    public override string ToString() => FormattableString.Invariant($"{Mean:F3} ± {HalfWidth:F3}");
}

public static class Confidence
{
    /// <summary>z for a two-sided 95% interval.</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>
    /// The mean of per-unit values (learners, queries) with the normal-approximation 95% interval: mean ± z · s / √n,
    /// s the sample standard deviation (n − 1). With one value the interval is the value itself.
    /// </summary>
    public static Estimate Normal(IReadOnlyList<double> values)
    {
        var n = values.Count;
        if (n == 0)
        {
            return new Estimate(double.NaN, double.NaN, double.NaN, 0);
        }
        var mean = values.Average();
        if (n == 1)
        {
            return new Estimate(mean, mean, mean, 1);
        }
        var variance = values.Sum(v => (v - mean) * (v - mean)) / (n - 1);
        var half = Z95 * Math.Sqrt(variance / n);
        return new Estimate(mean, mean - half, mean + half, n);
    }

    /// <summary>Linear interpolation between the closest ranks of a sorted array.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        var position = p * (sorted.Count - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}
