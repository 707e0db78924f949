using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;
using CyberHub.Bench.Recommendations;

namespace CyberHub.Bench.Tests;

/// <summary>
/// The learned blend (a harness strategy since it is not served): the pairwise logistic fit and the features it reads,
/// on a small hand-made catalog.
/// </summary>
public sealed class LearnedBlendTests
{
    private static readonly DateTime T0 = new(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    private static ContentKey K(string id) => new("lesson", id);

    private static NeighbourGraph Graph(params (string A, string B, double Similarity)[] edges) =>
        new(edges.Select(e => (K(e.A), (IReadOnlyList<Neighbour>)[new Neighbour(K(e.B), e.Similarity)])));

    [Fact]
    public void The_learned_blend_is_fitted_toward_what_learners_took_and_scores_deterministically()
    {
        // Two features: the first decides what was taken, the second is noise.
        var random = new Random(3);
        var groups = new List<IReadOnlyList<(double[], bool)>>();
        for (var g = 0; g < 200; g++)
        {
            var group = new List<(double[], bool)>();
            for (var c = 0; c < 8; c++)
            {
                var signal = random.NextDouble();
                group.Add(([signal, random.NextDouble()], signal > 0.8));
            }
            groups.Add(group);
        }
        var model = BlendModel.Fit(groups);
        Assert.True(model.Coefficients[0] > 2, $"coefficients {string.Join(", ", model.Coefficients)}");
        Assert.True(Math.Abs(model.Coefficients[1]) < model.Coefficients[0] / 4);
        Assert.Equal(model.Coefficients, BlendModel.Fit(groups).Coefficients);
        Assert.Equal(model.Score([0.9, 0.1]), model.Score([0.9, 0.1]));
        Assert.True(model.Score([0.9, 0.5]) > model.Score([0.2, 0.5]));
        Assert.Throws<ArgumentException>(() => model.Score([1.0]));
        Assert.Throws<ArgumentException>(() => BlendModel.Fit([[([1.0], false)]]));

        // The default model reads exactly the features the ranker produces, named.
        Assert.Equal(BlendFeature.Count, BlendModel.Default.Coefficients.Count);
        Assert.Equal(BlendFeature.Count, BlendFeature.Names.Count);
    }

    [Fact]
    public void The_learned_ranking_reads_the_features_and_gives_the_same_list_every_time()
    {
        var paths = new Dictionary<ContentKey, PathItem>
        {
            [K("web-1")] = new(K("web-1"), "web", 0, []),
            [K("web-2")] = new(K("web-2"), "web", 0, [K("web-1")]),
            [K("web-3")] = new(K("web-3"), "web", 1, [K("web-2")]),
            [K("web-4")] = new(K("web-4"), "web", 2, [K("web-3")]),
            [K("crypto-1")] = new(K("crypto-1"), "crypto", 0, []),
        };
        var graph = Graph(("web-1", "web-2", 0.9), ("web-2", "web-3", 0.7), ("web-2", "web-4", 0.8), ("web-4", "crypto-1", 0.3));
        var co = new CoCompletionModel(new CoCompletionSettings(MinSupport: 2));
        for (var i = 0; i < 3; i++)
        {
            co.Add([K("web-1"), K("web-2")], K("crypto-1"), T0.AddDays(i));
        }
        var ranker = new BlendRanker(graph, co, k => paths.GetValueOrDefault(k), _ => null,
            k => [.. paths.Values.Where(p => p.Prerequisites.Contains(k)).Select(p => p.Key)]);
        HistoryItem[] history = [new(K("web-1"), T0, null, paths[K("web-1")]), new(K("web-2"), T0.AddDays(1), null, paths[K("web-2")])];

        var learned = new LearnedBlendRanker(ranker);
        var features = learned.Features(history).ToDictionary(f => f.Key);
        Assert.Equal(1.0, features[K("web-3")].Values[BlendFeature.UnlockedByLatest]);
        Assert.Equal(1.0, features[K("web-3")].Values[BlendFeature.ReadyUnlocked]);
        Assert.Equal(0.0, features[K("web-4")].Values[BlendFeature.Ready]);
        Assert.Equal(1.0, features[K("web-4")].Values[BlendFeature.Missing]);
        Assert.Equal(1.0, features[K("crypto-1")].Values[BlendFeature.CoCompletion]);
        Assert.Equal(1.0, features[K("crypto-1")].Values[BlendFeature.CoCompletionRank]);
        Assert.Equal(0.0, features[K("crypto-1")].Values[BlendFeature.SameTopicAsLatest]);
        // web-4 waits on web-3, whose own prerequisite is done: two steps away. Both history items are lessons, and the
        // learner took web-2 right after its prerequisite web-1: (1 + 0.5) / 2 follow-on.
        Assert.Equal(1.0, features[K("web-4")].Values[BlendFeature.TwoSteps]);
        Assert.Equal(0.0, features[K("web-3")].Values[BlendFeature.TwoSteps]);
        Assert.Equal(0.6, features[K("web-3")].Values[BlendFeature.TypeTaste], 9);
        Assert.Equal(0.75, features[K("web-3")].Values[BlendFeature.FollowOn], 9);
        Assert.Equal(1.0, features[K("crypto-1")].Values[BlendFeature.CoCompletionFromLatest], 9);
        Assert.All(features.Values, f => Assert.All(f.Values, v => Assert.InRange(v, 0, 1)));

        // A model that only values being unlocked by the latest completion puts web-3 first; scores are the model's.
        var unlockedOnly = new double[BlendFeature.Count];
        unlockedOnly[BlendFeature.ReadyUnlocked] = 1;
        var picks = learned.Recommend(history, 10, new BlendModel(unlockedOnly));
        Assert.Equal(K("web-3"), picks[0].Key);
        Assert.Equal(1.0, picks[0].Score, 9);
        Assert.Equal(RecommendationSource.NextStep, picks[0].Source);

        // The default model: the same list on every call, nothing of the history.
        var first = learned.Recommend(history, 10);
        Assert.Equal(first.Select(p => (p.Key, p.Score)), learned.Recommend(history, 10).Select(p => (p.Key, p.Score)));
        Assert.DoesNotContain(first, p => p.Key == K("web-1") || p.Key == K("web-2"));
    }
}
