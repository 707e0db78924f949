using System.Diagnostics;
using System.Net;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.ServiceDefaults.RateLimiting;
using CyberHub.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberHub.Core.Tests;

/// <summary>
/// Core with its production rate limits, behind a trusted proxy on loopback: each test sends as client addresses of its
/// own (<c>X-Forwarded-For</c>), so tests sharing the server do not share limits.
/// </summary>
public class RateLimitedCoreServer : CoreServer
{
    protected override bool ProductionRateLimits => true;
    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["ForwardedHeaders:KnownProxies:0"] = "127.0.0.1",
    };
}

/// <summary>The same, counting in Redis under a prefix of its own.</summary>
public sealed class RedisRateLimitedCoreServer : RateLimitedCoreServer
{
    private readonly string _prefix = TestRedis.NewPrefix();

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>(base.ExtraSettings)
    {
        ["ConnectionStrings:redis"] = TestRedis.ConnectionString,
        ["Cache:Prefix"] = _prefix,
    };
}

public abstract class RateLimitingTests<TServer>(TServer server, string store) where TServer : RateLimitedCoreServer
{
    private static readonly TimeSpan AuthInterval = TimeSpan.FromMinutes(1) / 90;
    private static readonly TimeSpan UserInterval = TimeSpan.FromMilliseconds(600);
    private static int _addresses;

    /// <summary>A client address no other test uses (198.18.0.0/15 is set aside for tests like these).</summary>
    private static string NewAddress()
    {
        var n = Interlocked.Increment(ref _addresses);
        return $"198.18.{n / 250}.{n % 250 + 1}";
    }

    private HttpClient From(string address, string? accessToken = null)
    {
        var client = server.CreateClient(accessToken);
        client.DefaultRequestHeaders.Add("X-Forwarded-For", address);
        return client;
    }

    private async Task<HttpClient> RegisterAsync(string address)
    {
        using var anonymous = From(address);
        var name = $"rl{Guid.NewGuid():N}"[..20];
        var registered = await (await anonymous.PostJsonAsync("/api/v1/users/",
            new RegisterRequest($"{name}@example.com", name, $"pw-{Guid.NewGuid():N}", "Rate", "Limited"))).ReadAsync<RegisterResponse>(HttpStatusCode.Created);
        return From(address, registered.Access);
    }

