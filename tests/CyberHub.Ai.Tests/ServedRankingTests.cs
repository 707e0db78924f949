using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Tests;

/// <summary>
/// The served ranking (<see cref="ServedRanking.Rank"/>) on small hand-made catalogs: what the service serves and the
/// evaluation harness measures, from plain inputs. Readiness, "Next step after X", held-back items "(after Y)",
/// started items never offered, and a learner of two topics offered both.
/// </summary>
public sealed class ServedRankingTests
{
    private static readonly DateTime T0 = new(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    private static ContentKey K(string id) => new("lesson", id);

    private static float[] V(params float[] values)
    {
        var norm = MathF.Sqrt(values.Sum(v => v * v));
        return [.. values.Select(v => v / norm)];
    }

    private sealed record Item(string Id, string Topic, int Level, float[] Vector, params string[] Before);

    private static Dictionary<ContentKey, RankingItem> Items(IEnumerable<Item> items) =>
        items.ToDictionary(i => K(i.Id), i => new RankingItem(K(i.Id), i.Vector, new PathItem(K(i.Id), i.Topic, i.Level, [.. i.Before.Select(K)])));

    /// <summary>Each item's k nearest others by cosine (the stores' item graph, exactly).</summary>
    private static NeighbourGraph GraphOf(IReadOnlyDictionary<ContentKey, RankingItem> items, int k = 3) =>
        new(items.Values.Select(i => (i.Key, (IReadOnlyList<Neighbour>)[.. items.Values.Where(o => o.Key != i.Key)
            .Select(o => new Neighbour(o.Key, Dot(i.Vector!, o.Vector!))).Where(n => n.Similarity > 0)
            .OrderByDescending(n => n.Similarity).Take(k)])));

    private static double Dot(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum();

    private static IReadOnlyList<HistoryItem> History(IReadOnlyDictionary<ContentKey, RankingItem> items, params string[] done) =>
        [.. done.Select((id, i) => new HistoryItem(K(id), T0.AddDays(i), items[K(id)].Vector, items[K(id)].Path))];

    private static IReadOnlyList<ContentKey> Nearest(IReadOnlyDictionary<ContentKey, RankingItem> items, IReadOnlyList<HistoryItem> history)
    {
        var profile = new float[history[0].Vector!.Length];
        foreach (var h in history)
        {
            for (var d = 0; d < profile.Length; d++)
            {
                profile[d] += h.Vector![d];
            }
        }
        var done = history.Select(h => h.Key).ToHashSet();
        return [.. items.Values.Where(i => !done.Contains(i.Key)).OrderByDescending(i => Dot(profile, i.Vector!)).Select(i => i.Key)];
    }

    private static IReadOnlyList<BlendedPick> Rank(Dictionary<ContentKey, RankingItem> items, IReadOnlyList<HistoryItem> history,
        CoCompletionModel? coCompletion = null, ServedBlend? blend = null, params string[] started)
    {
        var startedSet = history.Select(h => h.Key).Concat(started.Select(K)).ToHashSet();
        return ServedRanking.Rank(new ServedRankingInput(history, GraphOf(items), coCompletion ?? new CoCompletionModel(), items,
            Nearest(items, history), startedSet), blend);
    }

    private static string Title(ContentKey key) => key.ContentId.ToUpperInvariant();

    [Fact]
    public void A_ready_next_step_is_named_after_its_prerequisite_and_an_item_not_ready_is_held_back_after_every_ready_one()
    {
        // a done. b needs a (ready: the next step after a); c needs a and x (x not done: held back, though closest to a);
        // d needs nothing; x is another topic's introduction.
        var items = Items([
            new("a", "net", 0, V(1, 0, 0, 0)),
            new("b", "net", 1, V(0.7f, 0.7f, 0, 0), "a"),
            new("c", "net", 1, V(0.95f, 0.3f, 0, 0), "a", "x"),
            new("d", "net", 0, V(0.8f, 0, 0.6f, 0)),
            new("x", "crypto", 0, V(0.2f, 0, 0, 1)),
        ]);
        var history = History(items, "a");

        var picks = Rank(items, history);

        Assert.Equal(4, picks.Count);
        Assert.DoesNotContain(picks, p => p.Key == K("a"));
        var held = Assert.Single(picks, p => !p.Ready);
        Assert.Equal(K("c"), held.Key);
        Assert.Equal(K("c"), picks[^1].Key);
        Assert.Equal([K("x")], held.Missing);
        Assert.EndsWith("(after 'X')", Blend.Reason(held, Title));

        var b = Assert.Single(picks, p => p.Key == K("b"));
        Assert.True(b.Ready);
        Assert.Equal("Next step after 'A'", Blend.Reason(b, Title));
        Assert.All(picks, p => Assert.InRange(p.Score, 0, 1));
    }

    [Fact]
    public void A_started_item_is_never_offered_and_learners_who_completed_an_item_name_it()
    {
        var items = Items([
            new("a", "net", 0, V(1, 0, 0, 0)),
            new("b", "net", 0, V(0.9f, 0.4f, 0, 0)),
            new("c", "net", 0, V(0.3f, 0.9f, 0.2f, 0)),
            new("s", "net", 0, V(0.95f, 0.1f, 0, 0)),
        ]);
        var history = History(items, "a");
        // Four learners completed a, then c right after it: above the support floor of three.
        var coCompletion = new CoCompletionModel();
        for (var learner = 0; learner < 4; learner++)
        {
            coCompletion.Add([], K("a"), T0.AddHours(learner));
            coCompletion.Add([K("a")], K("c"), T0.AddHours(learner).AddMinutes(30));
        }

        var picks = Rank(items, history, coCompletion, started: "s");

        Assert.DoesNotContain(picks, p => p.Key == K("s"));
        Assert.Equal(K("c"), picks[0].Key);
        Assert.Equal("Learners who completed 'A' often take this next", Blend.Reason(picks[0], Title));
        Assert.Equal("Because you completed 'A'", Blend.Reason(Assert.Single(picks, p => p.Key == K("b")), Title));
    }

    [Fact]
    public void An_item_not_ready_that_learners_take_from_here_is_not_held_back_and_says_what_it_comes_after()
    {
        // a done. c needs x (not done) but four learners took c right after a (they knew x): other learners' evidence
        // lifts the hold-back, so c comes first, named by co-completion and "(after 'X')". e needs x too and nobody took
        // it from here: held back after every ready item.
        var items = Items([
            new("a", "net", 0, V(1, 0, 0, 0)),
            new("b", "net", 0, V(0.9f, 0.4f, 0, 0)),
            new("c", "net", 1, V(0.3f, 0.9f, 0.2f, 0), "x"),
            new("d", "net", 0, V(0.7f, 0.1f, 0.7f, 0)),
            new("e", "net", 1, V(0.95f, 0.2f, 0, 0), "x"),
            new("x", "crypto", 0, V(0.1f, 0, 0, 1)),
        ]);
        var history = History(items, "a");
        var coCompletion = new CoCompletionModel();
        for (var learner = 0; learner < 4; learner++)
        {
            coCompletion.Add([], K("a"), T0.AddHours(learner));
            coCompletion.Add([K("a")], K("c"), T0.AddHours(learner).AddMinutes(30));
        }
        var unsupported = ServedBlend.Default with { HoldBack = HoldBack.Unsupported, Support = 0.05 };

        var picks = Rank(items, history, coCompletion, unsupported);

        Assert.Equal(K("c"), picks[0].Key);
        Assert.False(picks[0].Ready);
        Assert.Equal("Learners who completed 'A' often take this next (after 'X')", Blend.Reason(picks[0], Title));
        Assert.Equal(K("e"), picks[^1].Key);
        Assert.EndsWith("(after 'X')", Blend.Reason(picks[^1], Title));

        // Every item not ready held back, as before: c after every ready item.
        var readyFirst = Rank(items, history, coCompletion, unsupported with { HoldBack = HoldBack.NotReady });
        Assert.All(readyFirst.TakeWhile(p => p.Ready), p => Assert.NotEqual(K("c"), p.Key));
        Assert.False(readyFirst.Single(p => p.Key == K("c")).Ready);
        Assert.True(readyFirst.ToList().FindIndex(p => p.Key == K("c")) >= readyFirst.Count(p => p.Ready));
    }

    [Theory]
    [InlineData(ServedFusion.Scaled)]
    [InlineData(ServedFusion.Calibrated)]
    [InlineData(ServedFusion.Rank)]
    [InlineData(ServedFusion.Shrunk)]
    [InlineData(ServedFusion.Pooled)]
    public void Few_learners_behind_the_history_leave_the_first_place_to_content(ServedFusion fusion)
    {
        // b is a's closest item; four learners completed a and then c. With full trust in co-completion c leads; with
        // the confidence n / (n + 100) (n = 4 learners behind a) content's b leads, and the reason says so.
        var items = Items([
            new("a", "net", 0, V(1, 0, 0, 0)),
            new("b", "net", 0, V(0.95f, 0.3f, 0, 0)),
            new("c", "net", 0, V(0, -0.3f, 1, 0)),
        ]);
        var history = History(items, "a");
        var coCompletion = new CoCompletionModel();
        for (var learner = 0; learner < 4; learner++)
        {
            coCompletion.Add([], K("a"), T0.AddHours(learner));
            coCompletion.Add([K("a")], K("c"), T0.AddHours(learner).AddMinutes(30));
        }
        var blend = new ServedBlend(new BlendWeights(1, 4, 0, 0), Relevance: 1, Fusion: fusion, HoldBack: HoldBack.None);

        Assert.Equal(K("c"), Rank(items, history, coCompletion, blend)[0].Key);
        var fallback = Rank(items, history, coCompletion, blend with { CoSupport = 100 });
        Assert.Equal(K("b"), fallback[0].Key);
        Assert.Equal("Because you completed 'A'", Blend.Reason(fallback[0], Title));
    }

    [Fact]
    public void The_geometric_pool_prefers_what_several_of_the_learners_items_lead_to_and_the_linear_pool_what_the_latest_leads_to_most()
    {
        // a then b done. Ten learners completed each. After b, nine took x and four took y; after a, four took y and
        // nobody x. The weighted mean of the shares puts x first (the latest item's strong lead); the weighted geometric
        // mean puts y first (both items lead there, x only one). Content is neutral: x and y are equally close.
        var items = Items([
            new("a", "net", 0, V(1, 0, 0, 0)),
            new("b", "net", 0, V(0, 1, 0, 0)),
            new("x", "net", 0, V(1, 1, 1, 0)),
            new("y", "net", 0, V(1, 1, 0, 1)),
        ]);
        var history = History(items, "a", "b");
        var coCompletion = new CoCompletionModel();
        for (var learner = 0; learner < 10; learner++)
        {
            var at = T0.AddHours(learner);
            coCompletion.Add([], K("a"), at);
            coCompletion.Add([], K("b"), at);
            if (learner < 9)
            {
                coCompletion.Add([K("b")], K("x"), at.AddMinutes(30));
            }
            if (learner < 4)
            {
                coCompletion.Add([K("a"), K("b")], K("y"), at.AddMinutes(40));
            }
        }
        var linear = ServedBlend.Default with { Fusion = ServedFusion.Shrunk, CoSupport = 0.01 };

        var byMean = Rank(items, history, coCompletion, linear);
        var byProduct = Rank(items, history, coCompletion, linear with { Fusion = ServedFusion.Pooled });

        Assert.Equal([K("x"), K("y")], byMean.Select(p => p.Key));
        Assert.Equal([K("y"), K("x")], byProduct.Select(p => p.Key));
        Assert.All(byMean.Concat(byProduct), p => Assert.InRange(p.Score, 0, 1));
        Assert.Equal("Learners who completed 'B' often take this next", Blend.Reason(byProduct[1], Title));
        Assert.Equal(RecommendationSource.CoCompletion, byProduct[0].Source);
    }

    [Fact]
    public void What_the_learner_has_gone_beyond_comes_after_what_lies_ahead()
    {
        // b needs a, x needs b. The learner completed b without a (they knew it). Six learners completed b; five took a
        // after it, four took x. Co-completion alone puts a first; discounting what the learner has gone beyond puts x first.
        var items = Items([
            new("a", "net", 0, V(1, 0, 0, 0)),
            new("b", "net", 1, V(0.9f, 0.4f, 0, 0), "a"),
            new("x", "net", 1, V(0.7f, 0.7f, 0.1f, 0), "b"),
        ]);
        var history = History(items, "b");
        var coCompletion = new CoCompletionModel();
        for (var learner = 0; learner < 6; learner++)
        {
            var at = T0.AddHours(learner);
            coCompletion.Add([], K("b"), at);
            if (learner < 5)
            {
                coCompletion.Add([K("b")], K("a"), at.AddMinutes(10));
            }
            if (learner < 4)
            {
                coCompletion.Add([K("b")], K("x"), at.AddMinutes(20));
            }
        }
        var blend = ServedBlend.Default with { Fusion = ServedFusion.Shrunk, CoSupport = 0.01, Passed = 1 };

        Assert.Equal([K("a"), K("x")], Rank(items, history, coCompletion, blend).Select(p => p.Key));
        var discounted = Rank(items, history, coCompletion, blend with { Passed = 0.1 });
        Assert.True(discounted[0].Key == K("x"), string.Join("; ", discounted.Select(p => $"{p.Key.ContentId} {p.Score} {p.Ready} {p.Source}")));
        Assert.Equal([K("x"), K("a")], discounted.Select(p => p.Key));
        Assert.Equal(["a"], ServedRanking.Passed(history, items).Select(k => k.ContentId).Order(StringComparer.Ordinal));
        Assert.Equal(["a", "b"], ServedRanking.Passed(History(items, "x"), items).Select(k => k.ContentId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_learner_of_two_topics_is_offered_both_and_the_reasons_name_items_of_each()
    {
        // Topic "web" around axis 1, topic "forensics" around axis 3; the latest completion is forensics. Web items are
        // as many and as close to the learner's web items as the forensics ones are to theirs.
        var items = Items([.. Enumerable.Range(1, 12).SelectMany(i => new Item[]
        {
            new($"w{i}", "web", 0, V(1, 0.02f * i, 0.03f * (i % 4), 0)),
            new($"f{i}", "forensics", 0, V(0, 0.02f * i, 0.03f * (i % 4), 1)),
        })]);
        var history = History(items, "w1", "w2", "f1", "f2");

        var picks = Rank(items, history).Take(10).ToList();

        var topics = picks.Select(p => items[p.Key].Path.Topic).ToList();
        Assert.True(topics.Count(t => t == "web") >= 2, string.Join(", ", picks.Select(p => p.Key.ContentId)));
        Assert.True(topics.Count(t => t == "forensics") >= 2, string.Join(", ", picks.Select(p => p.Key.ContentId)));
        var reasons = picks.Select(p => Blend.Reason(p, Title)).ToList();
        Assert.Contains(reasons, r => r is "Because you completed 'W1'" or "Because you completed 'W2'");
        Assert.Contains(reasons, r => r is "Because you completed 'F1'" or "Because you completed 'F2'");
    }

    /// <summary>
    /// A catalog where a leads on to b, c and d; <paramref name="learners"/> learners completed a, three in five of them
    /// took c next and one in five b.
    /// </summary>
    private static (Dictionary<ContentKey, RankingItem> Items, IReadOnlyList<HistoryItem> History, CoCompletionModel CoCompletion) AfterA(int learners)
    {
        var items = Items([
            new("a", "net", 0, V(1, 0, 0, 0)),
            new("b", "net", 0, V(0.9f, 0.4f, 0, 0)),
            new("c", "net", 0, V(0.3f, 0.9f, 0.2f, 0)),
            new("d", "net", 1, V(0.6f, 0.2f, 0.7f, 0)),
        ]);
        var coCompletion = new CoCompletionModel();
        for (var learner = 0; learner < learners; learner++)
        {
            // All at one time: the counts are then exact (no decay between them).
            coCompletion.Add([], K("a"), T0);
            if (learner % 5 < 3)
            {
                coCompletion.Add([K("a")], K("c"), T0);
            }
            else if (learner % 5 == 3)
            {
                coCompletion.Add([K("a")], K("b"), T0);
            }
        }
        return (items, History(items, "a"), coCompletion);
    }

    [Theory]
    [InlineData(15)]
    [InlineData(45)]
    public void The_weights_explained_are_the_ones_the_shrunk_ranking_used_for_the_learner(int learners)
    {
        // The shrunk fusion weighs other learners' shares by the evidence n / (n + m) (m = 5 pseudo-learners) and the
        // content and path prior by the rest, split as the blend's content and path weights are (0.5 : 0.5): not by the
        // nominal blend weights (content 0.5, co-completion 2, path 0.5), and more evidence, more weight on other learners.
        var (items, history, coCompletion) = AfterA(learners);
        var startedSet = history.Select(h => h.Key).ToHashSet();
        var input = new ServedRankingInput(history, GraphOf(items), coCompletion, items, Nearest(items, history), startedSet);

        var ranked = ServedRanking.RankWithMix(input, ServedBlend.Default);

        Assert.Equal(K("c"), ranked.Picks[0].Key);
        Assert.Equal(ServedRanking.Rank(input, ServedBlend.Default).Select(p => (p.Key, p.Score, p.Source)), ranked.Picks.Select(p => (p.Key, p.Score, p.Source)));
        var mix = Assert.IsType<ServedMix>(ranked.Mix);
        var evidence = learners / (learners + 5.0);
        Assert.Equal("shrunk", mix.Method);
        Assert.Equal(evidence, mix.Evidence, 9);
        Assert.Equal(learners, mix.Learners, 9);
        Assert.Equal(5.0, mix.PseudoLearners);
        Assert.Equal(0.5, mix.PriorContent, 9);
        Assert.Equal(0.5, mix.PriorPath, 9);
        Assert.Equal(evidence, mix.Weights.CoCompletion, 9);
        Assert.Equal((1 - evidence) * 0.5, mix.Weights.Content, 9);
        Assert.Equal((1 - evidence) * 0.5, mix.Weights.Path, 9);
        Assert.Equal(0.0, mix.Weights.Popular);
        Assert.NotEqual(BlendWeights.Default, mix.Weights);
    }

    [Theory]
    [InlineData(ServedFusion.Scaled, "weighted_sum")]
    [InlineData(ServedFusion.Calibrated, "calibrated")]
    [InlineData(ServedFusion.Rank, "rank")]
    [InlineData(ServedFusion.Pooled, "shrunk_geometric")]
    public void Every_fusion_reports_the_weights_it_gave_the_components(ServedFusion fusion, string method)
    {
        // Fifteen learners behind a, m = 5: the confidence 15 / 20 multiplies co-completion's weight 2 in the weighted
        // sum, the calibrated sum and the rank fusion (content 0.5 and path 0.5 unchanged; all scaled to sum to 1); the
        // geometric pool shrinks as the linear one does.
        var (items, history, coCompletion) = AfterA(15);
        var input = new ServedRankingInput(history, GraphOf(items), coCompletion, items, Nearest(items, history), history.Select(h => h.Key).ToHashSet());

        var mix = Assert.IsType<ServedMix>(ServedRanking.RankWithMix(input, ServedBlend.Default with { Fusion = fusion }).Mix);

        Assert.Equal(method, mix.Method);
        Assert.Equal(0.75, mix.Evidence, 9);
        Assert.Equal(15, mix.Learners, 9);
        var (content, co, path) = fusion == ServedFusion.Pooled ? (0.125, 0.75, 0.125) : (0.5 / 2.5, 1.5 / 2.5, 0.5 / 2.5);
        Assert.Equal(content, mix.Weights.Content, 9);
        Assert.Equal(co, mix.Weights.CoCompletion, 9);
        Assert.Equal(path, mix.Weights.Path, 9);
        Assert.Equal(0.5, mix.PriorContent, 9);
        Assert.Equal(0.5, mix.PriorPath, 9);
    }

    [Fact]
    public async Task The_harness_and_the_service_read_the_same_neighbourhood_two_hops_from_the_latest_completions()
    {
        var lists = new Dictionary<ContentKey, IReadOnlyList<Neighbour>>
        {
            [K("a")] = [new Neighbour(K("b"), 0.9)],
            [K("b")] = [new Neighbour(K("c"), 0.9)],
            [K("c")] = [new Neighbour(K("d"), 0.9)],
        };
        var reads = new List<IReadOnlyCollection<ContentKey>>();
        Task<IReadOnlyDictionary<ContentKey, IReadOnlyList<Neighbour>>> Read(IReadOnlyCollection<ContentKey> keys, CancellationToken _)
        {
            reads.Add(keys);
            return Task.FromResult<IReadOnlyDictionary<ContentKey, IReadOnlyList<Neighbour>>>(keys.Where(lists.ContainsKey).ToDictionary(k => k, k => lists[k]));
        }
        var graph = await ServedRanking.NeighbourhoodAsync([K("a")], Read, CancellationToken.None);

        Assert.Equal(2, reads.Count);
        Assert.Equal([K("b")], reads[1]);
        var rank = Diffusion.PersonalisedPageRank(graph, [(K("a"), 1.0)]);
        Assert.True(rank.GetValueOrDefault(K("c")) > 0, "two hops reached");
        Assert.False(rank.ContainsKey(K("d")), "three hops are not read");

        var many = Enumerable.Range(0, 40).Select(i => new HistoryItem(K($"h{i}"), T0.AddDays(i), null, new PathItem(K($"h{i}"), null, null, []))).ToList();
        Assert.Equal(many.Skip(10).Select(h => h.Key), ServedRanking.Seeds(many));
    }
}
