using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Tests;

/// <summary>
/// The ranking components of the blend on small hand-made catalogs: diffusion over the neighbour graph, the incremental
/// co-completion model (support floor, decay, stored state), learning paths and the blend's reasons.
/// </summary>
public sealed class BlendRankingTests
{
    private static readonly DateTime T0 = new(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    private static ContentKey K(string id) => new("lesson", id);

    private static NeighbourGraph Graph(params (string A, string B, double Similarity)[] edges) =>
        new(edges.Select(e => (K(e.A), (IReadOnlyList<Neighbour>)[new Neighbour(K(e.B), e.Similarity)])));

    [Fact]
    public void Diffusion_finds_the_item_two_hops_from_the_history()
    {
        // a is done; b is a's close neighbour and c is only reachable through b; w is a weak direct neighbour of a, z is
        // in another part of the catalog. Once b is done too, c must lead: it is close to both.
        var graph = Graph(("a", "b", 0.9), ("b", "c", 0.9), ("a", "w", 0.2), ("z", "y", 0.9));

        var fromA = Diffusion.PersonalisedPageRank(graph, [(K("a"), 1.0)]);
        Assert.True(fromA.GetValueOrDefault(K("c")) > 0, "the second-hop item is reached");
        Assert.False(fromA.ContainsKey(K("z")), "an unconnected item gets nothing");

        var fromAB = Diffusion.PersonalisedPageRank(graph, [(K("a"), 1.0), (K("b"), 1.0)]);
        var next = fromAB.Where(r => r.Key != K("a") && r.Key != K("b")).MaxBy(r => r.Value).Key;
        Assert.Equal(K("c"), next);
        Assert.True(fromAB[K("c")] > fromAB.GetValueOrDefault(K("w")));
    }

    [Fact]
    public void Diffusion_without_seeds_or_edges_is_empty_or_stays_on_the_seed()
    {
        var graph = Graph(("a", "b", 0.5));
        Assert.Empty(Diffusion.PersonalisedPageRank(graph, []));
        var alone = Diffusion.PersonalisedPageRank(graph, [(K("lonely"), 2.0)]);
        Assert.Equal(1.0, alone[K("lonely")], 6);
    }

    [Fact]
    public void Diffusion_matches_personalised_pagerank_by_power_iteration_and_answers_the_same_when_asked_again()
    {
        // A random weighted graph of 60 items (plus one seed outside it, and a seed given twice): forward push with a tiny
        // epsilon must agree with the fixed point p = restart·s + (1 − restart)·p·W (W: edge weights over each item's sum).
        var random = new Random(7);
        var lists = Enumerable.Range(0, 60).Select(i => (K($"n{i}"), (IReadOnlyList<Neighbour>)[.. Enumerable.Range(0, 4)
            .Select(_ => random.Next(60)).Where(j => j != i).Select(j => new Neighbour(K($"n{j}"), 0.1 + 0.9 * random.NextDouble()))])).ToList();
        var graph = new NeighbourGraph(lists);
        (ContentKey, double)[] seeds = [(K("n3"), 1.0), (K("n17"), 0.5), (K("n3"), 0.5), (K("outside"), 1.0), (K("n40"), 0.0)];
        const double Restart = 0.25;

        var pushed = Diffusion.PersonalisedPageRank(graph, seeds, Restart, epsilon: 1e-12, maxPushes: 10_000_000);

        var items = lists.Select(l => l.Item1).Append(K("outside")).ToList();
        var start = items.ToDictionary(k => k, k => seeds.Where(s => s.Item1 == k).Sum(s => s.Item2) / 3.0);
        var p = new Dictionary<ContentKey, double>(start);
        for (var step = 0; step < 2_000; step++)
        {
            var next = items.ToDictionary(k => k, k => Restart * start[k]);
            foreach (var k in items)
            {
                var edges = graph.Of(k);
                var sum = edges.Sum(e => e.Similarity);
                if (sum <= 0)
                {
                    next[k] += (1 - Restart) * p[k];
                    continue;
                }
                foreach (var e in edges)
                {
                    next[e.Item] += (1 - Restart) * p[k] * e.Similarity / sum;
                }
            }
            p = next;
        }
        foreach (var k in items)
        {
            Assert.True(Math.Abs(p[k] - pushed.GetValueOrDefault(k)) < 1e-8, $"{k}: power iteration {p[k]}, push {pushed.GetValueOrDefault(k)}");
        }
        Assert.Equal(1.0, pushed.Values.Sum(), 8);
        Assert.Equal(1.0 / 3, pushed[K("outside")], 12);

        Assert.Equal(pushed, Diffusion.PersonalisedPageRank(graph, seeds, Restart, epsilon: 1e-12, maxPushes: 10_000_000));
        var other = Diffusion.PersonalisedPageRank(graph, [(K("n17"), 1.0)], Restart, epsilon: 1e-12, maxPushes: 10_000_000);
        Assert.True(other[K("n17")] > pushed[K("n17")], "other seeds, another answer");
        Assert.Equal(pushed, Diffusion.PersonalisedPageRank(graph, seeds, Restart, epsilon: 1e-12, maxPushes: 10_000_000));
    }

    [Fact]
    public void Co_completion_pairs_below_the_support_floor_are_ignored()
    {
        var model = new CoCompletionModel(new CoCompletionSettings(Window: 3, HalfLifeDays: 10_000, MinSupport: 3));
        // Learner 1 does a then b twice over (the second time is the same learner's pair again through a repeat of a).
        model.Add([K("a")], K("b"), T0);
        model.Add([K("a"), K("a")], K("b"), T0);
        Assert.Empty(model.After(K("a")));
        Assert.Empty(model.Score([(K("a"), 1.0)]));

        model.Add([K("a")], K("b"), T0);
        var after = Assert.Single(model.After(K("a")));
        Assert.Equal(K("b"), after.Item);
        var signal = model.Score([(K("a"), 1.0)])[K("b")];
        Assert.Equal(K("a"), signal.Driver);
        Assert.True(signal.Score > 0);
        // Ordered: b then a was never seen.
        Assert.Empty(model.After(K("b")));
    }

    [Fact]
    public void Co_completion_pairs_beyond_the_window_are_not_counted()
    {
        var model = new CoCompletionModel(new CoCompletionSettings(Window: 2, HalfLifeDays: 1000, MinSupport: 0));
        model.Add([K("a"), K("b"), K("c")], K("d"), T0);
        Assert.Equal(1, model.PairCount(K("c"), K("d")), 9);
        Assert.Equal(1, model.PairCount(K("b"), K("d")), 9);
        Assert.Equal(0, model.PairCount(K("a"), K("d")));
    }

    [Fact]
    public void Co_completion_counts_decay_with_time_and_survive_a_stored_state()
    {
        var settings = new CoCompletionSettings(Window: 3, HalfLifeDays: 30, MinSupport: 2);
        var model = new CoCompletionModel(settings);
        for (var i = 0; i < 4; i++)
        {
            model.Add([K("a")], K("b"), T0);
        }
        Assert.Equal(4, model.PairCount(K("a"), K("b")), 9);
        Assert.Single(model.After(K("a")));

        // One half-life later (another learner's event moves the clock), the pair is worth 2; two half-lives, 1: below the floor.
        model.Add([], K("x"), T0.AddDays(30));
        Assert.Equal(2, model.PairCount(K("a"), K("b")), 9);
        Assert.Equal(2, model.ItemCount(K("b")), 9);
        model.Add([], K("x"), T0.AddDays(60));
        Assert.Equal(1, model.PairCount(K("a"), K("b")), 9);
        Assert.Empty(model.After(K("a")));

        // A new pair event adds 1 to what is left; the stored state gives back the same counts and keeps counting.
        model.Add([K("a")], K("b"), T0.AddDays(60));
        var restored = CoCompletionModel.From(model.State(), settings);
        Assert.Equal(model.LastUpdate, restored.LastUpdate);
        Assert.Equal(2, restored.PairCount(K("a"), K("b")), 9);
        Assert.Equal(model.State().Pairs, restored.State().Pairs);
        restored.Add([], K("x"), T0.AddDays(90));
        Assert.Equal(1, restored.PairCount(K("a"), K("b")), 9);
    }

    [Fact]
    public void A_prerequisite_not_done_holds_the_item_back_behind_ready_items_and_says_after_what()
    {
        var intro = new PathItem(K("intro-course"), "web", 0, []);
        var beginnerLab = new PathItem(K("beginner-lab"), "web", 0, []);
        var midCourse = new PathItem(K("mid-course"), "web", 1, [K("intro-course")]);
        var advanced = new PathItem(K("advanced-lab"), "web", 2, [K("mid-course")]);

        var before = LearningPath.Score([(beginnerLab, 1.0)], [intro, midCourse, advanced]);
        Assert.True(before[K("intro-course")].Ready);
        Assert.False(before[K("mid-course")].Ready);
        Assert.Equal([K("intro-course")], before[K("mid-course")].Missing);

        // The advanced lab is the content component's favourite, but its prerequisite is not done: the ready items lead.
        BlendCandidate Candidate(PathItem item, double content)
        {
            var s = before[item.Key];
            return new BlendCandidate(item.Key, new ComponentSignal(content, K("beginner-lab")), default, new ComponentSignal(s.Score, s.After), default, s.Ready, s.Missing);
        }
        var picks = Blend.Rank([Candidate(advanced, 1.0), Candidate(intro, 0.2), Candidate(midCourse, 0.5)], new BlendWeights(1, 1, 1, 0), 3);
        Assert.Equal(K("intro-course"), picks[0].Key);
        Assert.All(picks.Skip(1), p => Assert.False(p.Ready));
        Assert.EndsWith("(after 'Intro course')", Blend.Reason(picks.Single(p => p.Key == K("mid-course")), Title));
        Assert.EndsWith("(after 'MID-COURSE')", Blend.Reason(picks.Single(p => p.Key == K("advanced-lab")), Title));

        // Once the course is done, the intermediate course is the next step after it.
        var after = LearningPath.Score([(beginnerLab, 0.5), (intro, 1.0)], [midCourse, advanced]);
        Assert.True(after[K("mid-course")].Ready);
        Assert.Equal(K("intro-course"), after[K("mid-course")].After);
        Assert.True(after[K("mid-course")].Score > after[K("advanced-lab")].Score);
    }

    [Fact]
    public void The_blends_reason_names_the_strongest_source()
    {
        BlendCandidate[] candidates =
        [
            // Co-completion dominates this one, content the next, the path the third; the fourth only is popular.
            new(K("p1"), new ComponentSignal(0.1, K("h1")), new ComponentSignal(0.9, K("h2")), new ComponentSignal(0.1, K("h1")), default),
            new(K("p2"), new ComponentSignal(0.8, K("h1")), new ComponentSignal(0.1, K("h2")), default, default),
            new(K("p3"), new ComponentSignal(0.2, K("h1")), default, new ComponentSignal(0.9, K("h3")), default),
            new(K("p4"), default, default, default, new ComponentSignal(5, null)),
        ];
        var picks = Blend.Rank(candidates, new BlendWeights(1, 1, 1, 0.1), 4).ToDictionary(p => p.Key);

        Assert.Equal(RecommendationSource.CoCompletion, picks[K("p1")].Source);
        Assert.Equal("Learners who completed 'H2' often take this next", Blend.Reason(picks[K("p1")], Title));
        Assert.Equal(RecommendationSource.Content, picks[K("p2")].Source);
        Assert.Equal("Because you completed 'H1'", Blend.Reason(picks[K("p2")], Title));
        Assert.Equal(RecommendationSource.NextStep, picks[K("p3")].Source);
        Assert.Equal("Next step after 'H3'", Blend.Reason(picks[K("p3")], Title));
        Assert.Equal(RecommendationSource.Popular, picks[K("p4")].Source);
        Assert.Equal("Popular with learners starting out", Blend.Reason(picks[K("p4")], Title));

        // The component scores are scaled by the best candidate, and the total is their weighted sum.
        var p1 = picks[K("p1")];
        Assert.Equal(1.0, p1.Components.CoCompletion, 9);
        Assert.Equal(0.125, p1.Components.Content, 9);
        Assert.Equal(p1.Components.Content + p1.Components.CoCompletion + p1.Components.Path + 0.1 * p1.Components.Popular, p1.Score, 9);
    }

    [Fact]
    public void The_ranker_blends_components_over_candidates_from_neighbours_successors_and_unlocks()
    {
        // A tiny catalog: two web items done; the graph knows their neighbours, learners often went from web-2 to crypto-1,
        // and web-2 unlocks web-3.
        var paths = new Dictionary<ContentKey, PathItem>
        {
            [K("web-1")] = new(K("web-1"), "web", 0, []),
            [K("web-2")] = new(K("web-2"), "web", 0, []),
            [K("web-3")] = new(K("web-3"), "web", 1, [K("web-2")]),
            [K("web-4")] = new(K("web-4"), "web", 2, [K("web-3")]),
            [K("crypto-1")] = new(K("crypto-1"), "crypto", 0, []),
        };
        var graph = Graph(("web-1", "web-2", 0.9), ("web-2", "web-4", 0.8), ("web-4", "crypto-1", 0.3));
        var co = new CoCompletionModel(new CoCompletionSettings(MinSupport: 2));
        for (var i = 0; i < 3; i++)
        {
            co.Add([K("web-1"), K("web-2")], K("crypto-1"), T0.AddDays(i));
        }
        var ranker = new BlendRanker(graph, co, k => paths.GetValueOrDefault(k), _ => null,
            k => [.. paths.Values.Where(p => p.Prerequisites.Contains(k)).Select(p => p.Key)]);
        HistoryItem[] history = [new(K("web-1"), T0, null, paths[K("web-1")]), new(K("web-2"), T0.AddDays(1), null, paths[K("web-2")])];

        // The weighted sum (explicit weights): ready items first.
        var picks = ranker.Recommend(history, 10, BlendWeights.Default);
        Assert.True(picks[0].Key == K("crypto-1"), string.Join("; ", picks.Select(p => $"{p.Key.ContentId} {p.Score} {p.Components}")));

        // crypto-1: co-completion's best and reached by diffusion; web-3: only the path's next step; web-4 is not ready.
        Assert.Equal([K("crypto-1"), K("web-3"), K("web-4")], picks.Select(p => p.Key));
        Assert.Equal(RecommendationSource.CoCompletion, picks[0].Source);
        Assert.Equal(K("web-2"), picks[0].Driver);
        Assert.Equal(RecommendationSource.NextStep, picks[1].Source);
        Assert.Equal(K("web-2"), picks[1].Driver);
        Assert.False(picks[2].Ready);
        Assert.DoesNotContain(picks, p => p.Key == K("web-1") || p.Key == K("web-2"));
    }

    [Fact]
    public void Multi_interest_keeps_two_subjects_apart_and_interleaves_them_by_weight()
    {
        // Two web items and one crypto item: two interests, the web one weighing two thirds; a near-duplicate merges.
        var history = new List<(ContentKey, float[], double)>
        {
            (K("web-1"), [1, 0.1f, 0], 1.0),
            (K("web-2"), [0.9f, 0.2f, 0], 1.0),
            (K("crypto-1"), [0, 0.1f, 1], 1.0),
        };
        var interests = Interests.Cluster(history);
        Assert.Equal(2, interests.Count);
        Assert.Equal([K("web-1"), K("web-2")], interests[0].Items.Order(Comparer<ContentKey>.Create((a, b) => string.CompareOrdinal(a.ContentId, b.ContentId))));
        Assert.Equal(2.0 / 3, interests[0].Weight, 9);
        Assert.Equal([K("crypto-1")], interests[1].Items);

        // The mean of the three lies between the subjects; each interest is close to its own items.
        Assert.True(Interests.Affinity(interests, [0, 0, 1]) > 0.99);
        Assert.True(Interests.Affinity(interests, [1, 0, 0]) > 0.95);

        // Interleaved: both interests are in the list, the heavier one first and more often, no item twice.
        IReadOnlyList<ContentKey>[] lists = [[K("w1"), K("w2"), K("w3"), K("shared")], [K("shared"), K("c1"), K("c2")]];
        var list = Interests.Interleave(interests, lists, 5);
        Assert.Equal(K("w1"), list[0]);
        Assert.Contains(K("shared"), list);
        Assert.Contains(K("c1"), list);
        Assert.Equal(list.Count, list.Distinct().Count());
        Assert.Equal(5, list.Count);

        // More lists than interests (or none): every list still gets its turn, and the list ends when all are used up.
        Assert.Equal([K("a"), K("b")], Interests.Interleave([], [[K("a")], [K("b")]], 5));

        // Forced to one interest, everything merges; with a single item, one interest of weight 1.
        Assert.Single(Interests.Cluster(history, maxInterests: 1));
        Assert.Equal(1.0, Assert.Single(Interests.Cluster([(K("a"), [1f, 0, 0], 0.3)])).Weight, 9);
        Assert.Empty(Interests.Cluster([]));
    }

    [Fact]
    public void Content_clusters_find_the_subjects_from_vectors_alone_and_are_deterministic()
    {
        var random = new Random(5);
        var items = new List<(ContentKey, float[])>();
        for (var i = 0; i < 20; i++)
        {
            // Two subjects: around the x axis and around the z axis.
            var noise = (float)(random.NextDouble() * 0.2);
            items.Add((K($"x-{i}"), [1, noise, 0]));
            items.Add((K($"z-{i}"), [0, noise, 1]));
        }
        var clusters = ContentClusters.Build(items, 2);
        Assert.Equal(2, clusters.Count);
        Assert.All(Enumerable.Range(0, 20), i => Assert.Equal(clusters.Of(K("x-0")), clusters.Of(K($"x-{i}"))));
        Assert.All(Enumerable.Range(0, 20), i => Assert.Equal(clusters.Of(K("z-0")), clusters.Of(K($"z-{i}"))));
        Assert.NotEqual(clusters.Of(K("x-0")), clusters.Of(K("z-0")));
        Assert.Equal(-1, clusters.Of(K("unknown")));

        var again = ContentClusters.Build([.. Enumerable.Reverse(items)], 2);
        Assert.All(items, i => Assert.Equal(clusters.Of(i.Item1), again.Of(i.Item1)));

        var share = clusters.Share([(K("x-1"), 3.0), (K("z-1"), 1.0)]);
        Assert.Equal(0.75, share[clusters.Of(K("x-0"))], 9);
        Assert.Equal(0.25, share[clusters.Of(K("z-0"))], 9);
    }

    private static string Title(ContentKey key) => key.ContentId switch
    {
        "intro-course" => "Intro course",
        _ => key.ContentId.ToUpperInvariant(),
    };
}
