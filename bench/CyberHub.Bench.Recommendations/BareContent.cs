using System.Globalization;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberHub.Bench.Recommendations;

/// <summary>
/// The content-only set bare (docs/recommendations.md, "The content side on a bare catalog"): the same SCAP rules and
/// vectors stored with no <c>topic</c>, <c>level</c> or <c>prerequisites</c>, and no other learners' history (no
/// training logs: co-completion and popularity know nothing). The rule group stays the evaluation's ground truth only.
/// What is left to the served ranking is its content component.
/// </summary>
public static class BareContent
{
    public const string Name = "content-only, bare (no metadata, no other learners)";
    public const string ServedDiffusion = "served, vectors alone (before)";
    public const string ServedWide = "served, 150 nearest (before)";

    /// <summary>The served ranking with the 150 items nearest the profile it searched for before (<see cref="NearestGrid"/>).</summary>
    public static BlendSettings Wide { get; } = BlendSettings.Default with { Nearest = RecommendationCore.CandidatePool };

    /// <summary>The served ranking as it was: the content score compares the centred vectors alone, no words.</summary>
    public static BlendSettings Before { get; } = BlendSettings.Default with { Words = 0 };

    /// <summary>The content-only catalog's records and vectors copied into a new embedded store with empty metadata (nothing embedded again).</summary>
    public static async Task<LoadedCatalog> StripAsync(LoadedCatalog content, string directory, CancellationToken cancellationToken)
    {
        var store = new EmbeddedVectorStore(Path.Combine(directory, "content-bare.db"), NullLogger.Instance);
        await store.InitializeAsync(cancellationToken);
        foreach (var record in await content.Store.GetManyAsync([.. content.Items.Select(i => i.Key)], cancellationToken))
        {
            await store.UpsertAsync(record.Content with { Metadata = "{}" }, [record.Vector], cancellationToken);
        }
        return new LoadedCatalog("content-bare", store, [.. content.Items.Select(i => i with { Level = 0, Prerequisites = [] })]);
    }

    public static EvaluationContext Context(LoadedCatalog bare, float[] starterQuery) => new(Name, bare.Store, bare.Items, [], starterQuery);

    /// <summary>
    /// The rows of the bare tables: the baseline, the two content components, the served ranking before its content score
    /// weighed words, before it searched for fewer nearest items, and now.
    /// </summary>
    public static IReadOnlyList<IRecommender> Strategies(EvaluationContext context) =>
    [
        new MeanEmbeddingRecommender(context),
        new BlendRecommender(context, Bench.Recommendations.Strategies.Diffusion, BlendRecommender.Mode.Diffusion),
        new MultiInterestRecommender(context, Bench.Recommendations.Strategies.MultiInterest),
        new ServedRecommender(context, ServedDiffusion, settings: Before),
        new ServedRecommender(context, ServedWide, settings: Wide),
        new ServedRecommender(context, Bench.Recommendations.Strategies.Served),
    ];

    /// <summary>The bare tables: the time split and topic precision on each split asked for.</summary>
    public static async Task<IReadOnlyList<ResultTable>> TablesAsync(
        EvaluationContext context, IReadOnlyList<Learner> learners, IReadOnlyList<TopicProbe> probes, IReadOnlyList<string> splits, int hidden, int seed,
        CancellationToken cancellationToken)
    {
        var strategies = Strategies(context);
        var tables = new List<ResultTable>();
        foreach (var split in splits)
        {
            tables.Add(await Evaluation.TimeSplitAsync(context, learners, split, hidden, strategies, cancellationToken));
            tables.Add(await Evaluation.TopicPrecisionAsync(context, probes, split, seed, strategies, cancellationToken));
        }
        return tables;
    }

    /// <summary>The content score's weight for words (<c>--tune-bare</c>): vectors alone, the diffusion alone, and six weights.</summary>
    public static IReadOnlyList<BlendSettings> WordsGrid =>
        [BlendSettings.Default with { ContentMix = 0, Words = 0 }, Before, .. new[] { 0.2, 0.3, 0.5, 0.8, 1.2, 1.6 }.Select(w => BlendSettings.Default with { Words = w })];

    /// <summary>How many items nearest the profile a miss searches for (<c>--tune-nearest</c>): from the list's length up to the 150 served before.</summary>
    public static IReadOnlyList<BlendSettings> NearestGrid =>
        [.. new[] { RecommendationCore.MaxPicks, 75, 100, RecommendationCore.CandidatePool }.Select(n => BlendSettings.Default with { Nearest = n })];

    /// <summary>
    /// The served ranking's settings on the tuning split only: per setting of <paramref name="grid"/>, the served ranking's P@10 over
    /// mean-embedding's on the bare topic precision and time split, and its NDCG@10 on the simulated population (all
    /// learners, and those moving to a new topic).
    /// </summary>
    public static async Task TuneAsync(
        EvaluationContext bare, IReadOnlyList<Learner> bareLearners, IReadOnlyList<TopicProbe> probes, int seed,
        EvaluationContext demo, IReadOnlyList<Learner> population, int hidden, IReadOnlyList<BlendSettings> grid, Action<string> say,
        CancellationToken cancellationToken)
    {
        IRecommender[] baseline = [new MeanEmbeddingRecommender(bare)];
        var topicBase = (await Evaluation.TopicPrecisionAsync(bare, probes, Learner.Tuning, seed, baseline, cancellationToken)).Rows[0].Precision.Mean;
        var timeBase = (await Evaluation.TimeSplitAsync(bare, bareLearners, Learner.Tuning, hidden, baseline, cancellationToken)).Rows[0].Precision.Mean;
        say("| content mix | centring | hubness | words | nearest | bare topic P@10 ratio | bare time split P@10 ratio | simulated NDCG@10 (tuning) | new topic NDCG@10 (tuning) |");
        say("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var settings in grid)
        {
            IRecommender[] served = [new ServedRecommender(bare, Bench.Recommendations.Strategies.Served, settings: settings)];
            IRecommender[] servedDemo = [new ServedRecommender(demo, Bench.Recommendations.Strategies.Served, settings: settings)];
            var topic = (await Evaluation.TopicPrecisionAsync(bare, probes, Learner.Tuning, seed, served, cancellationToken)).Rows[0].Precision.Mean;
            var time = (await Evaluation.TimeSplitAsync(bare, bareLearners, Learner.Tuning, hidden, served, cancellationToken)).Rows[0].Precision.Mean;
            var ndcg = (await Evaluation.TimeSplitAsync(demo, population, Learner.Tuning, hidden, servedDemo, cancellationToken)).Rows[0].Ndcg;
            var newTopic = (await Evaluation.TimeSplitAsync(demo, population, Learner.Tuning, hidden, servedDemo, cancellationToken, crossTopicOnly: true)).Rows[0].Ndcg;
            say(string.Create(CultureInfo.InvariantCulture,
                $"| {settings.ContentMix} | {settings.Centring} | {settings.Hubness} | {settings.Words} | {settings.Nearest} | {topic / topicBase:F3} | {time / timeBase:F3} | {ndcg} | {newTopic} |"));
        }
    }
}