    [Fact]
    public async Task Login_registration_refresh_service_tokens_and_password_changes_share_ninety_a_minute_per_address()
    {
        using var client = From(NewAddress());
        (string Url, object Body)[] routes =
        [
            ("/api/v1/token/", new { }),
            ("/api/v1/users/", new { }),
            ("/api/v1/token/refresh/", new { refresh = "not-a-refresh-token" }),
            ("/api/v1/token/service/", new { }),
            ("/api/v1/users/me/password/", new { }),
        ];

        // Round the five routes: were each counted alone, 450 requests would pass before the first 429.
        var limited = await RateLimits.SendUntilLimitedAsync(n => client.PostJsonAsync(routes[n % routes.Length].Url, routes[n % routes.Length].Body),
            limit: 90, AuthInterval);
        var detail = await limited.DetailAsync(HttpStatusCode.TooManyRequests);
        Assert.Matches(@"^Too many requests: try again in \d s\.$", detail);
        // One permit back every 0.67 s, said in whole seconds.
        Assert.Equal(TimeSpan.FromSeconds(1), limited.Headers.RetryAfter?.Delta);
        Assert.Equal("no-store", limited.Headers.CacheControl?.ToString());

        using var elsewhere = From(NewAddress());
        await (await elsewhere.PostJsonAsync("/api/v1/token/", new { })).DetailAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_classroom_of_thirty_behind_one_address_registers_and_logs_in_within_a_minute()
    {
        // One NAT address, the production limits: every learner registers, then every learner logs in.
        using var classroom = From(NewAddress());
        var learners = new List<RegisterRequest>();
        for (var i = 0; i < 30; i++)
        {
            var name = $"class{Guid.NewGuid():N}"[..20];
            var request = new RegisterRequest($"{name}@example.com", name, $"pw-{Guid.NewGuid():N}", "Class", "Room");
            await (await classroom.PostJsonAsync("/api/v1/users/", request)).ReadAsync<RegisterResponse>(HttpStatusCode.Created);
            learners.Add(request);
        }
        foreach (var learner in learners)
        {
            await (await classroom.PostJsonAsync("/api/v1/token/", new TokenRequest(null, learner.Username, learner.Password))).ReadAsync<TokenPair>();
        }
    }

    [Fact]
    public async Task Each_learner_has_a_hundred_requests_a_minute_apart_from_other_learners_and_anonymous_callers()
    {
        var address = NewAddress();
        using var learner = await RegisterAsync(address);
        using var other = await RegisterAsync(address);
        using var recorder = new TelemetryRecorder();
        var trace = ActivityTraceId.CreateRandom();
        HttpResponseMessage limited;
        using (new Activity("rate-limit-test").SetParentId(trace, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded).Start())
        {
            limited = await RateLimits.SendUntilLimitedAsync(_ => learner.GetAsync("/api/v1/users/me/"), limit: 100, UserInterval);
        }
        await limited.DetailAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal(TimeSpan.FromSeconds(1), limited.Headers.RetryAfter?.Delta);

        await (await other.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
        using var anonymous = From(address);
        await (await anonymous.GetAsync("/api/v1/users/me/")).DetailAsync(HttpStatusCode.Unauthorized);

        var decisions = recorder.Measured(trace, "cyberhub.rate_limit.decisions");
        Assert.All(decisions, d =>
        {
            Assert.Equal("general", d.Tags["policy"]);
            Assert.Equal(store, d.Tags["store"]);
        });
        Assert.Single(decisions, d => (string?)d.Tags["result"] == "rejected");
        Assert.InRange(decisions.Count(d => (string?)d.Tags["result"] == "allowed"), 100, 200);
    }

    [Fact]
    public async Task Health_metrics_jwks_and_api_documents_are_never_limited()
    {
        using var client = From(NewAddress());
        await RateLimits.SendUntilLimitedAsync(_ => client.GetAsync("/api/v1/progress/"), limit: 100, UserInterval);

        // Were these counted, the exhausted address would get a permit back only every 0.6 s.
        string[] exempt = ["/api/v1/health/", "/api/v1/health/live", "/.well-known/jwks.json", "/metrics", "/openapi/v1.json"];
        for (var round = 0; round < 10; round++)
        {
            foreach (var url in exempt)
            {
                using var response = await client.GetAsync(url);
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode}");
            }
        }
    }

    [Fact]
    public async Task An_ipv6_client_is_limited_by_its_64_bit_prefix()
    {
        var prefix = $"2001:db8:{Interlocked.Increment(ref _addresses):x}";
        using var first = From($"{prefix}:1::1");
        using var second = From($"{prefix}:1::2");
        await RateLimits.SendUntilLimitedAsync(n => (n % 2 == 0 ? first : second).PostJsonAsync("/api/v1/token/", new { }), limit: 90, AuthInterval);

        using var neighbour = From($"{prefix}:2::1");
        await (await neighbour.PostJsonAsync("/api/v1/token/", new { })).DetailAsync(HttpStatusCode.BadRequest);
    }
}

public sealed class MemoryRateLimitingTests(RateLimitedCoreServer server)
    : RateLimitingTests<RateLimitedCoreServer>(server, MemoryRateLimitStore.Name), IClassFixture<RateLimitedCoreServer>;

public sealed class RedisRateLimitingTests(RedisRateLimitedCoreServer server)
    : RateLimitingTests<RedisRateLimitedCoreServer>(server, RedisRateLimitStore.Name), IClassFixture<RedisRateLimitedCoreServer>;

/// <summary>Settings that change whose requests count together, each on a Core of its own.</summary>
public sealed class RateLimitingSettingsTests
{
    private sealed class Server(Dictionary<string, string?> settings) : CoreServer
    {
        protected override bool ProductionRateLimits => true;
        protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
        protected override IDictionary<string, string?> ExtraSettings => settings;
    }

