using System.Net;
using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.Testing;
using Microsoft.Extensions.Caching.Memory;

namespace CyberHub.Core.Tests;

/// <summary>
/// Core behind a trusted proxy on loopback, so that each test can speak from client addresses of its own
/// (<c>X-Forwarded-For</c>), with an account ceiling of 12 failures an hour so that a test can pass it.
/// </summary>
public class ThrottleCoreServer : CoreServer
{
    public const int Ceiling = 12;

    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["ForwardedHeaders:KnownProxies:0"] = "127.0.0.1",
        ["Auth:LoginThrottle:AccountCeiling"] = Ceiling.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>The same, with the throttle shared through Redis under a prefix of its own.</summary>
public sealed class RedisThrottleCoreServer : ThrottleCoreServer
{
    private readonly string _prefix = TestRedis.NewPrefix();

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>(base.ExtraSettings)
    {
        ["ConnectionStrings:redis"] = TestRedis.ConnectionString,
        ["Cache:Prefix"] = _prefix,
    };
}

/// <summary>
/// Password guessing is slowed per (account, client address) and per account, and no stranger can keep an owner out:
/// the old lockout let five anonymous wrong passwords lock any account for 15 minutes, renewable forever.
/// </summary>
public abstract class LoginThrottleTests<TServer>(TServer server) where TServer : ThrottleCoreServer
{
    private static int _addresses;

    /// <summary>A client address no other test uses (198.18.0.0/15 is set aside for tests like these).</summary>
    private static string NewAddress()
    {
        var n = Interlocked.Increment(ref _addresses);
        return $"198.19.{n / 250}.{n % 250 + 1}";
    }

    private HttpClient From(string address, string? accessToken = null)
    {
        var client = server.CreateClient(accessToken);
        client.DefaultRequestHeaders.Add("X-Forwarded-For", address);
        return client;
    }

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, Learner learner, string password) =>
        client.PostJsonAsync("/api/v1/token/", new TokenRequest(null, learner.User.Username, password));

