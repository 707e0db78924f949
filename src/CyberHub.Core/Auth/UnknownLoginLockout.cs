using System.Security.Cryptography;
using System.Text;
using CyberHub.ServiceDefaults.Caching;
using Microsoft.Extensions.Caching.Memory;
using StackExchange.Redis;

namespace CyberHub.Core.Auth;

/// <summary>
/// Failed logins under names that belong to no active account, counted and locked out like an account's own
/// failures, so that a 429 does not tell an attacker the name exists. Shared through Redis when it is
/// configured (one count for every instance), otherwise kept in process memory; if Redis is unreachable,
/// in process memory too. Names are stored only as hashes.
/// </summary>
internal sealed class UnknownLoginLockout(IMemoryCache memory, RedisConnection? redis, string prefix, LoginLockoutOptions options)
{
    /// <summary>How long failures under an unknown name are remembered after the last one.</summary>
    public static readonly TimeSpan Memory = TimeSpan.FromDays(1);

    private static readonly Lock Gate = new();

    // Counts a failure; at the limit, replaces the count with a lock that expires by itself.
    private const string RecordScript = """
        local failures = redis.call('INCR', KEYS[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        if failures >= tonumber(ARGV[2]) then
          redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
          redis.call('DEL', KEYS[1])
        end
        return failures
        """;

    /// <summary>How long the name stays locked, or null when it is not locked.</summary>
    public async Task<TimeSpan?> LockedForAsync(string login, DateTime now)
    {
        var key = Key(login);
        if (await RedisAsync() is { } db)
        {
            try
            {
                var remaining = await db.KeyTimeToLiveAsync(key + ":locked");
                return remaining > TimeSpan.Zero ? remaining : null;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Fall through to process memory.
            }
        }
        lock (Gate)
        {
            return memory.Get<Tally>(key) is { } tally && tally.LockedUntil > now ? tally.LockedUntil - now : null;
        }
    }

    public async Task RecordFailureAsync(string login, DateTime now)
    {
        var key = Key(login);
        if (await RedisAsync() is { } db)
        {
            try
            {
                await db.ScriptEvaluateAsync(RecordScript, [key + ":failures", key + ":locked"],
                    [(long)Memory.TotalMilliseconds, options.MaxFailedAttempts, (long)options.Duration.TotalMilliseconds]);
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Fall through to process memory.
            }
        }
        lock (Gate)
        {
            var tally = memory.GetOrCreate(key, entry =>
            {
                entry.SlidingExpiration = Memory;
                entry.Size = 1;
                return new Tally();
            })!;
            if (++tally.Failures >= options.MaxFailedAttempts)
            {
                tally.Failures = 0;
                tally.LockedUntil = now + options.Duration;
            }
        }
    }

    private string Key(string login) =>
        $"{prefix}login-lockout:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(login)))}";

    private async Task<IDatabase?> RedisAsync()
    {
        if (redis is null)
        {
            return null;
        }
        try
        {
            var connection = await redis.GetAsync();
            return connection.IsConnected ? connection.GetDatabase() : null;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return null;
        }
    }

    private sealed class Tally
    {
        public int Failures;
        public DateTime LockedUntil;
    }
}
