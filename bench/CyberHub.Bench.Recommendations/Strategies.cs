using System.Text.Json.Nodes;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;

namespace CyberHub.Bench.Recommendations;

/// <summary>What a strategy is asked: the learner's history (oldest first) and how many items to recommend.</summary>
public sealed record RecommendationRequest(int LearnerId, IReadOnlyList<Completion> History, int Count);

/// <summary>
/// A recommendation strategy under evaluation. A new ranking component implements this, and is added to
/// <see cref="Strategies.All"/> with a factory that may train on <see cref="EvaluationContext.TrainingLogs"/>.
/// A strategy must never return an item of the history.
/// </summary>
public interface IRecommender
{
    string Name { get; }

    Task<IReadOnlyList<ContentKey>> RecommendAsync(RecommendationRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// One data set as strategies see it: the catalog in a real embedded vector store (MiniLM vectors), the items, and the
/// logs a strategy may learn from. Training logs are the visible histories only (hidden completions are never in them).
/// </summary>
public sealed class EvaluationContext(
    string name, IVectorStore store, IReadOnlyList<CatalogItem> items, IReadOnlyList<IReadOnlyList<Completion>> trainingLogs, float[] starterQuery)
{
    public string Name { get; } = name;
    public IVectorStore Store { get; } = store;
    public IReadOnlyList<CatalogItem> Items { get; } = items;
    public IReadOnlyDictionary<ContentKey, CatalogItem> ByKey { get; } = items.ToDictionary(i => i.Key);
    public IReadOnlyList<IReadOnlyList<Completion>> TrainingLogs { get; } = trainingLogs;

    /// <summary>
    /// The popular head: the fifth of the catalog completed most often in the training logs (ties by key). The share of a
    /// list inside it shows whether a strategy collapses onto what everybody takes.
    /// </summary>
    public IReadOnlySet<ContentKey> PopularHead { get; } = items
        .Select(i => (i.Key, Count: trainingLogs.Sum(l => l.Count(c => c.Item == i.Key))))
        .OrderByDescending(x => x.Count).ThenBy(x => x.Key.ContentType, StringComparer.Ordinal).ThenBy(x => x.Key.ContentId, StringComparer.Ordinal)
        .Take((int)Math.Ceiling(items.Count / 5.0)).Select(x => x.Key).ToHashSet();

    /// <summary>The embedded <see cref="RecommendationCore.StarterQuery"/>.</summary>
    public float[] StarterQuery { get; } = starterQuery;

    /// <summary>The history as the progress records Core would hand the AI service: each item completed at its time.</summary>
    public static IReadOnlyList<ProgressDto> Progress(int learnerId, IReadOnlyList<Completion> history) =>
        [.. history.Select((c, i) => new ProgressDto(i + 1, learnerId, c.Item.ContentId, c.Item.ContentType, ProgressStatus.Completed, 100, null, 0,
            new JsonObject(), c.At, c.At, c.At, c.At, 1))];

    /// <summary>Today's profile: <see cref="ProfileBuilder"/>'s weighted mean of the history's vectors (null without catalog items).</summary>
    public async Task<(float[]? Vector, IReadOnlyList<WeightedItem> History, IReadOnlySet<ContentKey> Started)> ProfileAsync(
        RecommendationRequest request, CancellationToken cancellationToken)
    {
        var entries = ProfileBuilder.Entries(Progress(request.LearnerId, request.History));
        var items = await Store.GetManyAsync([.. entries.Select(e => new ContentKey(e.ContentType, e.ContentId))], cancellationToken);
        var history = ProfileBuilder.Weigh(entries, items);
        return (ProfileBuilder.Vector(history), history, entries.Select(e => new ContentKey(e.ContentType, e.ContentId)).ToHashSet());
    }
}

public static class Strategies
{
    public const string Random = "random";
    public const string Popularity = "popularity";
    public const string MeanEmbedding = "mean-embedding";
    public const string Today = "today (full ranking)";
    public const string Diffusion = "diffusion (PPR over 10-NN graph)";
    public const string CoCompletion = "co-completion";
    public const string Path = "learning path";
    public const string MultiInterest = "multi-interest content";
    public const string WeightedBlend = "blend (weighted sum)";
    public const string Blend = "blend";
    public const string Served = "served ranking";
    public const string ServedBefore = "served before (rank fusion)";

    /// <summary>The single components the blend must beat (the strategies that are neither baselines nor blends).</summary>
    public static IReadOnlySet<string> Components { get; } = new HashSet<string> { Diffusion, MultiInterest, CoCompletion, Path };

    /// <summary>Every strategy the harness reports, in report order. New components and the blend are added here.</summary>
    public static IReadOnlyList<(string Name, Func<EvaluationContext, IRecommender> Create)> All { get; } =
    [
        (Random, c => new RandomRecommender(c)),
        (Popularity, c => new PopularityRecommender(c)),
        (MeanEmbedding, c => new MeanEmbeddingRecommender(c)),
        (Today, c => new TodayRecommender(c)),
        (Diffusion, c => new BlendRecommender(c, Diffusion, BlendRecommender.Mode.Diffusion)),
        (MultiInterest, c => new MultiInterestRecommender(c, MultiInterest)),
        (CoCompletion, c => new BlendRecommender(c, CoCompletion, BlendRecommender.Mode.CoCompletion)),
        (Path, c => new BlendRecommender(c, Path, BlendRecommender.Mode.Path)),
        (WeightedBlend, c => new BlendRecommender(c, WeightedBlend, BlendRecommender.Mode.WeightedBlend)),
        (Blend, c => new BlendRecommender(c, Blend, BlendRecommender.Mode.Blend)),
        (ServedBefore, c => new ServedRecommender(c, ServedBefore, ServedBlend.RankFusion)),
        (Served, c => new ServedRecommender(c, Served)),
    ];
}

/// <summary>Items the learner has not done, in a random order seeded by the learner: the floor.</summary>
public sealed class RandomRecommender(EvaluationContext context) : IRecommender
{
    public string Name => Strategies.Random;

    public Task<IReadOnlyList<ContentKey>> RecommendAsync(RecommendationRequest request, CancellationToken cancellationToken)
    {
        var done = request.History.Select(c => c.Item).ToHashSet();
        var random = new Random(request.LearnerId * 7919 + 1);
        var pool = context.Items.Select(i => i.Key).Where(k => !done.Contains(k)).ToArray();
        random.Shuffle(pool);
        return Task.FromResult<IReadOnlyList<ContentKey>>([.. pool.Take(request.Count)]);
    }
}

/// <summary>The items completed most often in the training logs that the learner has not done (ties by key).</summary>
public sealed class PopularityRecommender : IRecommender
{
    private readonly ContentKey[] _byCount;

    public PopularityRecommender(EvaluationContext context)
    {
        var counts = context.TrainingLogs.SelectMany(l => l).GroupBy(c => c.Item).ToDictionary(g => g.Key, g => g.Count());
        _byCount = [.. context.Items.Select(i => i.Key)
            .OrderByDescending(k => counts.GetValueOrDefault(k))
            .ThenBy(k => k.ContentType, StringComparer.Ordinal).ThenBy(k => k.ContentId, StringComparer.Ordinal)];
    }

    public string Name => Strategies.Popularity;

    public Task<IReadOnlyList<ContentKey>> RecommendAsync(RecommendationRequest request, CancellationToken cancellationToken)
    {
        var done = request.History.Select(c => c.Item).ToHashSet();
        return Task.FromResult<IReadOnlyList<ContentKey>>([.. _byCount.Where(k => !done.Contains(k)).Take(request.Count)]);
    }
}

/// <summary>
/// Today's core without diversification: the items nearest today's weighted-mean profile vector, by the vector store's
/// own search; the starter list when the history has no catalog items.
/// </summary>
public sealed class MeanEmbeddingRecommender(EvaluationContext context) : IRecommender
{
    public string Name => Strategies.MeanEmbedding;

    public async Task<IReadOnlyList<ContentKey>> RecommendAsync(RecommendationRequest request, CancellationToken cancellationToken)
    {
        var (vector, _, started) = await context.ProfileAsync(request, cancellationToken);
        if (vector is null)
        {
            return await TodayRecommender.StarterAsync(context, request.Count, cancellationToken);
        }
        var hits = await context.Store.SearchAsync(vector, request.Count, null, started, cancellationToken);
        return [.. hits.Select(h => ContentVectors.KeyOf(h.Content))];
    }
}

/// <summary>
/// Today's full ranking, as <see cref="RecommendationService"/> computes it: the weighted-mean profile, the candidate
/// search (<see cref="RecommendationCore.CandidatesAsync"/>), maximal marginal relevance over the candidates
/// (<see cref="RecommendationCore.Personal"/>) for the whole list, sliced; the starter list without a profile.
/// </summary>
public sealed class TodayRecommender(EvaluationContext context) : IRecommender
{
    public string Name => Strategies.Today;

    public async Task<IReadOnlyList<ContentKey>> RecommendAsync(RecommendationRequest request, CancellationToken cancellationToken)
    {
        var (vector, history, started) = await context.ProfileAsync(request, cancellationToken);
        if (vector is null)
        {
            return await StarterAsync(context, request.Count, cancellationToken);
        }
        var candidates = await RecommendationCore.CandidatesAsync(context.Store, vector, null, started, RecommendationCore.CandidatePool, cancellationToken);
        return [.. RecommendationCore.Personal(vector, candidates, history).Take(request.Count).Select(p => p.Pick.Item.Key)];
    }

    public static async Task<IReadOnlyList<ContentKey>> StarterAsync(EvaluationContext context, int count, CancellationToken cancellationToken)
    {
        var hits = await RecommendationCore.StarterHitsAsync(context.Store, context.StarterQuery, null, cancellationToken);
        return [.. RecommendationCore.Starter(hits).Take(count).Select(p => ContentVectors.KeyOf(p.Hit.Content))];
    }
}
