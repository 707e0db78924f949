using CyberHub.ServiceDefaults.Observability;
using Microsoft.Extensions.Caching.Hybrid;

namespace CyberHub.ServiceDefaults.Caching;

/// <summary>
/// HybridCache lookups counted in <see cref="CyberHubTelemetry.CacheRequests"/> by cache name and result.
/// HybridCache does not say whether it found the entry, so a lookup is a miss when its factory ran and a hit
/// otherwise (from process memory or from Redis). A caller that joined another caller's factory already
/// running for the same key counts as a hit: it computed nothing itself. The factory runs in the execution
/// context of the lookup that started it, so its spans are children of that lookup's span.
/// </summary>
public static class MeteredCache
{
    /// <param name="cacheName">
    /// Which cache, in snake_case (<c>progress</c>, <c>recommendations</c>, ...). It becomes a metric tag, so it
    /// must be one of a few fixed names, never anything taken from the key.
    /// </param>
    public static async ValueTask<T> GetOrCreateAsync<TState, T>(
        this HybridCache cache,
        string cacheName,
        string key,
        TState state,
        Func<TState, CancellationToken, ValueTask<T>> factory,
        HybridCacheEntryOptions? options = null,
        IEnumerable<string>? tags = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentException.ThrowIfNullOrEmpty(cacheName);
        var lookup = new Lookup<TState, T>(cacheName, state, factory);
        var value = await cache.GetOrCreateAsync(key, lookup, static (l, ct) => l.CreateAsync(ct), options, tags, cancellationToken);
        if (!lookup.Ran)
        {
            Count(cacheName, "hit");
        }
        return value;
    }

    /// <inheritdoc cref="GetOrCreateAsync{TState, T}(HybridCache, string, string, TState, Func{TState, CancellationToken, ValueTask{T}}, HybridCacheEntryOptions?, IEnumerable{string}?, CancellationToken)"/>
    public static ValueTask<T> GetOrCreateAsync<T>(
        this HybridCache cache,
        string cacheName,
        string key,
        Func<CancellationToken, ValueTask<T>> factory,
        HybridCacheEntryOptions? options = null,
        IEnumerable<string>? tags = null,
        CancellationToken cancellationToken = default) =>
        cache.GetOrCreateAsync(cacheName, key, factory, static (f, ct) => f(ct), options, tags, cancellationToken);

    private static void Count(string cacheName, string result) =>
        CyberHubTelemetry.CacheRequests.Add(1, new KeyValuePair<string, object?>("cache", cacheName), new KeyValuePair<string, object?>("result", result));

    /// <summary>The caller's state, factory and execution context, and whether HybridCache ran the factory: one object per lookup.</summary>
    private sealed class Lookup<TState, T>(string cacheName, TState state, Func<TState, CancellationToken, ValueTask<T>> factory)
    {
        // HybridCache runs the factory outside the caller's execution context (dotnet/extensions#5648 and #6543), as
        // the computation is shared with any caller that joins it. It is the first caller's computation all the same:
        // run in that caller's context, its spans join the caller's trace, and its logs and calls carry the caller's
        // request id. Null when the caller suppressed the flow.
        private readonly ExecutionContext? _caller = ExecutionContext.Capture();
        private CancellationToken _cancellationToken;
        private ValueTask<T> _started;

        public bool Ran { get; private set; }

        public ValueTask<T> CreateAsync(CancellationToken cancellationToken)
        {
            Ran = true;
            if (_caller is null)
            {
                return Start(cancellationToken);
            }
            _cancellationToken = cancellationToken;
            ExecutionContext.Run(_caller, static lookup =>
            {
                var self = (Lookup<TState, T>)lookup!;
                self._started = self.Start(self._cancellationToken);
            }, this);
            return _started;
        }

        private ValueTask<T> Start(CancellationToken cancellationToken)
        {
            // Counted as the factory starts, so that a factory that throws is still a miss.
            Count(cacheName, "miss");
            return factory(state, cancellationToken);
        }
    }
}