    private static async Task WithServerAsync(Dictionary<string, string?> settings, Func<CoreServer, Task> test)
    {
        var server = new Server(settings);
        await server.InitializeAsync();
        try
        {
            await test(server);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public Task Without_a_trusted_proxy_x_forwarded_for_is_ignored() => WithServerAsync(new(), async server =>
    {
        using var first = server.CreateClient();
        first.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.10");
        using var second = server.CreateClient();
        second.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.11");

        // Both are 127.0.0.1: had the header been believed, each would have had ninety.
        await RateLimits.SendUntilLimitedAsync(n => (n % 2 == 0 ? first : second).PostJsonAsync("/api/v1/token/", new { }),
            limit: 90, TimeSpan.FromSeconds(60.0 / 90));
    });

    [Fact]
    public Task Rate_limits_can_be_turned_off() => WithServerAsync(new() { ["RateLimiting:Enabled"] = "false" }, async server =>
    {
        using var client = server.CreateClient();
        for (var i = 0; i < 30; i++)
        {
            await (await client.PostJsonAsync("/api/v1/token/", new { })).DetailAsync(HttpStatusCode.BadRequest);
        }
    });

    [Fact]
    public Task The_limits_are_configurable() => WithServerAsync(new() { ["RateLimiting:AuthPerMinute"] = "3" }, async server =>
    {
        using var client = server.CreateClient();
        var limited = await RateLimits.SendUntilLimitedAsync(_ => client.PostJsonAsync("/api/v1/token/", new { }), limit: 3, TimeSpan.FromSeconds(20));
        Assert.InRange(limited.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20));
    });
}

/// <summary>The counting itself: deterministic on a manual clock in memory, and shared and atomic in Redis.</summary>
public sealed class RateLimitStoreTests
{
    private static readonly RateLimitRule TenAMinute = RateLimitRule.PerMinute("test", 10);

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static RedisRateLimitStore RedisStore(RedisConnection connection, string prefix, ILogger<RedisRateLimitStore>? logger = null) =>
        new(connection, prefix, new MemoryRateLimitStore(TimeProvider.System), TimeProvider.System, logger ?? NullLogger<RedisRateLimitStore>.Instance);

    [Fact]
    public void The_limit_is_allowed_at_once_then_one_request_per_interval()
    {
        var clock = new ManualClock();
        var store = new MemoryRateLimitStore(clock);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(store.Acquire(TenAMinute, "a").Allowed, $"request {i + 1}");
        }
        var refused = store.Acquire(TenAMinute, "a");
        Assert.False(refused.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(6), refused.RetryAfter);
        Assert.Equal(MemoryRateLimitStore.Name, refused.Store);

        clock.Now += TimeSpan.FromSeconds(5.999);
        Assert.Equal(TimeSpan.FromMilliseconds(1), store.Acquire(TenAMinute, "a").RetryAfter);
        clock.Now += TimeSpan.FromMilliseconds(1);
        Assert.True(store.Acquire(TenAMinute, "a").Allowed);
        Assert.False(store.Acquire(TenAMinute, "a").Allowed);

        // A quiet minute gives the whole burst back, and no more.
        clock.Now += TimeSpan.FromMinutes(5);
        Assert.Equal(10, Enumerable.Range(0, 20).Count(_ => store.Acquire(TenAMinute, "a").Allowed));
    }

    [Fact]
    public void Partitions_and_rules_are_counted_apart_and_forgotten_once_their_permits_are_back()
    {
        var clock = new ManualClock();
        var store = new MemoryRateLimitStore(clock);
        var other = RateLimitRule.PerMinute("other", 10);
        Assert.Equal(10, Enumerable.Range(0, 15).Count(_ => store.Acquire(TenAMinute, "a").Allowed));
        Assert.True(store.Acquire(TenAMinute, "b").Allowed);
        Assert.True(store.Acquire(other, "a").Allowed);
        Assert.Equal(3, store.Count);

        clock.Now += TimeSpan.FromMinutes(2);
        Assert.True(store.Acquire(TenAMinute, "c").Allowed);
        Assert.Equal(1, store.Count);
    }

