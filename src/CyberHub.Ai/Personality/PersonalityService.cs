using System.Globalization;
using System.Security.Claims;
using CyberHub.Ai.CoreClient;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.ServiceDefaults.Errors;
using CyberHub.ServiceDefaults.RateLimiting;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Ai.Personality;

/// <summary>
/// The seed's personality flow: gather the learner's progress (given, or read from Core), look up what the
/// catalog knows about it, analyse, and keep the result as the learner's last analysis.
/// </summary>
public sealed class PersonalityService(
    LearnerProgress progress, LearnerAccessClient access, PersonalityCatalog catalog, HybridCache cache, CacheLifetimes lifetimes, TimeProvider clock,
    IRateLimitStore limits, PersonalityLimits personalityLimits)
{
    /// <summary>How long a learner's last analysis is kept, unless a change to their progress drops it sooner.</summary>
    public static readonly TimeSpan LastAnalysisLifetime = TimeSpan.FromHours(24);

    private static readonly HybridCacheEntryOptions ReadOnly = new()
    {
        Flags = HybridCacheEntryFlags.DisableLocalCacheWrite | HybridCacheEntryFlags.DisableDistributedCacheWrite,
    };

    public async Task<PersonalityAnalysis> AnalyzeAsync(PersonalityRequest request, ClaimsPrincipal caller, HttpRequest http, CancellationToken cancellationToken)
    {
        var userId = ValidUserId(request.UserId);
        if (request.ProgressData is not null)
        {
            // Given records replace the learner's last analysis: only the learner (or an admin or service) may give them.
            caller.EnsureCanActFor(userId);
        }
        else
        {
            // Core's records: whoever Core lets read them, an organization's instructors included.
            await access.EnsureCanReadAsync(caller, userId, http.BearerToken(), cancellationToken);
        }
        var now = clock.GetUtcNow().UtcDateTime;
        // Given records are analysed as they are, without Core, so analysis keeps working while Core is down.
        var records = request.ProgressData is { } given
            ? ProgressData.Validate(userId, given, now)
            : [.. (await progress.GetAsync(userId, http.BearerToken(), cancellationToken)).Select(LearningRecord.From)];
        await SpendAsync(caller, records.Count, cancellationToken);
        var facts = await catalog.FactsAsync(records.Select(r => r.Key), cancellationToken);
        var analysis = PersonalityAnalyzer.Analyze(userId, records, facts, now);
        await cache.SetAsync(Key(userId), analysis, lifetimes.For(LastAnalysisLifetime), [CacheTags.Analysis(userId)], cancellationToken);
        return analysis;
    }

    public async Task<PersonalityAnalysis> GetLastAsync(long userId, ClaimsPrincipal caller, HttpRequest http, CancellationToken cancellationToken)
    {
        await access.EnsureCanReadAsync(caller, ValidUserId(userId), http.BearerToken(), cancellationToken);
        // HybridCache has no plain read: a factory that finds nothing, with writes disabled, is one.
        var last = await cache.GetOrCreateAsync<PersonalityAnalysis?>(
            "personality", Key(userId), static _ => ValueTask.FromResult<PersonalityAnalysis?>(null), ReadOnly, cancellationToken: cancellationToken);
        return last ?? throw ApiException.NotFound("No personality analysis for this user yet: request one with POST /api/v1/personality/analyze.");
    }

    /// <summary>
    /// Analysis costs about 20 µs of CPU a record (0.2 s for the 10,000 a request may give), so each caller has a budget
    /// of records a minute besides their requests: 429 with Retry-After when spent.
    /// </summary>
    private async Task SpendAsync(ClaimsPrincipal caller, int records, CancellationToken cancellationToken)
    {
        var rule = RateLimitRule.PerMinute("personality_records", personalityLimits.RecordsPerMinute);
        var who = caller.FindFirstValue(CyberHubClaims.Subject) ?? "anonymous";
        var decision = await limits.AcquireManyAsync(rule, $"user:{who}", Math.Clamp(records, 1, rule.PermitLimit), cancellationToken);
        if (!decision.Allowed)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(decision.RetryAfter.TotalSeconds));
            throw new ApiException(StatusCodes.Status429TooManyRequests, string.Create(CultureInfo.InvariantCulture,
                $"Analysis budget spent: {rule.PermitLimit} progress records a minute; this analysis has {records}. Try again in {seconds} s."))
            {
                Headers = new Dictionary<string, string> { ["Retry-After"] = seconds.ToString(CultureInfo.InvariantCulture) },
            };
        }
    }

    public static string Key(long userId) => "personality:" + userId.ToString(CultureInfo.InvariantCulture);

    private static long ValidUserId(long? userId) => userId switch
    {
        null => throw ApiException.BadRequest("user_id is required."),
        <= 0 => throw ApiException.BadRequest("user_id must be a positive integer."),
        { } id => id,
    };
}

public static class PersonalityServiceCollectionExtensions
{
    public static IServiceCollection AddPersonality(this IServiceCollection services)
    {
        services.AddSingleton<PersonalityCatalog>();
        services.AddSingleton(sp => PersonalityLimits.From(sp.GetRequiredService<IConfiguration>()));
        services.AddScoped<PersonalityService>();
        return services;
    }
}

/// <summary>The <c>Personality</c> section.</summary>
public sealed class PersonalityLimits
{
    /// <summary>Progress records a minute each caller may have analysed (given or read from Core); at least 10,000, one full request.</summary>
    public int RecordsPerMinute { get; set; } = 20_000;

    /// <summary>
    /// How long Core's yes to "may this instructor read this learner's analysis" is kept (0 to 300 s; 0 asks Core each
    /// time): the longest a learner who leaves an organization stays visible to its instructors here.
    /// </summary>
    public int OrganizationAccessSeconds { get; set; } = 10;

    public static PersonalityLimits From(IConfiguration configuration)
    {
        var limits = configuration.GetSection("Personality").Get<PersonalityLimits>() ?? new PersonalityLimits();
        if (limits.RecordsPerMinute < ProgressData.MaxRecords)
        {
            throw new InvalidOperationException($"Personality:RecordsPerMinute must be at least {ProgressData.MaxRecords} (got {limits.RecordsPerMinute}).");
        }
        if (limits.OrganizationAccessSeconds is < 0 or > 300)
        {
            throw new InvalidOperationException($"Personality:OrganizationAccessSeconds must be from 0 to 300 (got {limits.OrganizationAccessSeconds}).");
        }
        return limits;
    }
}
