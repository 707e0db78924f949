using System.Security.Cryptography;
using System.Text;
using CyberHub.ServiceDefaults.Caching;
using Microsoft.Extensions.Caching.Memory;
using StackExchange.Redis;

namespace CyberHub.Core.Auth;

/// <summary>The <c>Auth:LoginThrottle</c> section.</summary>
public sealed class LoginThrottleOptions
{
    public const string Section = "Auth:LoginThrottle";

    /// <summary>Failed attempts on one account from one client address before that address has to wait.</summary>
    public int FreeFailures { get; set; } = DefaultFreeFailures;

    public const int DefaultFreeFailures = 5;

    /// <summary>The first wait; it doubles with each further failure from the address.</summary>
    public TimeSpan FirstDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest wait.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Failed attempts on one account from all addresses within <see cref="CeilingWindow"/> past which every address
    /// gets one free failure instead of <see cref="FreeFailures"/>: guessing spread over many addresses is slowed too.
    /// </summary>
    public int AccountCeiling { get; set; } = 50;

    public TimeSpan CeilingWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long an address's failures on an account are remembered after its last one.</summary>
    public TimeSpan Memory { get; set; } = TimeSpan.FromDays(1);

    public void Validate()
    {
        if (FreeFailures < 1 || AccountCeiling < 1 || FirstDelay <= TimeSpan.Zero || MaxDelay < FirstDelay
            || CeilingWindow <= TimeSpan.Zero || Memory < MaxDelay)
        {
            throw new InvalidOperationException(
                "Auth:LoginThrottle: FreeFailures and AccountCeiling must be at least 1, FirstDelay and CeilingWindow positive, "
                + "MaxDelay at least FirstDelay and Memory at least MaxDelay.");
        }
    }

    /// <summary>How long an address with <paramref name="failures"/> failures waits after its last one.</summary>
    public TimeSpan Delay(long failures, bool pastCeiling)
    {
        var free = pastCeiling ? 1 : FreeFailures;
        if (failures < free)
        {
            return TimeSpan.Zero;
        }
        var doublings = Math.Min(failures - free, 40);
        var delay = FirstDelay.TotalMilliseconds * Math.Pow(2, doublings);
        return delay >= MaxDelay.TotalMilliseconds ? MaxDelay : TimeSpan.FromMilliseconds(delay);
    }
}

/// <summary>
/// Password guessing, slowed where it comes from: every attempt at an account's password (a login, or the current
/// password of a password change) is counted against the pair (account, client address) before the password is
/// checked, and forgiven when it was right. After <see cref="LoginThrottleOptions.FreeFailures"/> failures the
/// address waits, twice as long after each further failure; other addresses, the owner's among them, are not
/// held up. Failures on one account from all addresses are counted too: past
/// <see cref="LoginThrottleOptions.AccountCeiling"/> an hour, each address waits from its first failure on. Nothing
/// any stranger does stops the right password from an address that has not failed.
/// </summary>
/// <remarks>
/// Accounts are named by id and names that belong to no account by the name given, so an unknown name is throttled
/// exactly like an account. Shared through Redis when it is configured (on Redis' clock, one script per decision,
/// so parallel guesses are all counted), otherwise in process memory; if Redis is unreachable, in process memory
/// too. Names and addresses are stored only as hashes.
/// </remarks>
public sealed class LoginThrottle(IMemoryCache memory, TimeProvider clock, LoginThrottleOptions options, string prefix, RedisConnection? redis = null)
{
    private static readonly Lock Gate = new();

    // KEYS[1] the (account, address) pair, a hash of f (failures) and t (last one, ms); KEYS[2] the account's count.
    // ARGV: free failures, first delay, max delay, ceiling, ceiling window, memory (ms). Returns 0 or the ms to wait.
    private const string AttemptScript = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local f = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
        local t = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
        local c = tonumber(redis.call('GET', KEYS[2]) or '0')
        local free = tonumber(ARGV[1])
        if c >= tonumber(ARGV[4]) then free = 1 end
        local delay = 0
        if f >= free then delay = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ math.min(f - free, 40)) end
        if now < t + delay then return math.ceil(t + delay - now) end
        redis.call('HSET', KEYS[1], 'f', f + 1, 't', now)
        redis.call('PEXPIRE', KEYS[1], ARGV[6])
        if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[5]) end
        return 0
        """;

    private const string ForgiveScript = """
        redis.call('DEL', KEYS[1])
        if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
        return 0
        """;

    public LoginThrottleOptions Options => options;

    /// <summary>
    /// Counts an attempt on <paramref name="account"/> from <paramref name="address"/> as a failure, unless the address
    /// has to wait first: then nothing is counted and the answer is how long. Call <see cref="ForgiveAsync"/> when the
    /// password was right.
    /// </summary>
    public async Task<TimeSpan?> AttemptAsync(string account, string address)
    {
        var (pair, total) = Keys(account, address);
        if (await RedisAsync() is { } db)
        {
            try
            {
                var wait = (long)await db.ScriptEvaluateAsync(AttemptScript, [pair, total],
                [
                    options.FreeFailures, Ms(options.FirstDelay), Ms(options.MaxDelay), options.AccountCeiling,
                    Ms(options.CeilingWindow), Ms(options.Memory),
                ]);
                return wait > 0 ? TimeSpan.FromMilliseconds(wait) : null;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Fall through to process memory.
            }
        }
        var now = clock.GetUtcNow().UtcDateTime;
        lock (Gate)
        {
            var failures = memory.GetOrCreate(pair, entry =>
            {
                entry.SlidingExpiration = options.Memory;
                entry.Size = 1;
                return new PairTally();
            })!;
            var count = memory.GetOrCreate(total, entry =>
            {
                entry.AbsoluteExpirationRelativeToNow = options.CeilingWindow;
                entry.Size = 1;
                return new AccountTally();
            })!;
            var readyAt = failures.Last + options.Delay(failures.Failures, count.Failures >= options.AccountCeiling);
            if (now < readyAt)
            {
                return readyAt - now;
            }
            failures.Failures++;
            failures.Last = now;
            count.Failures++;
            return null;
        }
    }

    /// <summary>The attempt was right: the address starts afresh on this account.</summary>
    public async Task ForgiveAsync(string account, string address)
    {
        var (pair, total) = Keys(account, address);
        if (await RedisAsync() is { } db)
        {
            try
            {
                await db.ScriptEvaluateAsync(ForgiveScript, [pair, total]);
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Fall through to process memory.
            }
        }
        lock (Gate)
        {
            memory.Remove(pair);
            if (memory.Get<AccountTally>(total) is { Failures: > 0 } count)
            {
                count.Failures--;
            }
        }
    }

    private static long Ms(TimeSpan span) => (long)span.TotalMilliseconds;

    private (string Pair, string Account) Keys(string account, string address)
    {
        var accountHash = Hash(account);
        return ($"{prefix}login-throttle:{accountHash}:{Hash(address)}", $"{prefix}login-throttle:{accountHash}");
    }

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..32];

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

    private sealed class PairTally
    {
        public long Failures;
        public DateTime Last;
    }

    private sealed class AccountTally
    {
        public long Failures;
    }
}
