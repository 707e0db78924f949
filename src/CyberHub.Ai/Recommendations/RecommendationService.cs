using System.ComponentModel;
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
/// The seed's recommendation flow: progress from Core → profile embedding → vector search → filter →
/// diversify → explain. Each learner's full list (the most a request may ask for) is cached for an hour
/// and sliced per request; Core's progress events drop it.
/// </summary>
public sealed class RecommendationService(
    LearnerProgress progress,
    LearnerProfiles profiles,
    IVectorStore catalog,
    QueryEmbeddings queries,
    HybridCache cache,
    CacheLifetimes lifetimes)
{
    public const int MaxLimit = 50;
    public const int DefaultLimit = 10;
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    // Enough candidates for diversity to choose among, few enough to rank in well under a millisecond.
    private const int CandidatePool = 3 * MaxLimit;
    private const string StarterQuery = "introduction to cybersecurity fundamentals for beginners";
    private static readonly HashSet<string> IntroductoryLevels = new(StringComparer.OrdinalIgnoreCase)
    {
        "beginner", "introductory", "intro", "foundation", "foundations", "basic",
    };

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
        var records = await progress.GetAsync(userId, bearer, cancellationToken);
        var snapshot = await profiles.CurrentAsync(userId, records, cancellationToken);
        if (snapshot.Profile.Vector is not { } vector)
        {
            return await StarterPicksAsync(type, cancellationToken);
        }

        // What the learner has started is theirs already: the dashboard continues it, recommendations look ahead.
        var started = snapshot.Profile.Entries.Select(e => new ContentKey(e.ContentType, e.ContentId)).ToHashSet();
        // One profile vector measured best on the held-out quality catalog (recall@10 0.91): searching per
        // interest cluster, tried for learners of several topics, pulled in neighbours of single items instead.
        var hits = await catalog.SearchAsync(vector, CandidatePool, type, started, cancellationToken);
        var candidates = await catalog.GetManyAsync([.. hits.Select(h => new ContentKey(h.Content.ContentType, h.Content.ContentId))], cancellationToken);
        return new RecommendationPicks(Rank("personal", candidates.Count, (vector, candidates, snapshot.History), static s =>
            [.. Ranking.Diversify(s.vector, s.candidates, MaxLimit).Select(r => ToDto(r.Item.Content, r.Similarity, Ranking.Reason(r.Item, s.History)))]));
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
        var query = await queries.EmbedAsync(StarterQuery, cancellationToken);
        var hits = await catalog.SearchAsync(query, 4 * MaxLimit, type, cancellationToken: cancellationToken);
        return new RecommendationPicks(Rank("starter", hits.Count, hits, StarterPicks));
    }

    /// <summary>Introductory items first, then by content type and score, taking turns across topics.</summary>
    private static RecommendationDto[] StarterPicks(IReadOnlyList<SearchHit> hits)
    {
        var byTopic = hits
            .Select(h => (Hit: h, Facts: Facts(h.Content)))
            .OrderByDescending(x => x.Facts.Introductory)
            .ThenBy(x => StarterOrder(x.Hit.Content.ContentType))
            .ThenByDescending(x => x.Hit.Score)
            .GroupBy(x => x.Facts.Topic, StringComparer.OrdinalIgnoreCase)
            .Select(g => new Queue<(SearchHit Hit, (string Topic, bool Introductory) Facts)>(g))
            .ToList();
        var picks = new List<RecommendationDto>(MaxLimit);
        while (picks.Count < MaxLimit && byTopic.Any(q => q.Count > 0))
        {
            foreach (var topic in byTopic.Where(q => q.Count > 0))
            {
                var (hit, facts) = topic.Dequeue();
                var reason = facts.Introductory
                    ? $"An introductory {facts.Topic} item to get you started; picks become personal as you make progress"
                    : $"A starting point in {facts.Topic}; picks become personal as you make progress";
                picks.Add(ToDto(hit.Content, hit.Score, reason));
                if (picks.Count == MaxLimit)
                {
                    break;
                }
            }
        }
        return [.. picks];
    }

    /// <summary>A newcomer starts with an overview, then lessons, then practice; tests of knowledge come last.</summary>
    private static int StarterOrder(string contentType) => contentType switch
    {
        "course" => 0,
        "module" => 1,
        "lesson" or "video" or "article" => 2,
        "lab" => 3,
        _ => 4,
    };

    /// <summary>The item's topic (metadata <c>topic</c>, else its content type) and whether its level is introductory.</summary>
    private static (string Topic, bool Introductory) Facts(ContentRecord content)
    {
        var facts = ContentFacts.From(content);
        // Topics are often slugs ("web-security"); a reason reads better with words.
        var topic = (facts.Topic ?? content.ContentType).Replace('-', ' ').Replace('_', ' ');
        return (topic, facts.Level is { } level && IntroductoryLevels.Contains(level));
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
