using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace CyberHub.ServiceDefaults.Caching;

public static class CachingExtensions
{
    /// <summary>
    /// HybridCache for every service: process memory always, Redis as the shared second level when
    /// <c>ConnectionStrings:redis</c> is set, plus <see cref="CacheInvalidator"/> to drop entries by tag on
    /// every instance.
    /// </summary>
    public static IServiceCollection AddCyberHubCache(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddHybridCache(options =>
        {
            options.MaximumPayloadBytes = 4 * 1024 * 1024;
            options.DefaultEntryOptions = new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(5) };
        });

        var redis = configuration.GetConnectionString("redis");
        services.AddSingleton(new CacheLifetimes(sharedLevel: !string.IsNullOrWhiteSpace(redis)));
        if (string.IsNullOrWhiteSpace(redis))
        {
            services.AddSingleton<CacheInvalidator>();
            return services;
        }

        services.AddSingleton(new RedisConnection(redis));
        var prefix = CachePrefix(configuration);
        services.AddStackExchangeRedisCache(options => options.InstanceName = prefix);
        services.AddOptions<RedisCacheOptions>().Configure<RedisConnection>((options, connection) =>
            options.ConnectionMultiplexerFactory = connection.GetAsync);
        services.AddSingleton<CacheInvalidator>();
        services.AddHostedService(sp => sp.GetRequiredService<CacheInvalidator>());
        services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis");
        return services;
    }

    /// <summary>
    /// Has the cache write and read the types <paramref name="resolver"/> knows (a source-generated JSON context) with that
    /// resolver's code instead of reflection, any other type as before. The JSON is the same as the cache's default
    /// (<see cref="JsonSerializerOptions.Default"/>'s settings), so entries already in Redis stay readable either way. It
    /// matters because the cache serializes every value it stores, even one it keeps as is in process memory (to know its
    /// size), and a recommendation list is tens of kilobytes.
    /// </summary>
    public static IServiceCollection AddCachedJson(this IServiceCollection services, IJsonTypeInfoResolver resolver)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        // HybridCache's JSON serializers take the options registered under this key (Microsoft.Extensions.Caching.Hybrid).
        services.AddKeyedSingleton<JsonSerializerOptions>(typeof(IHybridCacheSerializer<>), CachedJsonOptions(resolver));
        return services;
    }

    /// <summary>The options <see cref="AddCachedJson"/> gives the cache: the default settings, <paramref name="resolver"/> first.</summary>
    public static JsonSerializerOptions CachedJsonOptions(IJsonTypeInfoResolver resolver)
    {
        var options = new JsonSerializerOptions(JsonSerializerOptions.Default)
        {
            TypeInfoResolver = JsonTypeInfoResolver.Combine(resolver, new DefaultJsonTypeInfoResolver()),
        };
        options.MakeReadOnly();
        return options;
    }

    /// <summary>
    /// What every key and channel in Redis starts with (<c>Cache:Prefix</c>, default <c>cyberhub:</c>), so
    /// that several deployments, or test runs, can share one Redis without reading each other's entries.
    /// </summary>
    public static string CachePrefix(IConfiguration configuration) =>
        configuration["Cache:Prefix"] is { Length: > 0 } prefix ? prefix : "cyberhub:";

    /// <summary>Redis being away makes the service slower, not unavailable: hence degraded, never unhealthy.</summary>
    private sealed class RedisHealthCheck(RedisConnection redis) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var connection = await redis.GetAsync();
                var latency = await connection.GetDatabase().PingAsync();
                return HealthCheckResult.Healthy($"redis, ping {latency.TotalMilliseconds:0.0} ms");
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                return HealthCheckResult.Degraded("redis unreachable: serving from process memory", e);
            }
        }
    }
}

/// <summary>
/// One multiplexer per process, shared by the distributed cache and the invalidation channel. Set up so
/// that an unreachable Redis fails each call at once instead of queueing it: the caches then fall back to
/// process memory and the databases.
/// </summary>
public sealed class RedisConnection : IAsyncDisposable
{
    private readonly Lazy<Task<IConnectionMultiplexer>> _connection;
    private readonly Lock _gate = new();
    private readonly List<Action<IConnectionMultiplexer>> _onConnected = [];
    private IConnectionMultiplexer? _connected;

    public RedisConnection(string connectionString)
    {
        _connection = new(() => ConnectAsync(connectionString));
    }

    public Task<IConnectionMultiplexer> GetAsync() => _connection.Value;

    /// <summary>Runs <paramref name="action"/> with the multiplexer once it exists (at once when it already does).</summary>
    public void WhenConnected(Action<IConnectionMultiplexer> action)
    {
        IConnectionMultiplexer? connected;
        lock (_gate)
        {
            connected = _connected;
            if (connected is null)
            {
                _onConnected.Add(action);
            }
        }
        if (connected is not null)
        {
            action(connected);
        }
    }

    private async Task<IConnectionMultiplexer> ConnectAsync(string connectionString)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        // Replies and writes run on the .NET thread pool rather than the client's own threads: handing each write to
        // those threads and waking them cost about a tenth of a recommendation miss's CPU (docs/benchmarks.md), and
        // nothing here blocks a pool thread on Redis.
        options.SocketManager = SocketManager.ThreadPool;
        if (!connectionString.Contains("connectTimeout", StringComparison.OrdinalIgnoreCase))
        {
            options.ConnectTimeout = 2_000;
        }
        if (!connectionString.Contains("syncTimeout", StringComparison.OrdinalIgnoreCase))
        {
            options.SyncTimeout = 1_000;
        }
        if (!connectionString.Contains("asyncTimeout", StringComparison.OrdinalIgnoreCase))
        {
            options.AsyncTimeout = 1_000;
        }
        var connection = await ConnectionMultiplexer.ConnectAsync(options);
        List<Action<IConnectionMultiplexer>> pending;
        lock (_gate)
        {
            _connected = connection;
            pending = [.. _onConnected];
            _onConnected.Clear();
        }
        foreach (var action in pending)
        {
            action(connection);
        }
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            await (await _connection.Value).DisposeAsync();
        }
    }
}