    [Fact]
    public async Task Concurrent_requests_never_take_more_than_the_limit()
    {
        var rule = new RateLimitRule("burst", 20, TimeSpan.FromHours(1));
        var memory = new MemoryRateLimitStore(TimeProvider.System);
        var inMemory = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(() => memory.Acquire(rule, "a"))));
        Assert.Equal(20, inMemory.Count(d => d.Allowed));

        var prefix = TestRedis.NewPrefix();
        await using var one = new RedisConnection(TestRedis.ConnectionString);
        await using var two = new RedisConnection(TestRedis.ConnectionString);
        RedisRateLimitStore[] instances = [RedisStore(one, prefix), RedisStore(two, prefix)];
        var inRedis = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => instances[i % 2].AcquireAsync(rule, "a").AsTask()));
        Assert.All(inRedis, d => Assert.Equal(RedisRateLimitStore.Name, d.Store));
        Assert.Equal(20, inRedis.Count(d => d.Allowed));
    }

    [Fact]
    public async Task Redis_holds_one_limit_for_every_instance_under_the_cache_prefix()
    {
        var rule = new RateLimitRule("test", 6, TimeSpan.FromHours(1));
        var prefix = TestRedis.NewPrefix();
        await using var one = new RedisConnection(TestRedis.ConnectionString);
        await using var two = new RedisConnection(TestRedis.ConnectionString);
        var first = RedisStore(one, prefix);
        var second = RedisStore(two, prefix);
        for (var i = 0; i < 6; i++)
        {
            Assert.True((await (i % 2 == 0 ? first : second).AcquireAsync(rule, "ip:192.0.2.1")).Allowed, $"request {i + 1}");
        }
        var refused = await first.AcquireAsync(rule, "ip:192.0.2.1");
        Assert.False(refused.Allowed);
        Assert.InRange(refused.RetryAfter, TimeSpan.FromMinutes(9.5), TimeSpan.FromMinutes(10));
        Assert.False((await second.AcquireAsync(rule, "ip:192.0.2.1")).Allowed);

        Assert.True((await first.AcquireAsync(rule, "ip:192.0.2.2")).Allowed);
        Assert.True((await RedisStore(one, TestRedis.NewPrefix()).AcquireAsync(rule, "ip:192.0.2.1")).Allowed);

        // The key expires when its permits are all back: an hour after six in a row.
        var ttl = await (await one.GetAsync()).GetDatabase().KeyTimeToLiveAsync($"{prefix}ratelimit:test:ip:192.0.2.1");
        Assert.InRange(ttl ?? TimeSpan.Zero, TimeSpan.FromMinutes(55), TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task With_redis_unreachable_limits_are_counted_in_process_and_the_change_is_logged_once()
    {
        var logs = new CapturedLogs();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var down = new RedisConnection(TestRedis.Unreachable);
        var store = RedisStore(down, TestRedis.NewPrefix(), loggers.CreateLogger<RedisRateLimitStore>());
        var rule = new RateLimitRule("test", 2, TimeSpan.FromHours(1));

        var decisions = new List<RateLimitDecision>();
        for (var i = 0; i < 3; i++)
        {
            decisions.Add(await store.AcquireAsync(rule, "a"));
        }
        Assert.Equal(new[] { true, true, false }, decisions.Select(d => d.Allowed));
        Assert.All(decisions, d => Assert.Equal(MemoryRateLimitStore.Name, d.Store));
        Assert.True(store.FallingBack);
        var warning = Assert.Single(logs.Entries, e => e.EventName == "RateLimitsPerProcess");
        Assert.Equal(LogLevel.Warning, warning.Level);
    }
}
