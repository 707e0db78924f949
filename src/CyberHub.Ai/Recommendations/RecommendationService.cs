using System.ComponentModel;
using System.Numerics.Tensors;
using System.Security.Claims;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.CoreClient;
using CyberHub.Ai.Embeddings;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.ServiceDefaults.Errors;
using CyberHub.ServiceDefaults.Observability;
using Microsoft.Extensions.Caching.Hybrid;

namespace CyberHub.Ai.Recommendations;

/// <summary>
/// What a learner should learn next. The learner's history is their progress as Core reports it (the one source of
/// truth for a learner's own history); the ranking is the blend (<see cref="BlendRanker"/>) of a diffusion over the
/// stored item graph, what other learners completed next (<see cref="ICoCompletionStore"/>), the learning path and the
/// items nearest the learner's profile. A learner with nothing done gets popular introductory picks, then the starter
/// list. Each learner's full list (the most a request may ask for) is cached for an hour and sliced per request; Core's
/// progress events drop it.
/// </summary>
public sealed class RecommendationService(
    LearnerProgress progress,
    IVectorStore catalog,
    IItemGraph graph,
    ICoCompletionStore coCompletion,
    CoCompletionSettings coCompletionSettings,
    QueryEmbeddings queries,
    HybridCache cache,
    CacheLifetimes lifetimes)
{
    public const int MaxLimit = RecommendationCore.MaxPicks;
    public const int DefaultLimit = 10;
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    /// <summary>The reason of a pick popular with learners who have completed nothing yet.</summary>
    public const string PopularReason = "Popular with learners starting out";

    /// <summary>
    /// How many of the learner's latest completions seed the item graph and the co-completion counts: a completion's
    /// weight falls by <see cref="BlendSettings.StepDecay"/> per later one (0.7^30 ≈ 2e-5), so older ones would add
    /// round trips and nothing else. The path still sees the whole history (a prerequisite done long ago is done).
    /// </summary>
    public const int RecentSeeds = ServedRanking.RecentSeeds;

    public async Task<RecommendationsResponse> RecommendAsync(
        long? userId, string? contentType, int? limit, bool explain, ClaimsPrincipal caller, HttpRequest request, CancellationToken cancellationToken)
    {
        if (userId is not > 0)
        {
            throw ApiException.BadRequest("user_id is required and must be a positive integer.");
        }
        var count = limit ?? DefaultLimit;
        if (count is < 1 or > MaxLimit)
        {
            throw ApiException.BadRequest($"limit must be between 1 and {MaxLimit}.");
        }
        var type = string.IsNullOrEmpty(contentType) ? null : ContentRules.ContentType(contentType);
        caller.EnsureCanActFor(userId.Value);
        if (explain && !caller.IsInRole(Roles.Admin) && caller.IsInRole(Roles.Service))
        {
            // How a list was made is the learner's own business and an admin's, not every service's.
            throw ApiException.Forbidden("explain: explanations are for the learner themself and admins.");
        }

        var user = userId.Value;
        var bearer = request.BearerToken();
        var all = await cache.GetOrCreateAsync(
            "recommendations",
            $"recommendations:v3:{user}:{type ?? "*"}",
            (service: this, user, type, bearer),
            static async (s, ct) => await s.service.ComputeAsync(s.user, s.type, s.bearer, ct),
            lifetimes.For(Lifetime),
            [CacheTags.User(user), CacheTags.Catalog],
            cancellationToken);
        var take = Math.Min(count, all.Items.Count);
        // The list's fusion goes into each returned pick's explanation here, only when asked for: the cached list holds it once.
        var picks = explain && all.Explanations is { } explanations
            ? all.Items.Take(take).Select((p, i) => p with { Explanation = all.Fusion is { } fusion ? explanations[i] with { Fusion = fusion } : explanations[i] }).ToList()
            : all.Items.Take(take).ToList();
        return new RecommendationsResponse(user, picks, picks.Count);
    }

    private async Task<RecommendationPicks> ComputeAsync(long userId, string? type, string bearer, CancellationToken cancellationToken)
    {
        var records = await progress.GetAsync(userId, bearer, cancellationToken);
        var learner = LearnerHistory.From(records);
        if (learner.Seeds.Count == 0)
        {
            return await NewLearnerPicksAsync(type, learner.Started, cancellationToken);
        }
        var known = (await catalog.GetManyAsync([.. learner.Started], cancellationToken)).ToDictionary(v => v.Key);
        var history = learner.Seeds
            .Where(r => known.ContainsKey(LearnerHistory.KeyOf(r)))
            .Select(r =>
            {
                var item = known[LearnerHistory.KeyOf(r)];
                return new HistoryItem(item.Key, LearnerHistory.At(r), item.Vector, PathOf(item));
            }).ToList();
        if (history.Count == 0)
        {
            // Nothing the learner did is in the catalog (any more).
            return await NewLearnerPicksAsync(type, learner.Started, cancellationToken);
        }
        var profile = ProfileBuilder.Vector(ProfileBuilder.Weigh(ProfileBuilder.Entries(records), [.. known.Values]));
        var recent = ServedRanking.Seeds(history);
        var startedSet = learner.Started.ToHashSet();

        // Four independent reads: the graph around the history (two hops), the co-completion counts leaving it, the items
        // nearest the profile (new items have no co-completion support yet; content still finds them), and how many items
        // of the catalog hold each word of the latest completions.
        var neighbourhood = ServedRanking.NeighbourhoodAsync(recent, graph.NeighboursAsync, cancellationToken);
        var counts = coCompletion.ReadAsync(recent, Served.Weights.Popular > 0 ? MaxLimit : 0, cancellationToken);
        var nearest = profile is null
            ? Task.FromResult<IReadOnlyList<ContentVector>>([])
            : RecommendationCore.CandidatesAsync(catalog, profile, type, startedSet, BlendSettings.Default.Nearest, cancellationToken);
        var interestWords = ServedRanking.ReadInterestWordsAsync(graph, recent.Select(k => known[k].Content), BlendSettings.Default, cancellationToken);
        await Task.WhenAll(neighbourhood, counts, nearest, interestWords);
        foreach (var item in nearest.Result)
        {
            known.TryAdd(item.Key, item);
        }
        var model = CoCompletionModel.From(counts.Result, coCompletionSettings);
        // The components' own candidates, fetched once for their vectors, titles and path facts; beside that read, the
        // hubness of every candidate whose list the graph around the history did not hold, and the catalog's mean.
        var candidates = ServedRanking.ComponentCandidates(history, neighbourhood.Result, model);
        var learning = ServedRanking.LearnFromStoreAsync(graph, neighbourhood.Result, known.Keys.Concat(candidates), cancellationToken);
        await FetchAsync(known, candidates, cancellationToken);
        await learning;
        ServedRanking.LearnWords(neighbourhood.Result, known.Values.Select(v => v.Content), interestWords.Result);

        var input = new ServedRankingInput(history, neighbourhood.Result, model,
            known.ToDictionary(p => p.Key, p => new RankingItem(p.Key, p.Value.Vector, PathOf(p.Value))),
            [.. nearest.Result.Select(n => n.Key)], startedSet, type);
        var ranked = Rank("blend", known.Count, input, static input => ServedRanking.RankWithMix(input, Served), static r => r.Picks.Count);
        await FetchAsync(known, ranked.Picks.SelectMany(p => p.Missing.Take(1)), cancellationToken);
        var working = learner.Completed.Count == 0;
        // The weights the ranking used for this learner (ServedMix), not the blend's nominal ones: the shrunk fusion weighs
        // other learners' shares by the evidence behind them and the content and path prior by the rest.
        var mix = ranked.Mix!;
        var fusion = new RecommendationFusion(mix.Method, Math.Round(mix.Evidence, 4), Math.Round(mix.Learners, 2), mix.PseudoLearners,
            new RecommendationPrior(Math.Round(mix.PriorContent, 4), Math.Round(mix.PriorPath, 4)));
        return Picks(ranked.Picks, known, mix.Weights, working) with { Fusion = fusion };
    }

    /// <summary>What is served (<see cref="ServedBlend.Default"/>).</summary>
    private static ServedBlend Served => ServedBlend.Default;

    /// <summary>
    /// A learner with nothing done: what learners most often complete, introductory items first (never one whose
    /// prerequisites are not done, unless nothing else fills the list), then the starter list.
    /// </summary>
    private async Task<RecommendationPicks> NewLearnerPicksAsync(string? type, IReadOnlyList<ContentKey> started, CancellationToken cancellationToken)
    {
        var starter = await StarterPicksAsync(type, cancellationToken);
        var state = await coCompletion.ReadAsync([], MaxLimit, cancellationToken);
        var model = CoCompletionModel.From(state, coCompletionSettings);
        // A count is a signal only at the support floor: one learner's completion makes nothing popular.
        var popular = state.Items.Select(i => i.Item).Distinct().Where(k => model.ItemCount(k) >= model.Settings.MinSupport && (type is null || k.ContentType == type)).ToList();
        if (popular.Count == 0)
        {
            return starter;
        }
        var known = (await catalog.GetManyAsync(popular, cancellationToken)).ToDictionary(v => v.Key);
        var ranker = new BlendRanker(new NeighbourGraph([]), model,
            k => known.TryGetValue(k, out var item) ? PathOf(item) : null, k => known.TryGetValue(k, out var item) ? item.Vector : null, _ => []);
        var excluded = started.ToHashSet();
        var ranked = Rank("popular", known.Count, (ranker, keys: known.Keys), static s => s.ranker.Recommend([], int.MaxValue, extraCandidates: s.keys), static r => r.Count)
            .Where(p => known.ContainsKey(p.Key) && !excluded.Contains(p.Key)).ToList();
        // Ready popular picks lead; the starter list fills the rest; popular items not ready yet come last.
        var ready = Picks([.. ranked.Where(p => p.Ready)], known, new BlendWeights(0, 0, 0, 1), working: false);
        await FetchAsync(known, ranked.Where(p => !p.Ready).SelectMany(p => p.Missing.Take(1)), cancellationToken);
        var later = Picks([.. ranked.Where(p => !p.Ready)], known, new BlendWeights(0, 0, 0, 1), working: false);
        var items = new List<RecommendationDto>(MaxLimit);
        var explanations = new List<RecommendationExplanation>(MaxLimit);
        var taken = new HashSet<(string, string)>();
        void Add(RecommendationPicks from)
        {
            for (var i = 0; i < from.Items.Count && items.Count < MaxLimit; i++)
            {
                var dto = from.Items[i];
                if (taken.Add((dto.ContentType, dto.ContentId)) && !excluded.Contains(new ContentKey(dto.ContentType, dto.ContentId)))
                {
                    items.Add(dto);
                    explanations.Add(from.Explanations![i]);
                }
            }
        }
        Add(ready);
        Add(starter);
        Add(later);
        return new RecommendationPicks(items, explanations);
    }

    private async Task FetchAsync(Dictionary<ContentKey, ContentVector> known, IEnumerable<ContentKey> keys, CancellationToken cancellationToken)
    {
        var missing = keys.Where(k => !known.ContainsKey(k)).Distinct().ToList();
        if (missing.Count > 0)
        {
            foreach (var item in await catalog.GetManyAsync(missing, cancellationToken))
            {
                known.TryAdd(item.Key, item);
            }
        }
    }

    /// <summary>
    /// The picks as the response gives them, each with its reason and explanation; <paramref name="weights"/> are the weights
    /// the ranking gave the components (one instance shared by every explanation of the list).
    /// </summary>
    private static RecommendationPicks Picks(IReadOnlyList<BlendedPick> picks, Dictionary<ContentKey, ContentVector> known, BlendWeights weights, bool working)
    {
        var used = new RecommendationWeights(Math.Round(weights.Content, 4), Math.Round(weights.CoCompletion, 4), Math.Round(weights.Path, 4), Math.Round(weights.Popular, 4));
        string TitleOf(ContentKey key) => known.TryGetValue(key, out var item) ? item.Content.Title : key.ContentId;
        RecommendationItem ItemOf(ContentKey key) => new(key.ContentType, key.ContentId, TitleOf(key));
        var items = new List<RecommendationDto>(picks.Count);
        var explanations = new List<RecommendationExplanation>(picks.Count);
        foreach (var pick in picks)
        {
            var content = known[pick.Key].Content;
            var reason = Blend.Reason(pick, TitleOf);
            if (working && pick.Source == RecommendationSource.Content)
            {
                // Nothing completed yet: the history is the work in progress, and the reason says so.
                reason = reason.Replace("Because you completed", "Because you are working on", StringComparison.Ordinal);
            }
            items.Add(new RecommendationDto(content.ContentId, content.ContentType, content.Title, content.Description,
                Math.Round(pick.Score, 4), reason));
            var c = pick.Components;
            explanations.Add(new RecommendationExplanation(
                SourceName(pick.Source),
                pick.Source == RecommendationSource.Popular || pick.Driver is not { } driver ? null : ItemOf(driver),
                new RecommendationComponents(Math.Round(c.Content, 4), Math.Round(c.CoCompletion, 4), Math.Round(c.Path, 4), Math.Round(c.Popular, 4), used),
                pick.Ready,
                [.. pick.Missing.Select(ItemOf)]));
        }
        return new RecommendationPicks(items, explanations);
    }

    private static string SourceName(RecommendationSource source) => source switch
    {
        RecommendationSource.NextStep => RecommendationSources.NextStep,
        RecommendationSource.CoCompletion => RecommendationSources.CoCompletion,
        RecommendationSource.Popular => RecommendationSources.Popular,
        _ => RecommendationSources.Content,
    };

    /// <summary>An item's place in a learning path, from its metadata.</summary>
    private static PathItem PathOf(ContentVector item)
    {
        var facts = ContentFacts.From(item.Content);
        return new PathItem(item.Key, facts.Topic, PathItem.LevelOf(facts.Level), facts.Before);
    }

    /// <summary>The ranking step, as the span <c>recommendations.rank</c>: candidates in, picks out.</summary>
    private static TResult Rank<TState, TResult>(string strategy, int candidates, TState state, Func<TState, TResult> rank, Func<TResult, int> count)
    {
        using var activity = CyberHubTelemetry.Source.StartActivity("recommendations.rank");
        activity?.SetTag("recommendations.strategy", strategy);
        activity?.SetTag("recommendations.candidates", candidates);
        try
        {
            var picks = rank(state);
            activity?.SetTag("recommendations.picks", count(picks));
            return picks;
        }
        catch (Exception e)
        {
            activity.RecordFailure(e);
            throw;
        }
    }

    /// <summary>
    /// Cold start: introductory items, taking turns across topics so a newcomer sees the breadth of the
    /// catalog. Shared by every learner without progress, so cached once per content type.
    /// </summary>
    private async Task<RecommendationPicks> StarterPicksAsync(string? type, CancellationToken cancellationToken) =>
        await cache.GetOrCreateAsync(
            "recommendations_starter",
            $"recommendations:v2:starter:{type ?? "*"}",
            (service: this, type),
            static async (s, ct) => await s.service.ComputeStarterPicksAsync(s.type, ct),
            lifetimes.For(Lifetime),
            [CacheTags.Catalog],
            cancellationToken);

    private async Task<RecommendationPicks> ComputeStarterPicksAsync(string? type, CancellationToken cancellationToken)
    {
        var query = await queries.EmbedAsync(RecommendationCore.StarterQuery, cancellationToken);
        var hits = await RecommendationCore.StarterHitsAsync(catalog, query, type, cancellationToken);
        using var activity = CyberHubTelemetry.Source.StartActivity("recommendations.rank");
        activity?.SetTag("recommendations.strategy", "starter");
        activity?.SetTag("recommendations.candidates", hits.Count);
        var picks = RecommendationCore.Starter(hits);
        activity?.SetTag("recommendations.picks", picks.Count);
        var none = new RecommendationComponents(0, 0, 0, 0, new RecommendationWeights(0, 0, 0, 0));
        return new RecommendationPicks(
            [.. picks.Select(p => new RecommendationDto(p.Hit.Content.ContentId, p.Hit.Content.ContentType, p.Hit.Content.Title, p.Hit.Content.Description,
                Math.Round(p.Hit.Score, 4), p.Reason))],
            [.. picks.Select(_ => new RecommendationExplanation(RecommendationSources.Starter, null, none, true, []))]);
    }
}

