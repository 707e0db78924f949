using System.Diagnostics;

namespace CyberHub.Bench.Load.Platform;

/// <summary>
/// The platform under test, as production runs it: Core and AI each a process of the built host program on a free
/// loopback port, over a fresh data directory and, as chosen, fresh PostgreSQL databases (Core's, the vectors') and
/// Redis behind the caches (with pgvector). Catalogs go in with the host's own <c>cyberhub import</c> while AI is
/// stopped, since the embedded store reads its file at start. Everything is removed at the end.
/// </summary>
public sealed class PlatformRun : IAsyncDisposable
{
    public const string AdminEmail = "bench-admin@bench.example";

    private readonly PlatformOptions _options;
    private readonly Dictionary<string, string> _environment;
    private readonly List<string> _databases = [];
    private int _aiStarts;

    private PlatformRun(PlatformOptions options, VectorStore store, string runId)
    {
        _options = options;
        Store = store;
        RunId = runId;
        DataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-platform-bench", runId);
        Directory.CreateDirectory(DataDirectory);
        CoreUrl = ServiceProcess.FreeLoopbackUrl();
        AiUrl = ServiceProcess.FreeLoopbackUrl();
        AdminPassword = $"pw-{Guid.NewGuid():N}";
        _environment = new Dictionary<string, string>
        {
            ["CYBERHUB_DATA_DIR"] = DataDirectory,
            ["CYBERHUB_CORE_URL"] = CoreUrl.GetLeftPart(UriPartial.Authority),
            ["CYBERHUB_AI_URL"] = AiUrl.GetLeftPart(UriPartial.Authority),
            ["CYBERHUB_CORE_API_URL"] = CoreUrl.GetLeftPart(UriPartial.Authority),
            ["CYBERHUB_AI_API_URL"] = AiUrl.GetLeftPart(UriPartial.Authority),
            ["CYBERHUB_SEED_DEMO_CATALOG"] = "false",
            ["CYBERHUB_ADMIN_EMAIL"] = AdminEmail,
            ["CYBERHUB_ADMIN_PASSWORD"] = AdminPassword,
            // Registration and login are not what is measured here; production's 100,000 would make set-up slow.
            ["Auth__PasswordHasher__IterationCount"] = "1000",
            // One load generator is one client address sending far more than a person would.
            ["RateLimiting__Enabled"] = "false",
            ["ConnectionStrings__core"] = "",
            ["ConnectionStrings__vectors"] = "",
            ["ConnectionStrings__redis"] = store == VectorStore.PgVector ? options.Redis : "",
        };
        foreach (var (name, value) in options.ServiceEnvironment)
        {
            _environment[name] = value;
        }
    }

    public VectorStore Store { get; }
    public string RunId { get; }
    public string DataDirectory { get; }
    public Uri CoreUrl { get; }
    public Uri AiUrl { get; }
    public string AdminPassword { get; }
    public ServiceProcess? Core { get; private set; }
    public ServiceProcess? Ai { get; private set; }
    /// <summary>What all this run's PostgreSQL database names contain (for CPU and memory of their server processes); null without PostgreSQL.</summary>
    public string? PostgresDatabases => _databases.Count > 0 ? $"pbench{RunId}" : null;

    public string Description =>
        $"Core on {(_options.Database == Database.Postgres ? "PostgreSQL" : "SQLite")}, AI on the " +
        (Store == VectorStore.PgVector ? "pgvector store, Redis behind both services' caches" : "embedded store, caches in process memory") +
        (_options.ServiceEnvironment.Count > 0 ? $" (with {string.Join(", ", _options.ServiceEnvironment.Select(e => $"{e.Key}={e.Value}"))})" : "");

    public IReadOnlyList<WatchedProcess> Processes =>
        [new("Core", Core!.ProcessId), new("AI", Ai!.ProcessId)];

    public static async Task<PlatformRun> CreateAsync(PlatformOptions options, VectorStore store)
    {
        var run = new PlatformRun(options, store, Guid.NewGuid().ToString("N")[..10]);
        try
        {
            if (options.Database == Database.Postgres)
            {
                run._environment["ConnectionStrings__core"] = await run.CreateDatabaseAsync("core");
            }
            if (store == VectorStore.PgVector)
            {
                run._environment["ConnectionStrings__vectors"] = await run.CreateDatabaseAsync("vectors");
            }
            return run;
        }
        catch
        {
            await run.DisposeAsync();
            throw;
        }
    }

    private async Task<string> CreateDatabaseAsync(string purpose)
    {
        var (name, connectionString) = await ScratchDatabase.CreateAsync(_options.PostgresConnectionString!, $"pbench{RunId}{purpose}");
        _databases.Add(name);
        return connectionString;
    }

    public async Task StartCoreAsync() =>
        Core = await ServiceProcess.StartAsync(_options.HostDll, "core", CoreUrl, DataDirectory,
            With("Cache__Prefix", $"bench-{RunId}-core:"), Path.Combine(DataDirectory, "core.log"));

    /// <summary>Starts AI with a cache prefix of its own, so nothing cached before a catalog change is found again.</summary>
    public async Task StartAiAsync() =>
        Ai = await ServiceProcess.StartAsync(_options.HostDll, "ai", AiUrl, DataDirectory,
            With("Cache__Prefix", $"bench-{RunId}-ai{++_aiStarts}:"), Path.Combine(DataDirectory, "ai.log"));

    public async Task StopAiAsync()
    {
        if (Ai is not null)
        {
            await Ai.DisposeAsync();
            Ai = null;
        }
    }

    /// <summary>Writes items [from, to) as a catalog file and imports it with <c>cyberhub import</c>; returns the time it took.</summary>
    public async Task<TimeSpan> ImportAsync(CatalogGenerator catalog, int from, int to)
    {
        var file = Path.Combine(DataDirectory, $"catalog-{from}-{to}.json");
        catalog.WriteJson(file, from, to);
        var clock = Stopwatch.StartNew();
        await ServiceProcess.RunAsync(_options.HostDll, ["import", file], DataDirectory, _environment, Path.Combine(DataDirectory, "import.log"));
        clock.Stop();
        File.Delete(file);
        return clock.Elapsed;
    }

    private Dictionary<string, string> With(string name, string value) => new(_environment) { [name] = value };

    public async ValueTask DisposeAsync()
    {
        await StopAiAsync();
        if (Core is not null)
        {
            await Core.DisposeAsync();
        }
        foreach (var database in _databases)
        {
            await ScratchDatabase.DropAsync(_options.PostgresConnectionString!, database);
        }
        if (Environment.GetEnvironmentVariable("CYBERHUB_BENCH_KEEP") == "1")
        {
            Console.Error.WriteLine($"Kept {DataDirectory} (CYBERHUB_BENCH_KEEP=1).");
        }
        else if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }
}
