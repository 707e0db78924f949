using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace CyberHub.ServiceDefaults.Caching;

/// <summary>
/// Drops cached entries by tag on every instance. HybridCache's own tag invalidation reaches this process
/// and the shared Redis level, but another instance keeps serving its process-memory copy (and its memory of
/// the tag's last invalidation) until that expires; so each invalidation is also published on a Redis channel
/// and every instance applies it locally.
/// An entry computed from data read just before a change can be stored just after the change was
/// invalidated; each invalidation is therefore repeated once a few seconds later (the "delayed double
/// delete"), by when any computation in flight at the time of the change has finished.
/// </summary>
public sealed class CacheInvalidator(
    HybridCache cache, IConfiguration configuration, ILogger<CacheInvalidator> logger, RedisConnection? redis = null) : BackgroundService
{
    private readonly RedisChannel _channel = RedisChannel.Literal(CachingExtensions.CachePrefix(configuration) + "invalidate");
    private readonly string _origin = Guid.NewGuid().ToString("N");
    private readonly TimeSpan _settle = configuration.GetValue("Cache:SettleDelay", TimeSpan.FromSeconds(10));

    /// <summary>
    /// Invalidates <paramref name="tags"/> now and, after the settle delay, once more (results derived from
    /// data that just changed); <paramref name="once"/> only now (records of what was done, such as an analysis).
    /// </summary>
    public async Task InvalidateAsync(IReadOnlyCollection<string> tags, IReadOnlyCollection<string>? once = null, CancellationToken cancellationToken = default)
    {
        if (tags.Count + (once?.Count ?? 0) == 0)
        {
            return;
        }
        await InvalidateNowAsync(once is null ? tags : [.. tags, .. once], cancellationToken);
        if (_settle > TimeSpan.Zero && tags.Count > 0)
        {
            _ = Task.Run(async () =>
            {
                await Task.Delay(_settle, CancellationToken.None);
                try
                {
                    await InvalidateNowAsync(tags, CancellationToken.None);
                }
                catch (ObjectDisposedException)
                {
                    // The service stopped meanwhile; its caches went with it.
                }
            }, CancellationToken.None);
        }
    }

    private async Task InvalidateNowAsync(IReadOnlyCollection<string> tags, CancellationToken cancellationToken)
    {
        if (redis is null)
        {
            await cache.RemoveByTagAsync(tags, cancellationToken);
            return;
        }
        var redisDown = false;
        foreach (var tag in tags)
        {
            // One tag at a time: each is marked invalid in this process first, then in Redis, and a Redis
            // failure on one tag must not leave the others valid here.
            try
            {
                await cache.RemoveByTagAsync(tag, cancellationToken);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                redisDown = true;
            }
        }
        try
        {
            var connection = await redis.GetAsync();
            await connection.GetSubscriber().PublishAsync(_channel, $"{_origin}\n{string.Join('\n', tags)}");
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            redisDown = true;
        }
        if (redisDown)
        {
            // No instance can read a stale shared copy while Redis is down; their own memory expires on its short lifetime.
            logger.LogWarning("Redis unreachable: the invalidation of {Tags} reached this instance only", tags);
        }
    }

    public Task InvalidateAsync(string tag, CancellationToken cancellationToken = default) =>
        InvalidateAsync([tag], cancellationToken: cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (redis is null)
        {
            return;
        }
        var queue = await SubscribeAsync(stoppingToken);
        if (queue is null)
        {
            return;
        }
        await using var _ = stoppingToken.Register(() => queue.Unsubscribe());
        while (!stoppingToken.IsCancellationRequested)
        {
            ChannelMessage message;
            try
            {
                message = await queue.ReadAsync(stoppingToken);
            }
            catch (Exception e) when (e is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
            {
                return;
            }
            var lines = ((string?)message.Message ?? "").Split('\n');
            if (lines.Length < 2 || lines[0] == _origin)
            {
                continue;
            }
            try
            {
                await cache.RemoveByTagAsync(lines[1..], stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Could not apply the invalidation of {Tags}", lines[1..]);
            }
        }
    }

    /// <summary>
    /// Subscribes once Redis answers. The multiplexer keeps the subscription across reconnects itself; only
    /// the first attempt needs Redis up, and a service must start (and serve) while it is not.
    /// </summary>
    private async Task<ChannelMessageQueue?> SubscribeAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                var connection = await redis!.GetAsync();
                return await connection.GetSubscriber().SubscribeAsync(_channel);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                if (attempt == 1)
                {
                    logger.LogWarning("Redis unreachable, cache invalidations from other instances wait until it is back: {Error}", e.Message);
                }
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, 2 * attempt)), stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return null;
                }
            }
        }
        return null;
    }
}
