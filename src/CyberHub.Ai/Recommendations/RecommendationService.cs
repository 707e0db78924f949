using System.ComponentModel;
using System.Security.Claims;
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
/// The seed's recommendation flow: progress from Core → profile embedding → vector search → filter →
/// diversify → explain. Each learner's full list (the most a request may ask for) is cached for an hour
/// and sliced per request; Core's progress events drop it.
/// </summary>
public sealed class RecommendationService(
    LearnerProgress progress,
    IVectorStore catalog,
    QueryEmbeddings queries,
    HybridCache cache,
    CacheLifetimes lifetimes)
{
    public const int MaxLimit = RecommendationCore.MaxPicks;
    public const int DefaultLimit = 10;
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    public async Task<RecommendationsResponse> RecommendAsync(
        long? userId, string? contentType, int? limit, ClaimsPrincipal caller, HttpRequest request, CancellationToken cancellationToken)
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

        var user = userId.Value;
        var bearer = request.BearerToken();
        var all = await cache.GetOrCreateAsync(
            "recommendations",
            $"recommendations:{user}:{type ?? "*"}",
            (service: this, user, type, bearer),
            static async (s, ct) => await s.service.ComputeAsync(s.user, s.type, s.bearer, ct),
            lifetimes.For(Lifetime),
            [CacheTags.User(user), CacheTags.Catalog],
            cancellationToken);
        var picks = all.Items.Take(count).ToList();
        return new RecommendationsResponse(user, picks, picks.Count);
    }

    private async Task<RecommendationPicks> ComputeAsync(long userId, string? type, string bearer, CancellationToken cancellationToken)
    {
        // Core is the source of truth for the learner's history: the profile is computed from what it reports.
        var records = await progress.GetAsync(userId, bearer, cancellationToken);
        var entries = ProfileBuilder.Entries(records);
        var started = entries.Select(e => new ContentKey(e.ContentType, e.ContentId)).ToHashSet();
        var history = ProfileBuilder.Weigh(entries, await catalog.GetManyAsync([.. started], cancellationToken));
        if (ProfileBuilder.Vector(history) is not { } vector)
        {
            return await StarterPicksAsync(type, cancellationToken);
        }

        var candidates = await RecommendationCore.CandidatesAsync(catalog, vector, type, started, cancellationToken);
        return new RecommendationPicks(Rank("personal", candidates.Count, (vector, candidates, History: history), static s =>
            [.. RecommendationCore.Personal(s.vector, s.candidates, s.History).Select(p => ToDto(p.Pick.Item.Content, p.Pick.Similarity, p.Reason))]));
    }

    /// <summary>The ranking step, as the span <c>recommendations.rank</c>: candidates in, picks out.</summary>
    private static RecommendationDto[] Rank<TState>(string strategy, int candidates, TState state, Func<TState, RecommendationDto[]> rank)
    {
        using var activity = CyberHubTelemetry.Source.StartActivity("recommendations.rank");
        activity?.SetTag("recommendations.strategy", strategy);
        activity?.SetTag("recommendations.candidates", candidates);
        try
        {
            var picks = rank(state);
            activity?.SetTag("recommendations.picks", picks.Length);
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
            $"recommendations:starter:{type ?? "*"}",
            (service: this, type),
            static async (s, ct) => await s.service.ComputeStarterPicksAsync(s.type, ct),
            lifetimes.For(Lifetime),
            [CacheTags.Catalog],
            cancellationToken);

    private async Task<RecommendationPicks> ComputeStarterPicksAsync(string? type, CancellationToken cancellationToken)
    {
        var query = await queries.EmbedAsync(RecommendationCore.StarterQuery, cancellationToken);
        var hits = await RecommendationCore.StarterHitsAsync(catalog, query, type, cancellationToken);
        return new RecommendationPicks(Rank("starter", hits.Count, hits, static hits =>
            [.. RecommendationCore.Starter(hits).Select(p => ToDto(p.Hit.Content, p.Hit.Score, p.Reason))]));
    }

    private static RecommendationDto ToDto(ContentRecord content, double score, string reason) =>
        new(content.ContentId, content.ContentType, content.Title, content.Description, Math.Round(score, 4), reason);
}

/// <summary>
/// A learner's whole list as the cache keeps it: one immutable value, so a hit in process memory hands out the same
/// instance instead of deserializing 50 picks again (a cached array counts as mutable and is copied on every hit).
/// </summary>
[ImmutableObject(true)]
public sealed record RecommendationPicks(IReadOnlyList<RecommendationDto> Items);
