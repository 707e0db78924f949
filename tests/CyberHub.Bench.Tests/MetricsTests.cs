using CyberHub.Bench.Recommendations;

namespace CyberHub.Bench.Tests;

/// <summary>The evaluation metrics against cases worked out by hand.</summary>
public sealed class MetricsTests
{
    private static readonly Dictionary<string, int> ThreeRelevant = new() { ["b"] = 1, ["c"] = 1, ["d"] = 1 };

    [Fact]
    public void Precision_and_recall_count_hits_in_the_top_k()
    {
        string[] ranked = ["a", "b", "x", "c"];
        Assert.Equal(0.5, Metrics.PrecisionAt(ranked, ThreeRelevant, 2));
        Assert.Equal(2.0 / 4, Metrics.PrecisionAt(ranked, ThreeRelevant, 4));
        Assert.Equal(2.0 / 3, Metrics.RecallAt(ranked, ThreeRelevant, 4));
        Assert.Equal(0, Metrics.RecallAt(ranked, new Dictionary<string, int>(), 4));
    }

    [Fact]
    public void Ndcg_of_binary_relevance_matches_the_hand_computed_value()
    {
        // DCG = 1/log2(3) + 1/log2(4) = 0.630930 + 0.5; ideal = 1 + 0.630930 + 0.5.
        string[] ranked = ["a", "b", "c"];
        Assert.Equal(1.130930 / 2.130930, Metrics.NdcgAt(ranked, ThreeRelevant, 3), 5);
        Assert.Equal(1.0, Metrics.NdcgAt(["b", "c", "d"], ThreeRelevant, 3), 10);
        Assert.Equal(0, Metrics.NdcgAt(["x", "y"], ThreeRelevant, 3));
    }

    [Fact]
    public void Ndcg_of_graded_relevance_uses_exponential_gain()
    {
        // DCG = (2^1-1)/1 + (2^2-1)/log2(3) = 1 + 1.892789; ideal = 3/1 + 1/log2(3) = 3 + 0.630930.
        var relevant = new Dictionary<string, int> { ["a"] = 2, ["x"] = 1 };
        Assert.Equal(2.892789 / 3.630930, Metrics.NdcgAt(["x", "a"], relevant, 10), 5);
    }

    [Fact]
    public void Ndcg_ideal_is_cut_at_k()
    {
        // Four relevant items, k = 2, both slots hit: a perfect top 2.
        var relevant = new Dictionary<string, int> { ["a"] = 1, ["b"] = 1, ["c"] = 1, ["d"] = 1 };
        Assert.Equal(1.0, Metrics.NdcgAt(["c", "d", "a"], relevant, 2), 10);
    }

    [Fact]
    public void Reciprocal_rank_is_that_of_the_first_hit_within_k()
    {
        Assert.Equal(1.0 / 3, Metrics.ReciprocalRankAt(["x", "y", "c", "b"], ThreeRelevant, 10));
        Assert.Equal(1.0, Metrics.ReciprocalRankAt(["d"], ThreeRelevant, 10));
        Assert.Equal(0, Metrics.ReciprocalRankAt(["x", "y", "c"], ThreeRelevant, 2));
    }

    [Fact]
    public void Coverage_is_the_share_of_the_catalog_in_any_list()
    {
        IReadOnlyList<string>[] lists = [["a", "b"], ["b", "c"], ["a"]];
        Assert.Equal(0.3, Metrics.Coverage(lists, 10), 10);
    }

    [Fact]
    public void Intra_list_diversity_is_the_mean_cosine_distance_of_pairs()
    {
        float[] x = [1, 0], y = [0, 1];
        Assert.Equal(1.0, Metrics.IntraListDiversity([x, y]), 6);
        Assert.Equal(0.0, Metrics.IntraListDiversity([x, x]), 6);
        // Pairs: (x,x) 0, (x,y) 1, (x,y) 1: mean 2/3.
        Assert.Equal(2.0 / 3, Metrics.IntraListDiversity([x, x, y]), 6);
        Assert.Equal(0, Metrics.IntraListDiversity([x]));
    }

    [Fact]
    public void Normal_interval_is_the_mean_plus_or_minus_z_times_the_standard_error()
    {
        // s = sqrt(2.5) = 1.581139, standard error 0.707107, half width 1.959964 × 0.707107 = 1.385904.
        var estimate = Confidence.Normal([1, 2, 3, 4, 5]);
        Assert.Equal(3, estimate.Mean, 10);
        Assert.Equal(3 - 1.385904, estimate.Low, 5);
        Assert.Equal(3 + 1.385904, estimate.High, 5);
        Assert.Equal(5, estimate.N);
        var single = Confidence.Normal([0.4]);
        Assert.Equal((0.4, 0.4, 0.4), (single.Mean, single.Low, single.High));
    }

    [Fact]
    public void Percentile_interpolates_between_ranks()
    {
        double[] sorted = [1, 2, 3, 4];
        Assert.Equal(2.5, Confidence.Percentile(sorted, 0.5), 10);
        Assert.Equal(1, Confidence.Percentile(sorted, 0), 10);
        Assert.Equal(4, Confidence.Percentile(sorted, 1), 10);
    }

    [Fact]
    public async Task Bm25_ranks_the_document_with_the_rarer_term_first_and_returns_nothing_for_unknown_words()
    {
        var search = new Bm25Search(
        [
            (new("lesson", "one"), "firewall rules and network segmentation"),
            (new("lesson", "two"), "network basics"),
            (new("lesson", "three"), "network monitoring"),
        ]);
        var hits = await search.SearchAsync("firewall network", 10, CancellationToken.None);
        // "network" is in every document, "firewall" in one: that one leads; the two equal scores follow in key order.
        Assert.Equal(["one", "three", "two"], hits.Select(h => h.Key.ContentId));
        Assert.True(hits[0].Score > hits[1].Score);
        Assert.Empty(await search.SearchAsync("chocolate cake", 10, CancellationToken.None));
        Assert.Empty(await search.SearchAsync("how to", 10, CancellationToken.None));
    }
}
