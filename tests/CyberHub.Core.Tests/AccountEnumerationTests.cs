using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CyberHub.Contracts;
using CyberHub.Core.Users;
using CyberHub.Testing;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CyberHub.Core.Tests;

/// <summary>
/// Login and registration tell an attacker nothing about which accounts exist beyond what registration must
/// say: unknown names and wrong passwords get the same bytes, after the same password hashing, and lock out
/// alike.
/// </summary>
public abstract partial class AccountEnumerationTests<TServer>(TServer server) where TServer : HasherCountingCoreServer
{
    private readonly HttpClient _anonymous = server.CreateClient();

    protected TServer Server => server;

    private Task<HttpResponseMessage> LoginAsync(string? email, string? username, string password) =>
        _anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(email, username, password));

    private static string UnknownEmail() => $"nobody{Guid.NewGuid():N}@example.com";

    [Fact]
    public async Task Unknown_names_and_wrong_passwords_get_byte_identical_answers()
    {
        var learner = await server.RegisterAsync();
        var pairs = new (Func<Task<HttpResponseMessage>> Wrong, Func<Task<HttpResponseMessage>> Unknown)[]
        {
            (() => LoginAsync(learner.User.Email, null, "not-the-password"), () => LoginAsync(UnknownEmail(), null, "not-the-password")),
            (() => LoginAsync(null, learner.User.Username, "not-the-password"), () => LoginAsync(null, $"nobody{Guid.NewGuid():N}"[..20], "not-the-password")),
        };
        foreach (var (wrong, unknown) in pairs)
        {
            var a = await Answer.ReadAsync(await wrong());
            var b = await Answer.ReadAsync(await unknown());
            Assert.Equal(HttpStatusCode.Unauthorized, a.Status);
            Assert.Equal(a, b);
        }
    }

    [Fact]
    public async Task An_unknown_name_costs_one_password_hash_verification_with_the_configured_work_factor_as_a_wrong_password_does()
    {
        var learner = await server.RegisterAsync();
        var hasher = server.Hasher;

        hasher.Calls.Clear();
        await (await LoginAsync(learner.User.Email, null, "not-the-password")).DetailAsync(HttpStatusCode.Unauthorized);
        var wrong = Assert.Single(hasher.Calls);

        hasher.Calls.Clear();
        await (await LoginAsync(UnknownEmail(), null, "not-the-password")).DetailAsync(HttpStatusCode.Unauthorized);
        var unknown = Assert.Single(hasher.Calls);

        hasher.Calls.Clear();
        await (await LoginAsync(null, "nobody-by-that-name", "not-the-password")).DetailAsync(HttpStatusCode.Unauthorized);
        var unknownUsername = Assert.Single(hasher.Calls);

        // The same algorithm and work: the hash verified against records its PRF and iteration count.
        Assert.Equal((uint)HasherCountingCoreServer.IterationCount, Pbkdf2Parameters(wrong).Iterations);
        Assert.Equal(Pbkdf2Parameters(wrong), Pbkdf2Parameters(unknown));
        Assert.Equal(Pbkdf2Parameters(wrong), Pbkdf2Parameters(unknownUsername));
        Assert.Equal(Convert.FromBase64String(wrong).Length, Convert.FromBase64String(unknown).Length);
    }

    [Fact]
    public async Task Unknown_names_are_throttled_after_five_failures_exactly_as_accounts_are()
    {
        var learner = await server.RegisterAsync();
        var unknownEmail = UnknownEmail();
        var unknownUsername = $"ghost{Guid.NewGuid():N}"[..20];
        for (var i = 0; i < 5; i++)
        {
            var known = await Answer.ReadAsync(await LoginAsync(learner.User.Email, null, $"wrong-{i}"));
            Assert.Equal(HttpStatusCode.Unauthorized, known.Status);
            Assert.Equal(known, await Answer.ReadAsync(await LoginAsync(unknownEmail, null, $"wrong-{i}")));
            Assert.Equal(known, await Answer.ReadAsync(await LoginAsync(null, unknownUsername, $"wrong-{i}")));
        }

        // This address now waits, the right password included; for an unknown name, whatever the password.
        var locked = await Answer.ReadAsync(await LoginAsync(learner.User.Email, null, learner.Password));
        var lockedUnknown = await Answer.ReadAsync(await LoginAsync(unknownEmail, null, "any-password-at-all"));
        var lockedUsername = await Answer.ReadAsync(await LoginAsync(null, unknownUsername, "any-password-at-all"));
        Assert.Equal(HttpStatusCode.TooManyRequests, locked.Status);
        Assert.Contains("Too many failed attempts", locked.Body, StringComparison.Ordinal);
        foreach (var answer in new[] { locked, lockedUnknown, lockedUsername })
        {
            // Seconds left may differ by one between requests made a moment apart; nothing else may.
            Assert.InRange(answer.RetryAfter, 30 - 10, 30);
        }
        Assert.Equal(locked.WithoutSeconds(), lockedUnknown.WithoutSeconds());
        Assert.Equal(locked.WithoutSeconds(), lockedUsername.WithoutSeconds());

        // The wait is per name: another unknown name is not held up.
        await (await LoginAsync(UnknownEmail(), null, "not-the-password")).DetailAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Parallel_guesses_throttle_unknown_names_as_they_throttle_accounts()
    {
        var learner = await server.RegisterAsync();
        var unknownEmail = UnknownEmail();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var guesses = Enumerable.Range(0, 10).SelectMany(i => new[]
        {
            Task.Run(async () => { await start.Task; return await LoginAsync(learner.User.Email, null, $"guess-{i}"); }),
            Task.Run(async () => { await start.Task; return await LoginAsync(unknownEmail, null, $"guess-{i}"); }),
        }).ToList();
        start.SetResult();
        var answers = await Task.WhenAll(guesses);
        Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests }));

        await (await LoginAsync(learner.User.Email, null, learner.Password)).DetailAsync(HttpStatusCode.TooManyRequests);
        await (await LoginAsync(unknownEmail, null, "not-the-password")).DetailAsync(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task Registration_with_a_taken_email_says_so_and_nothing_about_the_account()
    {
        var learner = await server.RegisterAsync();
        var response = await _anonymous.PostJsonAsync("/api/v1/users/",
            new RegisterRequest(learner.User.Email.ToUpperInvariant(), $"other{Guid.NewGuid():N}"[..20], "a-fine-passphrase", "Eve", "Lurker"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal("email: a user with that email already exists.", await response.DetailAsync(HttpStatusCode.BadRequest));
        Assert.Null(response.Headers.Location);
        Assert.DoesNotContain(learner.User.Username, body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(learner.User.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), JsonNode.Parse(body)!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    /// <summary>The PRF and iteration count of an ASP.NET Core Identity v3 hash (format marker 0x01).</summary>
    private static (uint Prf, uint Iterations) Pbkdf2Parameters(string hash)
    {
        var bytes = Convert.FromBase64String(hash);
        Assert.Equal(0x01, bytes[0]);
        return (BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(1)), BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(5)));
    }

    /// <summary>What a client sees of an answer: status, the headers that carry meaning, and the body without its request id.</summary>
    private sealed partial record Answer(HttpStatusCode Status, string Body, string HeaderText)
    {
        // Differ by request or by clock, not by account.
        private static readonly HashSet<string> Varying = new(StringComparer.OrdinalIgnoreCase) { "Date", "X-Request-ID" };

        public int RetryAfter => int.Parse(RetryAfterHeader().Match(HeaderText).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

        public static async Task<Answer> ReadAsync(HttpResponseMessage response)
        {
            var body = await response.Content.ReadAsStringAsync();
            var json = JsonNode.Parse(body)!.AsObject();
            Assert.Equal(response.Headers.GetValues("X-Request-ID").Single(), json["request_id"]!.GetValue<string>());
            json.Remove("request_id");
            var headers = response.Headers.Concat(response.Content.Headers)
                .Where(h => !Varying.Contains(h.Key))
                .ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);
            var text = string.Join("\n", headers.OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase).Select(h => $"{h.Key}: {h.Value}"));
            return new Answer(response.StatusCode, json.ToJsonString(), text);
        }

        public Answer WithoutSeconds() => this with
        {
            Body = Digits().Replace(Body, "#"),
            HeaderText = Digits().Replace(HeaderText, "#"),
        };

        [GeneratedRegex("[0-9]+")]
        private static partial Regex Digits();

        [GeneratedRegex("^Retry-After: ([0-9]+)$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
        private static partial Regex RetryAfterHeader();
    }
}

/// <summary>
/// A Core whose password hasher counts its verifications and keeps the hashes it verified against, and whose
/// hasher works with a non-default iteration count, so that a dummy hash made with defaults would show.
/// </summary>
public abstract class HasherCountingCoreServer : LoopbackService, IAsyncLifetime
{
    public const int IterationCount = 31_000;

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));

    public string? ConnectionString { get; private set; }
    public string CachePrefix { get; } = TestRedis.NewPrefix();

    public CountingPasswordHasher Hasher => (CountingPasswordHasher)Services.GetRequiredService<IPasswordHasher<User>>();

    protected abstract Task<string?> CreateDatabaseAsync();
    protected virtual Task DropDatabaseAsync() => Task.CompletedTask;
    protected virtual string? Redis => null;

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["CYBERHUB_DATA_DIR"] = _dataDirectory,
            ["CYBERHUB_CORE_URL"] = "http://127.0.0.1:0",
            ["ConnectionStrings:core"] = ConnectionString = await CreateDatabaseAsync(),
            ["ConnectionStrings:redis"] = Redis,
            ["Cache:Prefix"] = CachePrefix,
            ["Outbox:Enabled"] = "false",
            ["Auth:PasswordHasher:IterationCount"] = IterationCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        await StartAsync((args, configure) => CoreApp.Build(args, builder =>
        {
            configure?.Invoke(builder);
            builder.Host.UseServiceProviderFactory(new DecoratingFactory());
        }), settings);
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        await DropDatabaseAsync();
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    public async Task<Learner> RegisterAsync()
    {
        var name = $"learner{Guid.NewGuid():N}"[..19];
        var password = $"pw-{Guid.NewGuid():N}";
        using var anonymous = CreateClient();
        var response = await anonymous.PostJsonAsync("/api/v1/users/", new RegisterRequest($"{name}@example.com", name, password, "Test", "Learner"));
        var registered = await response.ReadAsync<RegisterResponse>(HttpStatusCode.Created);
        return new Learner(registered.User, password, registered.Access, registered.Refresh, CreateClient(registered.Access));
    }

    /// <summary>Replaces the password hasher after the service has registered everything, as the container is built.</summary>
    private sealed class DecoratingFactory : IServiceProviderFactory<IServiceCollection>
    {
        public IServiceCollection CreateBuilder(IServiceCollection services)
        {
            services.AddSingleton<IPasswordHasher<User>>(sp => new CountingPasswordHasher(ActivatorUtilities.CreateInstance<PasswordHasher<User>>(sp)));
            return services;
        }

        public IServiceProvider CreateServiceProvider(IServiceCollection services) =>
            services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
    }
}

public sealed class CountingPasswordHasher(IPasswordHasher<User> inner) : IPasswordHasher<User>
{
    /// <summary>The hash of each verification, in order.</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    public string HashPassword(User user, string password) => inner.HashPassword(user, password);

    public PasswordVerificationResult VerifyHashedPassword(User user, string hashedPassword, string providedPassword)
    {
        Calls.Enqueue(hashedPassword);
        return inner.VerifyHashedPassword(user, hashedPassword, providedPassword);
    }
}

public sealed class SqliteHasherCountingCoreServer : HasherCountingCoreServer
{
    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
}

public sealed class PostgresHasherCountingCoreServer : HasherCountingCoreServer
{
    private readonly ThrowawayDatabase _database = new("core_test");

    protected override async Task<string?> CreateDatabaseAsync() => await _database.CreateAsync();

    protected override Task DropDatabaseAsync() => _database.DropAsync();
}

/// <summary>The production shape: PostgreSQL, and Redis holding the failure counts of unknown names for every instance.</summary>
public sealed class PostgresRedisHasherCountingCoreServer : HasherCountingCoreServer
{
    private readonly ThrowawayDatabase _database = new("core_test");

    protected override string? Redis => TestRedis.ConnectionString;

    protected override async Task<string?> CreateDatabaseAsync() => await _database.CreateAsync();

    protected override Task DropDatabaseAsync() => _database.DropAsync();
}

public sealed class SqliteAccountEnumerationTests(SqliteHasherCountingCoreServer server)
    : AccountEnumerationTests<SqliteHasherCountingCoreServer>(server), IClassFixture<SqliteHasherCountingCoreServer>;

public sealed class PostgresAccountEnumerationTests(PostgresHasherCountingCoreServer server)
    : AccountEnumerationTests<PostgresHasherCountingCoreServer>(server), IClassFixture<PostgresHasherCountingCoreServer>;

public sealed class PostgresRedisAccountEnumerationTests(PostgresRedisHasherCountingCoreServer server)
    : AccountEnumerationTests<PostgresRedisHasherCountingCoreServer>(server), IClassFixture<PostgresRedisHasherCountingCoreServer>
{
    [Fact]
    public async Task Another_instance_sees_the_throttle_on_an_unknown_name_which_redis_holds_only_hashed()
    {
        var unknownEmail = $"nobody{Guid.NewGuid():N}@example.com";
        using var anonymous = Server.CreateClient();
        for (var i = 0; i < 5; i++)
        {
            await (await anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(unknownEmail, null, $"wrong-{i}"))).DetailAsync(HttpStatusCode.Unauthorized);
        }

        var directory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));
        try
        {
            await using var sibling = new ConfiguredCoreServer(Server.ConnectionString, directory, new Dictionary<string, string?>
            {
                ["ConnectionStrings:redis"] = TestRedis.ConnectionString,
                ["Cache:Prefix"] = Server.CachePrefix,
            });
            await sibling.InitializeAsync();
            using var other = sibling.CreateClient();
            await (await other.PostJsonAsync("/api/v1/token/", new TokenRequest(unknownEmail, null, "any-password"))).DetailAsync(HttpStatusCode.TooManyRequests);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestRedis.ConnectionString);
        var keys = redis.GetServers().Single().Keys(pattern: Server.CachePrefix + "login-throttle:*").Select(k => k.ToString()).ToList();
        Assert.NotEmpty(keys);
        Assert.DoesNotContain(keys, k => k.Contains("nobody", StringComparison.OrdinalIgnoreCase));
    }
}
