using CyberHub.Ai;
using CyberHub.Contracts;
using CyberHub.Testing;

namespace CyberHub.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Core and AI as they run together: each on a loopback port known to the other before either starts, Core's
/// outbox delivering to AI, AI reading progress from Core. Instances can be stopped, restarted on the same
/// address, and added (a second Core or AI sharing the databases and Redis).
/// </summary>
public abstract class Platform : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "cyberhub-e2e", Guid.NewGuid().ToString("N"));
    private readonly List<CoreInstance> _cores = [];
    private readonly List<AiInstance> _ais = [];
    private readonly string _cachePrefix = TestRedis.NewPrefix();

    public CoreInstance Core => _cores[0];
    public AiInstance Ai => _ais[0];

    /// <summary>What the instances' Redis keys start with (<c>Cache:Prefix</c>), one per platform.</summary>
    public string CachePrefix => _cachePrefix;

    protected string? CoreConnectionString { get; set; }
    protected string? VectorsConnectionString { get; set; }
    protected virtual string? RedisConnectionString => null;

    /// <summary>Whether the instances keep their production rate limits (see LoopbackService.ProductionRateLimits).</summary>
    protected internal virtual bool ProductionRateLimits => false;

    /// <summary>How long after an invalidation it is repeated (see CacheInvalidator); null keeps the default.</summary>
    protected virtual string? CacheSettleDelay => null;

    protected virtual Task CreateDatabasesAsync() => Task.CompletedTask;
    protected virtual Task DropDatabasesAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        await CreateDatabasesAsync();
        var corePort = LoopbackPorts.Free();
        var aiPort = LoopbackPorts.Free();
        _cores.Add(new CoreInstance(this, corePort, aiPort));
        _ais.Add(new AiInstance(this, aiPort, corePort));
        await Core.InitializeAsync();
        await Ai.StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var ai in _ais)
        {
            await ai.StopAsync();
        }
        foreach (var core in _cores)
        {
            await core.DisposeAsync();
        }
        await DropDatabasesAsync();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    /// <summary>Another Core on the same database (and Redis), delivering its events to <paramref name="ai"/> (default: the first AI).</summary>
    public async Task<CoreInstance> AddCoreAsync(AiInstance? ai = null)
    {
        var core = new CoreInstance(this, LoopbackPorts.Free(), (ai ?? Ai).Port);
        _cores.Add(core);
        await core.InitializeAsync();
        return core;
    }

    /// <summary>Another AI on the same vector database and Redis, reading from the first Core.</summary>
    public async Task<AiInstance> AddAiAsync()
    {
        var ai = new AiInstance(this, LoopbackPorts.Free(), Core.Port);
        _ais.Add(ai);
        await ai.StartAsync();
        return ai;
    }

    internal IDictionary<string, string?> CoreSettings(int port, int aiPort) => WithCache(new Dictionary<string, string?>
    {
        ["CYBERHUB_CORE_URL"] = $"http://127.0.0.1:{port}",
        ["CYBERHUB_AI_API_URL"] = $"http://127.0.0.1:{aiPort}",
        ["Outbox:Enabled"] = "true",
        ["Outbox:PollInterval"] = "00:00:00.200",
        ["Outbox:MinBackoff"] = "00:00:00.200",
        ["Outbox:MaxBackoff"] = "00:00:01",
    });

    internal IDictionary<string, string?> AiSettings(int port, int corePort) => WithCache(new Dictionary<string, string?>
    {
        ["CYBERHUB_DATA_DIR"] = AiDataDirectory,
        ["CYBERHUB_AI_URL"] = $"http://127.0.0.1:{port}",
        ["CYBERHUB_CORE_API_URL"] = $"http://127.0.0.1:{corePort}",
        ["ConnectionStrings:vectors"] = VectorsConnectionString,
    });

    internal string CoreDataDirectory => Path.Combine(_root, "core");
    internal string AiDataDirectory => Path.Combine(_root, "ai");
    internal string? CoreDatabase => CoreConnectionString;

    private IDictionary<string, string?> WithCache(Dictionary<string, string?> settings)
    {
        settings["ConnectionStrings:redis"] = RedisConnectionString;
        settings["Cache:Prefix"] = _cachePrefix;
        if (CacheSettleDelay is not null)
        {
            settings["Cache:SettleDelay"] = CacheSettleDelay;
        }
        return settings;
    }

    /// <summary>An AI client carrying <paramref name="accessToken"/> (a Core token: AI verifies it with Core's keys).</summary>
    public HttpClient AiClient(string accessToken) => Ai.CreateClient(accessToken);

    public async Task<HttpClient> AdminAiClientAsync(AiInstance? ai = null)
    {
        using var admin = await Core.AdminClientAsync();
        return (ai ?? Ai).CreateClient(admin.DefaultRequestHeaders.Authorization!.Parameter);
    }

    /// <summary>Polls <paramref name="condition"/> until it holds, for at most <paramref name="seconds"/>.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out after {seconds} s waiting until {what}.");
            await Task.Delay(100);
        }
    }
}

/// <summary>A Core instance of the platform: a CoreServer on a fixed port that shares the platform's database.</summary>
public sealed class CoreInstance(Platform platform, int port, int aiPort) : CoreServer
{
    public int Port => port;
    protected override string DataDirectory => platform.CoreDataDirectory;
    protected override bool OwnsDataDirectory => false;
    protected override IDictionary<string, string?> ExtraSettings => platform.CoreSettings(port, aiPort);
    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult(platform.CoreDatabase);
    protected override bool ProductionRateLimits => platform.ProductionRateLimits;

    public new Task StopAsync() => base.StopAsync();
    public Task RestartAsync() => InitializeAsync();
}

public sealed class AiInstance(Platform platform, int port, int corePort) : LoopbackService
{
    public int Port => port;
    protected override bool ProductionRateLimits => platform.ProductionRateLimits;
    public Task StartAsync() => StartAsync(AiApp.Build, platform.AiSettings(port, corePort));
    public new Task StopAsync() => base.StopAsync();
}

/// <summary>The single-machine defaults: SQLite, the embedded vector store, process-memory caches.</summary>
public sealed class EmbeddedPlatform : Platform;

/// <summary>
/// Embedded defaults whose caches are invalidated once per change: for tests that need to know exactly what
/// is cached when, without the repeat a few seconds after each change.
/// </summary>
public sealed class SingleInvalidationPlatform : Platform
{
    protected override string? CacheSettleDelay => "00:00:00";
}

/// <summary>The production shape: PostgreSQL for Core, PostgreSQL + pgvector for AI, Redis under both caches.</summary>
public sealed class PostgresPlatform : Platform
{
    private readonly ThrowawayDatabase _core = new("e2e_core");
    private readonly ThrowawayDatabase _vectors = new("e2e_vectors");

    protected override string? RedisConnectionString => TestRedis.ConnectionString;

    protected override async Task CreateDatabasesAsync()
    {
        CoreConnectionString = await _core.CreateAsync();
        VectorsConnectionString = await _vectors.CreateAsync();
    }

    protected override async Task DropDatabasesAsync()
    {
        await _core.DropAsync();
        await _vectors.DropAsync();
    }
}

/// <summary>Both services configured with a Redis that is down: they must serve from process memory.</summary>
public sealed class RedisDownPlatform : Platform
{
    private readonly string _redis = TestRedis.Unreachable;
    protected override string? RedisConnectionString => _redis;
}
