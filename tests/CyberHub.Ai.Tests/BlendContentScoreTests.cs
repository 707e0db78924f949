using System.Numerics.Tensors;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Tests;

/// <summary>
/// The content component's score (<see cref="BlendRanker.Candidates"/>): the diffusion's shares handed out in the order of
/// the direct cosine to the learner's interest, corrected by each candidate's hubness from the item graph. On a bare
/// catalog (no topic, level or prerequisites, no other learners) it is all the served ranking has; where other learners
/// completed the learner's items, their evidence keeps the weight it had against the diffusion.
/// </summary>
public sealed class BlendContentScoreTests
{
    private static readonly DateTime T0 = new(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    private static ContentKey K(string id) => new("lesson", id);

    private static float[] Unit(params float[] v)
    {
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / norm)];
    }

    // a-1 and a-2 are done (subject A, first axis). "hub" is close to everything: it is every item's neighbour and its own
    // list is all close items, and its vector lies nearer the learner's mean than "topic", the next item of subject A, does.
    // "topic" is not in the graph around the history at all (the vector search found it), so the diffusion cannot reach it.
    private static readonly Dictionary<ContentKey, float[]> Vectors = new()
    {
        [K("a-1")] = Unit(1f, 0.05f, 0f),
        [K("a-2")] = Unit(1f, -0.05f, 0f),
        [K("hub")] = Unit(0.85f, 0.3f, 0.3f),
        [K("topic")] = Unit(0.8f, 0f, 0.6f),
        [K("b-1")] = Unit(0f, 1f, 0f),
        [K("c-1")] = Unit(0f, 0f, 1f),
    };

    private static NeighbourGraph Graph() => new(
    [
        (K("a-1"), [new Neighbour(K("hub"), 0.9), new Neighbour(K("a-2"), 0.95)]),
        (K("a-2"), [new Neighbour(K("hub"), 0.9), new Neighbour(K("a-1"), 0.95)]),
        (K("hub"), [new Neighbour(K("a-1"), 0.9), new Neighbour(K("a-2"), 0.9), new Neighbour(K("b-1"), 0.9), new Neighbour(K("c-1"), 0.9)]),
        (K("topic"), [new Neighbour(K("x-1"), 0.3), new Neighbour(K("x-2"), 0.3)]),
    ]);

    private static HistoryItem[] History() =>
    [
        new(K("a-1"), T0, Vectors[K("a-1")], new PathItem(K("a-1"), null, null, [])),
        new(K("a-2"), T0.AddDays(1), Vectors[K("a-2")], new PathItem(K("a-2"), null, null, [])),
    ];

    private static BlendRanker Ranker(BlendSettings settings) =>
        new(Graph(), new CoCompletionModel(), k => new PathItem(k, null, null, []), k => Vectors.GetValueOrDefault(k), _ => [], settings);

    private static List<ContentKey> ByContent(BlendRanker ranker) =>
        [.. ranker.Candidates(History(), [K("topic"), K("hub")]).OrderByDescending(c => c.Content.Score).Select(c => c.Key)];

    [Fact]
    public void The_graph_knows_the_hubness_of_items_whose_own_list_it_was_given()
    {
        var graph = Graph();
        Assert.Equal(0.9, graph.Hubness(K("hub"))!.Value, 9);
        Assert.Equal(0.3, graph.Hubness(K("topic"))!.Value, 9);
        Assert.Null(graph.Hubness(K("b-1")));
    }

    [Fact]
    public void The_content_score_demotes_a_hub_the_diffusion_and_the_plain_mean_put_first()
    {
        // The premise: the plain mean of the history is closer to the hub than to the topic's next item ...
        var mean = Unit(1f, 0f, 0f);
        Assert.True(TensorPrimitives.CosineSimilarity(mean, Vectors[K("hub")]) > TensorPrimitives.CosineSimilarity(mean, Vectors[K("topic")]));
        // ... and the diffusion alone (the content score before) puts the hub first and never reaches the topic's item.
        var before = ByContent(Ranker(BlendSettings.Default with { ContentMix = 0 }));
        Assert.Equal(K("hub"), before[0]);
        Assert.Equal(0, Ranker(BlendSettings.Default with { ContentMix = 0 }).Candidates(History(), [K("topic")]).Single(c => c.Key == K("topic")).Content.Score);

        // The direct part, hubness-corrected, puts the topic's item first; without the correction the hub stays first.
        Assert.Equal(K("topic"), ByContent(Ranker(BlendSettings.Default with { ContentMix = 1, Hubness = 0.5 }))[0]);
        Assert.Equal(K("hub"), ByContent(Ranker(BlendSettings.Default with { ContentMix = 1, Hubness = 0 }))[0]);

        // What the service serves: the default mixes both and puts the topic's item first.
        Assert.True(BlendSettings.Default.ContentMix > 0);
        Assert.Equal(K("topic"), ByContent(Ranker(BlendSettings.Default))[0]);
    }

    [Fact]
    public void The_served_ranking_on_a_bare_catalog_puts_the_topics_item_before_the_hub()
    {
        var history = History();
        var items = Vectors.Keys.ToDictionary(k => k, k => new RankingItem(k, Vectors[k], new PathItem(k, null, null, [])));
        var input = new ServedRankingInput(history, Graph(), new CoCompletionModel(), items, [K("hub"), K("topic")], history.Select(h => h.Key).ToHashSet());

        var picks = ServedRanking.Rank(input);
        Assert.Equal(K("topic"), picks[0].Key);
        Assert.Equal(RecommendationSource.Content, picks[0].Source);
        Assert.NotNull(picks[0].Driver);
        Assert.DoesNotContain(picks, p => p.Key == K("a-1") || p.Key == K("a-2"));

        var before = ServedRanking.Rank(input, settings: BlendSettings.Default with { ContentMix = 0 });
        Assert.Equal(K("hub"), before[0].Key);
    }

    [Fact]
    public void Hubness_read_for_candidates_outside_the_lists_around_the_history_corrects_them_too()
    {
        // The graph a miss reads around the history: the two done items' lists only. The hub and the topic's next item
        // are candidates (the vector search found them), but their own lists were not read.
        var history = History();
        static NeighbourGraph Around() => new(
        [
            (K("a-1"), [new Neighbour(K("hub"), 0.9), new Neighbour(K("a-2"), 0.95)]),
            (K("a-2"), [new Neighbour(K("hub"), 0.9), new Neighbour(K("a-1"), 0.95)]),
        ]);
        var items = Vectors.Keys.ToDictionary(k => k, k => new RankingItem(k, Vectors[k], new PathItem(k, null, null, [])));
        ServedRankingInput Input(NeighbourGraph graph) =>
            new(history, graph, new CoCompletionModel(), items, [K("hub"), K("topic")], history.Select(h => h.Key).ToHashSet());

        var unread = Around();
        Assert.Equal([K("hub"), K("topic")], ServedRanking.WithoutHubness(unread, [K("a-1"), K("hub"), K("topic"), K("hub"), K("a-2")]));
        // Counting the known lists' mean for both, the hub (closer to the learner's mean) comes first ...
        Assert.Equal(K("hub"), ServedRanking.Rank(Input(unread))[0].Key);

        // ... with their own hubness, as the store answers it, the topic's item does, as when their lists were in the graph.
        var read = Around();
        var edges = read.Count;
        read.LearnHubness(new Dictionary<ContentKey, double> { [K("hub")] = 0.9, [K("topic")] = 0.3, [K("a-1")] = 0.1 });
        Assert.Equal(K("topic"), ServedRanking.Rank(Input(read))[0].Key);
        Assert.Equal(0.3, read.Hubness(K("topic"))!.Value, 9);
        // Learning hubness adds no edge and keeps what the graph's own lists said.
        Assert.Equal(edges, read.Count);
        Assert.Empty(read.Of(K("topic")));
        Assert.Equal(0.925, read.Hubness(K("a-1"))!.Value, 9);
        Assert.Empty(ServedRanking.WithoutHubness(read, [K("hub"), K("topic")]));
    }

    [Fact]
    public void Content_scores_are_shares_and_without_vectors_the_diffusion_is_unchanged()
    {
        var scores = Ranker(BlendSettings.Default with { ContentMix = 0.5 }).Candidates(History(), [K("topic")]).Select(c => c.Content.Score).ToList();
        Assert.All(scores, s => Assert.True(s >= 0));
        Assert.Equal(1.0, scores.Sum(), 6);

        // No vectors at all: the content score is the diffusion's, whatever the mix.
        var bare = new BlendRanker(Graph(), new CoCompletionModel(), k => new PathItem(k, null, null, []), _ => null, _ => [], BlendSettings.Default with { ContentMix = 1 });
        var plain = new BlendRanker(Graph(), new CoCompletionModel(), k => new PathItem(k, null, null, []), _ => null, _ => [], BlendSettings.Default with { ContentMix = 0 });
        HistoryItem[] noVectors = [.. History().Select(h => h with { Vector = null })];
        Assert.Equal(plain.Candidates(noVectors).Select(c => (c.Key, c.Content.Score)), bare.Candidates(noVectors).Select(c => (c.Key, c.Content.Score)));
    }

    // A second catalog: a done; b is the closest item to it, c and d are further. Every item's own list is in the graph.
    private static readonly Dictionary<ContentKey, float[]> Near = new()
    {
        [K("a")] = Unit(1f, 0f, 0f, 0f),
        [K("b")] = Unit(0.95f, 0.3f, 0f, 0f),
        [K("c")] = Unit(0.6f, 0f, 0.8f, 0f),
        [K("d")] = Unit(0.6f, 0f, 0f, 0.8f),
    };

    private static NeighbourGraph NearGraph() => new(
    [
        (K("a"), [new Neighbour(K("b"), 0.95), new Neighbour(K("c"), 0.6), new Neighbour(K("d"), 0.6)]),
        (K("b"), [new Neighbour(K("a"), 0.95), new Neighbour(K("c"), 0.3), new Neighbour(K("d"), 0.3)]),
        (K("c"), [new Neighbour(K("a"), 0.6), new Neighbour(K("b"), 0.3), new Neighbour(K("d"), 0.36)]),
        (K("d"), [new Neighbour(K("a"), 0.6), new Neighbour(K("b"), 0.3), new Neighbour(K("c"), 0.36)]),
    ]);

    private static PathItem Bare(ContentKey key) => new(key, null, null, []);

    [Fact]
    public void The_direct_score_hands_out_the_diffusions_shares_and_changes_only_who_gets_them()
    {
        HistoryItem[] history = [new(K("a"), T0, Near[K("a")], Bare(K("a")))];
        BlendRanker RankerOf(double mix) => new(NearGraph(), new CoCompletionModel(), Bare, k => Near.GetValueOrDefault(k), _ => [], BlendSettings.Default with { ContentMix = mix });
        var diffusion = RankerOf(0).Candidates(history).ToDictionary(c => c.Key, c => c.Content.Score);
        var direct = RankerOf(1).Candidates(history).ToDictionary(c => c.Key, c => c.Content.Score);

        Assert.Equal([K("b"), K("c"), K("d")], direct.Keys.OrderBy(k => k.ContentId, StringComparer.Ordinal));
        var total = diffusion.Values.Sum();
        var shares = diffusion.Values.Select(v => v / total).OrderDescending().ToList();
        var handedOut = direct.Values.OrderDescending().ToList();
        Assert.Equal(shares.Count, handedOut.Count);
        for (var i = 0; i < shares.Count; i++)
        {
            Assert.Equal(shares[i], handedOut[i], 9);
        }
        Assert.Equal(K("b"), direct.MaxBy(p => p.Value).Key);
    }

    [Fact]
    public void Other_learners_keep_their_weight_against_the_direct_content_score()
    {
        // Six learners completed a and then c. By content alone b, a's closest item, comes first; with the learners, c does,
        // whether the content score is the diffusion's or the direct one: the direct score takes no more of the prior than
        // the diffusion's mass gave, so it never outweighs what other learners did more than the diffusion did.
        HistoryItem[] history = [new(K("a"), T0, Near[K("a")], Bare(K("a")))];
        var items = Near.Keys.ToDictionary(k => k, k => new RankingItem(k, Near[k], Bare(k)));
        var learners = new CoCompletionModel();
        for (var learner = 0; learner < 6; learner++)
        {
            learners.Add([], K("a"), T0.AddHours(learner));
            learners.Add([K("a")], K("c"), T0.AddHours(learner).AddMinutes(30));
        }
        ServedRankingInput Input(CoCompletionModel model) => new(history, NearGraph(), model, items, [K("b"), K("c"), K("d")], new HashSet<ContentKey> { K("a") });

        Assert.Equal(K("b"), ServedRanking.Rank(Input(new CoCompletionModel()))[0].Key);
        foreach (var settings in new[] { BlendSettings.Default, BlendSettings.Default with { ContentMix = 0 } })
        {
            var picks = ServedRanking.Rank(Input(learners), settings: settings);
            Assert.Equal(K("c"), picks[0].Key);
            Assert.Equal(RecommendationSource.CoCompletion, picks[0].Source);
            Assert.Equal(K("a"), picks[0].Driver);
        }
    }

    [Fact]
    public void An_item_not_similar_to_the_learners_interest_gets_no_direct_share()
    {
        // b-1 and c-1 are reached by the diffusion (through the hub) but orthogonal to what the learner did: the direct
        // score gives them nothing, so a rank fusion gives them no content rank either.
        var candidates = Ranker(BlendSettings.Default).Candidates(History(), [K("topic")]).ToDictionary(c => c.Key, c => c.Content.Score);
        Assert.True(Ranker(BlendSettings.Default with { ContentMix = 0 }).Candidates(History()).Single(c => c.Key == K("c-1")).Content.Score > 0);
        Assert.Equal(0, candidates[K("c-1")]);
        Assert.True(candidates[K("topic")] > 0 && candidates[K("hub")] > 0);
    }

    [Fact]
    public void Taking_out_the_catalogs_mean_puts_first_the_item_that_shares_what_sets_the_learners_item_apart()
    {
        // The whole catalog leans along the first axis (its mean is 0.7 there). "done" is the learner's item; "generic"
        // lies nearer the catalog's shared direction, "focused" shares what sets "done" apart from it (the second axis).
        var vectors = new Dictionary<ContentKey, float[]>
        {
            [K("done")] = Unit(0.8f, 0.6f, 0f),
            [K("generic")] = Unit(0.95f, 0.31f, 0f),
            [K("focused")] = Unit(0.5f, 0.866f, 0f),
        };
        float[] catalogMean = [0.7f, 0f, 0f];
        HistoryItem[] history = [new(K("done"), T0, vectors[K("done")], Bare(K("done")))];
        List<ContentKey> Order(float[]? mean, double centring)
        {
            var graph = new NeighbourGraph([(K("done"), [new Neighbour(K("generic"), 0.95), new Neighbour(K("focused"), 0.92)])]);
            graph.LearnCatalogMean(mean);
            var ranker = new BlendRanker(graph, new CoCompletionModel(), Bare, k => vectors.GetValueOrDefault(k), _ => [],
                BlendSettings.Default with { Hubness = 0, Centring = centring });
            return [.. ranker.Candidates(history, [K("generic"), K("focused")]).Where(c => c.Key != K("done"))
                .OrderByDescending(c => c.Content.Score).Select(c => c.Key)];
        }

        // By raw cosine "generic" is closer to "done" ...
        Assert.True(TensorPrimitives.CosineSimilarity(vectors[K("done")], vectors[K("generic")]) > TensorPrimitives.CosineSimilarity(vectors[K("done")], vectors[K("focused")]));
        Assert.Equal([K("generic"), K("focused")], Order(catalogMean, centring: 0));
        Assert.Equal([K("generic"), K("focused")], Order(mean: null, centring: 2));
        // ... with twice the catalog's mean taken out of both, "focused" is.
        Assert.Equal([K("focused"), K("generic")], Order(catalogMean, centring: 2));
        Assert.Equal(K("focused"), Order(catalogMean, BlendSettings.Default.Centring)[0]);
    }

    [Fact]
    public void The_words_put_first_the_item_that_shares_the_rare_words_of_the_learners_item()
    {
        // "near" is a little closer in meaning to "done"; "named" shares the tool's name ("auditd"), which few items have,
        // and "common" shares only words most items have ("configure", "the", "rule").
        var vectors = new Dictionary<ContentKey, float[]>
        {
            [K("done")] = Unit(1f, 0.2f, 0f),
            [K("near")] = Unit(1f, 0.3f, 0f),
            [K("named")] = Unit(1f, 0.4f, 0f),
            [K("common")] = Unit(1f, 0.35f, 0f),
        };
        var texts = new Dictionary<ContentKey, (string Title, string Description)>
        {
            [K("done")] = ("Configure the auditd rule", "Record logins with auditd."),
            [K("near")] = ("Record who signs in", "Keep a trail of logins."),
            [K("named")] = ("Keep auditd running", "Enable auditd at boot."),
            [K("common")] = ("Configure the firewall rule", "Configure the rule."),
        };
        var words = texts.ToDictionary(p => p.Key, p => ItemWords.Of(p.Value.Title, p.Value.Description));
        // 1,000 items: "configure", "the" and "rule" are held by most of them, "auditd" by three, "logins" by twenty.
        var termItems = new TermItems(1000, new Dictionary<string, long>
        {
            ["configure"] = 700, ["the"] = 990, ["rule"] = 600, ["auditd"] = 3, ["record"] = 80, ["logins"] = 20,
            ["with"] = 900, ["keep"] = 150, ["running"] = 60, ["enable"] = 400, ["at"] = 800, ["boot"] = 90,
            ["who"] = 300, ["signs"] = 25, ["in"] = 950, ["trail"] = 30, ["of"] = 980, ["firewall"] = 40,
        });
        HistoryItem[] history = [new(K("done"), T0, vectors[K("done")], Bare(K("done")))];
        List<ContentKey> Order(double weight, bool learnt = true)
        {
            var graph = new NeighbourGraph([(K("done"), [new Neighbour(K("near"), 0.99), new Neighbour(K("common"), 0.98), new Neighbour(K("named"), 0.97)])]);
            if (learnt)
            {
                graph.LearnWords(texts.Where(p => p.Key != K("done")).ToDictionary(p => p.Key, p => ItemWords.Vector(p.Value.Title, p.Value.Description)),
                    new Dictionary<ContentKey, ItemWords> { [K("done")] = words[K("done")] }, termItems);
            }
            var ranker = new BlendRanker(graph, new CoCompletionModel(), Bare, k => vectors.GetValueOrDefault(k), _ => [],
                BlendSettings.Default with { Hubness = 0, Centring = 0, Words = weight });
            return [.. ranker.Candidates(history, [K("near"), K("named"), K("common")]).Where(c => c.Key != K("done"))
                .OrderByDescending(c => c.Content.Score).Select(c => c.Key)];
        }

        // By meaning alone, the order of closeness; with no words learnt, the same.
        Assert.Equal([K("near"), K("common"), K("named")], Order(weight: 0));
        Assert.Equal([K("near"), K("common"), K("named")], Order(BlendSettings.Default.Words, learnt: false));
        // With the words, the item that shares the rare one leads, and common words count for little.
        Assert.Equal(K("named"), Order(BlendSettings.Default.Words)[0]);
        var done = new Dictionary<int, double>();
        termItems.Vector(words[K("done")]).AddTo(done, 1);
        Assert.True(ItemWords.Vector(texts[K("named")].Title, texts[K("named")].Description).Dot(done)
            > ItemWords.Vector(texts[K("common")].Title, texts[K("common")].Description).Dot(done));
    }

    [Theory]
    [InlineData("Disable SSH root login", "disable ssh root login")]
    [InlineData("Audit /etc/passwd (CCE-80955-2)!", "audit etc passwd cce 80955")]
    [InlineData("a I x", "")]
    [InlineData("Ensure the the THE audit", "ensure the audit")]
    [InlineData("Prüfung der Übersicht", "prüfung der übersicht")]
    public void An_items_words_are_its_runs_of_letters_and_digits_lower_cased_of_two_to_forty_characters(string title, string expected)
    {
        Assert.Equal(expected.Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal),
            ItemWords.Distinct(title, null).Order(StringComparer.Ordinal));
        Assert.Equal(["the"], ItemWords.Of("the The THE", null).Words);
        Assert.Equal([3], ItemWords.Of("the The THE", null).Counts);
        Assert.Empty(ItemWords.Of(new string('a', ItemWords.MaxLength + 1), null).Words);
        Assert.Single(ItemWords.Of(new string('a', ItemWords.MaxLength), "").Words);
    }

    [Fact]
    public void A_candidates_kept_word_vector_is_used_for_its_own_text_only()
    {
        static double Cosine(WordVector a, WordVector b) => a.Dot(WordVector.UnitSum([(b, 1)]));
        var key = new ContentKey("lesson", $"kept-{Guid.NewGuid():N}");
        var first = CandidateWords.Of(key, "Kerberoasting service accounts", "Request tickets and crack them offline");
        Assert.Same(first, CandidateWords.Of(key, "Kerberoasting service accounts", "Request tickets and crack them offline"));
        Assert.Equal(1, Cosine(first, ItemWords.Vector("Kerberoasting service accounts", "Request tickets and crack them offline")), 12);

        // The item edited: its new text's words, not the kept ones.
        var edited = CandidateWords.Of(key, "Password hashing", null);
        Assert.Equal(1, Cosine(edited, ItemWords.Vector("Password hashing", null)), 12);
        Assert.Equal(0, Cosine(edited, first), 12);
        Assert.NotSame(edited, CandidateWords.Of(key, "Password hashing", "with salt"));
    }

    [Fact]
    public void Kept_candidate_word_vectors_stay_within_their_bound()
    {
        for (var i = 0; i <= CandidateWords.Capacity; i++)
        {
            CandidateWords.Of(new ContentKey("lab", $"bound-{i}"), $"Lab {i}", null);
        }
        Assert.InRange(CandidateWords.Count, 1, CandidateWords.Capacity);
    }
}
