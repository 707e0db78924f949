using Microsoft.Extensions.Caching.Hybrid;

namespace CyberHub.ServiceDefaults.Caching;

/// <summary>
/// Entry options for a lifetime. With a shared Redis level, an instance keeps its own copy for at most
/// five minutes, which bounds staleness should it ever miss an invalidation message; alone, process memory
/// is the only level and keeps the full lifetime.
/// </summary>
public sealed class CacheLifetimes(bool sharedLevel)
{
    private static readonly TimeSpan LocalCeiling = TimeSpan.FromMinutes(5);

    public HybridCacheEntryOptions For(TimeSpan lifetime) => new()
    {
        Expiration = lifetime,
        LocalCacheExpiration = sharedLevel && lifetime > LocalCeiling ? LocalCeiling : lifetime,
    };
}
