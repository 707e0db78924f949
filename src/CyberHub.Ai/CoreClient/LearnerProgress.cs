using System.ComponentModel;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Caching;
using Microsoft.Extensions.Caching.Hybrid;

namespace CyberHub.Ai.CoreClient;

/// <summary>
/// A learner's progress as Core last reported it, cached for the seed's five minutes and dropped as soon as
/// Core reports a change (the sync event invalidates the learner's tag).
/// </summary>
public sealed class LearnerProgress(CoreProgressClient core, HybridCache cache, CacheLifetimes lifetimes)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Callers must have checked that the caller may read <paramref name="userId"/>'s data: the cached copy
    /// is shared by every caller allowed to see it.
    /// </summary>
    public async Task<IReadOnlyList<ProgressDto>> GetAsync(long userId, string bearerToken, CancellationToken cancellationToken) =>
        (await cache.GetOrCreateAsync(
            "progress",
            $"progress:{userId}",
            (core, userId, bearerToken),
            static async (state, ct) => new ProgressRecords([.. await state.core.GetAllAsync(state.userId, state.bearerToken, ct)]),
            lifetimes.For(Lifetime),
            [CacheTags.User(userId)],
            cancellationToken)).Items;
}

/// <summary>A learner's records as the cache keeps them: immutable, so a hit in process memory is not deserialized again.</summary>
[ImmutableObject(true)]
public sealed record ProgressRecords(IReadOnlyList<ProgressDto> Items);