    [Fact]
    public async Task A_strangers_failed_logins_never_keep_the_owner_out()
    {
        var owner = await server.RegisterAsync();
        using var stranger = From(NewAddress());
        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 20; i++)
        {
            answers.Add((await LoginAsync(stranger, owner, $"guess-{i}")).StatusCode);
        }
        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 5), answers.Take(5));
        Assert.All(answers.Skip(5), a => Assert.Equal(HttpStatusCode.TooManyRequests, a));

        using var home = From(NewAddress());
        await (await LoginAsync(home, owner, owner.Password)).ReadAsync<TokenPair>();
        // The stranger's address still waits, the right password included.
        await (await LoginAsync(stranger, owner, owner.Password)).DetailAsync(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task Past_the_accounts_ceiling_each_address_waits_from_its_first_failure_and_a_clean_address_still_gets_in()
    {
        var owner = await server.RegisterAsync();
        for (var i = 0; i < ThrottleCoreServer.Ceiling; i++)
        {
            using var bot = From(NewAddress());
            await (await LoginAsync(bot, owner, $"spread-{i}")).DetailAsync(HttpStatusCode.Unauthorized);
        }
        using var next = From(NewAddress());
        await (await LoginAsync(next, owner, "one-more")).DetailAsync(HttpStatusCode.Unauthorized);
        var waited = await LoginAsync(next, owner, owner.Password);
        await waited.DetailAsync(HttpStatusCode.TooManyRequests);
        Assert.InRange(waited.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

        using var home = From(NewAddress());
        await (await LoginAsync(home, owner, owner.Password)).ReadAsync<TokenPair>();
    }

    [Fact]
    public async Task Wrong_current_passwords_count_with_failed_logins_from_the_same_address()
    {
        var learner = await server.RegisterAsync();
        var address = NewAddress();
        using var anonymous = From(address);
        using var session = From(address, learner.Access);
        for (var i = 0; i < 3; i++)
        {
            await (await LoginAsync(anonymous, learner, $"wrong-{i}")).DetailAsync(HttpStatusCode.Unauthorized);
        }
        for (var i = 0; i < 2; i++)
        {
            var detail = await (await session.PostJsonAsync("/api/v1/users/me/password/", new ChangePasswordRequest($"wrong-{i}", "n3w-passphrase")))
                .DetailAsync(HttpStatusCode.BadRequest);
            Assert.Equal("current_password is not correct.", detail);
        }
        await (await session.PostJsonAsync("/api/v1/users/me/password/", new ChangePasswordRequest(learner.Password, "n3w-passphrase")))
            .DetailAsync(HttpStatusCode.TooManyRequests);
        await (await LoginAsync(anonymous, learner, learner.Password)).DetailAsync(HttpStatusCode.TooManyRequests);

        // The password was not changed, and elsewhere the owner gets in.
        using var elsewhere = From(NewAddress());
        await (await LoginAsync(elsewhere, learner, learner.Password)).ReadAsync<TokenPair>();
    }

    [Fact]
    public async Task Parallel_guesses_from_one_address_get_no_more_answers_than_the_free_failures()
    {
        var learner = await server.RegisterAsync();
        using var attacker = From(NewAddress());
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var guesses = Enumerable.Range(0, 20)
            .Select(i => Task.Run(async () => { await start.Task; return (await LoginAsync(attacker, learner, $"guess-{i}")).StatusCode; }))
            .ToList();
        start.SetResult();
        var answers = await Task.WhenAll(guesses);
        Assert.Equal(5, answers.Count(a => a == HttpStatusCode.Unauthorized));
        Assert.Equal(15, answers.Count(a => a == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task The_right_password_clears_the_addresss_failures()
    {
        var learner = await server.RegisterAsync();
        using var client = From(NewAddress());
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 4; i++)
            {
                await (await LoginAsync(client, learner, $"typo-{i}")).DetailAsync(HttpStatusCode.Unauthorized);
            }
            await (await LoginAsync(client, learner, learner.Password)).ReadAsync<TokenPair>();
        }
    }
}

public sealed class MemoryLoginThrottleTests(ThrottleCoreServer server) : LoginThrottleTests<ThrottleCoreServer>(server), IClassFixture<ThrottleCoreServer>;

public sealed class RedisLoginThrottleTests(RedisThrottleCoreServer server) : LoginThrottleTests<RedisThrottleCoreServer>(server), IClassFixture<RedisThrottleCoreServer>;

/// <summary>The delays themselves: on a manual clock in memory, and shared by every instance in Redis.</summary>
public sealed class LoginThrottleDelayTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public async Task Delays_double_after_five_failures_up_to_fifteen_minutes_and_other_addresses_are_not_held_up()
    {
        var clock = new ManualClock();
        using var memory = new MemoryCache(new MemoryCacheOptions());
        var throttle = new LoginThrottle(memory, clock, new LoginThrottleOptions { AccountCeiling = 1000 }, "");
        for (var i = 0; i < 5; i++)
        {
            Assert.Null(await throttle.AttemptAsync("user:1", "203.0.113.1"));
        }
        var expected = new[] { 30, 60, 120, 240, 480, 900, 900 };
        foreach (var seconds in expected)
        {
            Assert.Equal(TimeSpan.FromSeconds(seconds), await throttle.AttemptAsync("user:1", "203.0.113.1"));
            clock.Now += TimeSpan.FromSeconds(seconds) - TimeSpan.FromMilliseconds(1);
            Assert.Equal(TimeSpan.FromMilliseconds(1), await throttle.AttemptAsync("user:1", "203.0.113.1"));
            clock.Now += TimeSpan.FromMilliseconds(1);
            Assert.Null(await throttle.AttemptAsync("user:1", "203.0.113.1"));
            Assert.Null(await throttle.AttemptAsync("user:1", $"203.0.113.{seconds % 200 + 2}"));
        }

        await throttle.ForgiveAsync("user:1", "203.0.113.1");
        Assert.Null(await throttle.AttemptAsync("user:1", "203.0.113.1"));
    }

    [Fact]
    public async Task Two_instances_sharing_redis_hold_one_throttle_which_holds_names_and_addresses_only_hashed()
    {
        var prefix = TestRedis.NewPrefix();
        await using var redis = new RedisConnection(TestRedis.ConnectionString);
        using var memoryA = new MemoryCache(new MemoryCacheOptions());
        using var memoryB = new MemoryCache(new MemoryCacheOptions());
        var options = new LoginThrottleOptions { AccountCeiling = 1000 };
        var a = new LoginThrottle(memoryA, TimeProvider.System, options, prefix, redis);
        var b = new LoginThrottle(memoryB, TimeProvider.System, options, prefix, redis);
        for (var i = 0; i < 5; i++)
        {
            Assert.Null(await (i % 2 == 0 ? a : b).AttemptAsync("email:victim@example.com", "203.0.113.9"));
        }
        Assert.InRange(await b.AttemptAsync("email:victim@example.com", "203.0.113.9") ?? TimeSpan.Zero, TimeSpan.FromSeconds(29), TimeSpan.FromSeconds(30));
        Assert.InRange(await a.AttemptAsync("email:victim@example.com", "203.0.113.9") ?? TimeSpan.Zero, TimeSpan.FromSeconds(29), TimeSpan.FromSeconds(30));
        Assert.Null(await a.AttemptAsync("email:victim@example.com", "203.0.113.10"));

        var connection = await redis.GetAsync();
        var keys = connection.GetServers().Single().Keys(pattern: prefix + "login-throttle:*").Select(k => k.ToString()).ToList();
        Assert.NotEmpty(keys);
        Assert.DoesNotContain(keys, k => k.Contains("victim", StringComparison.Ordinal) || k.Contains("203.0", StringComparison.Ordinal));

        await b.ForgiveAsync("email:victim@example.com", "203.0.113.9");
        Assert.Null(await a.AttemptAsync("email:victim@example.com", "203.0.113.9"));
    }
}