/// <summary>
/// A learner's history as Core reports it: what they have started (never recommended again), what they completed (oldest
/// first, the blend's history) and, for a learner who has completed nothing, their work in progress in its place.
/// </summary>
public sealed record LearnerHistory(IReadOnlyList<ContentKey> Started, IReadOnlyList<ProgressDto> Completed, IReadOnlyList<ProgressDto> Seeds)
{
    public static LearnerHistory From(IReadOnlyList<ProgressDto> records)
    {
        var started = records.Where(r => r.Status != ProgressStatus.NotStarted || r.CompletionPercentage > 0).ToList();
        var completed = started.Where(r => r.Status == ProgressStatus.Completed)
            .OrderBy(At).ThenBy(r => r.Id).ToList();
        var seeds = completed.Count > 0 ? completed : [.. started.OrderBy(r => r.UpdatedAt).ThenBy(r => r.Id)];
        return new LearnerHistory([.. started.Select(KeyOf).Distinct()], completed, seeds);
    }

    public static ContentKey KeyOf(ProgressDto record) => new(record.ContentType, record.ContentId);

    /// <summary>When the learner completed the item (its last change for one without a completion time).</summary>
    public static DateTime At(ProgressDto record) => record.CompletedAt ?? record.UpdatedAt;
}

/// <summary>
/// A learner's whole list as the cache keeps it: one immutable value, so a hit in process memory hands out the same
/// instance instead of deserializing 50 picks again (a cached array counts as mutable and is copied on every hit).
/// <see cref="Explanations"/> go with <see cref="Items"/> one for one; a request without <c>explain</c> gets the items alone.
/// <see cref="Fusion"/>: how the ranking made the list's scores (the same for every pick, so held once and put into each
/// returned explanation only when <c>explain</c> asks; null for a learner without a history).
/// </summary>
[ImmutableObject(true)]
public sealed record RecommendationPicks(
    IReadOnlyList<RecommendationDto> Items, IReadOnlyList<RecommendationExplanation>? Explanations = null, RecommendationFusion? Fusion = null);
