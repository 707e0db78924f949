using CyberHub.Bench.Load.Platform;

namespace CyberHub.Bench.Load.Soak;

/// <summary>
/// Core as production runs it, in a process of its own (<see cref="ServiceProcess"/>) on a free loopback port, over
/// a fresh SQLite data directory or a fresh PostgreSQL database (both removed afterwards), with its outbox delivering
/// to <paramref name="receiver"/>. Its output goes to a log file in the data directory.
/// </summary>
public sealed class SoakCore : IAsyncDisposable
{
    private readonly ServiceProcess _process;
    private readonly string _dataDirectory;

    private SoakCore(ServiceProcess process, string dataDirectory, string? adminConnectionString, string? database)
    {
        _process = process;
        _dataDirectory = dataDirectory;
        AdminConnectionString = adminConnectionString;
        Database = database;
    }

    public Uri BaseAddress => _process.BaseAddress;
    public int ProcessId => _process.ProcessId;
    /// <summary>The PostgreSQL database Core uses; null on SQLite.</summary>
    public string? Database { get; }
    public string? AdminConnectionString { get; }
    public string LogFile => _process.LogFile;
    public bool HasExited => _process.HasExited;

    public static async Task<SoakCore> StartAsync(SoakOptions options, Uri receiver)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-soak", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        string? database = null;
        var connectionString = "";
        if (options.Database == Load.Database.Postgres)
        {
            (database, connectionString) = await ScratchDatabase.CreateAsync(options.PostgresConnectionString!, "soak");
        }
        var url = ServiceProcess.FreeLoopbackUrl();
        var environment = new Dictionary<string, string>
        {
            ["CYBERHUB_DATA_DIR"] = dataDirectory,
            ["CYBERHUB_CORE_URL"] = url.GetLeftPart(UriPartial.Authority),
            ["CYBERHUB_AI_API_URL"] = receiver.ToString(),
            ["ConnectionStrings__core"] = connectionString,
            ["ConnectionStrings__redis"] = "",
            // The soak's learners all come from one address and log in over and over: production limits would
            // turn most of the journey into 429s. What is measured is Core, not its rate limiter.
            ["RateLimiting__PerUserPerMinute"] = "1000000",
            ["RateLimiting__AuthPerMinute"] = "1000000",
        };
        try
        {
            var process = await ServiceProcess.StartAsync(options.HostDll ?? ServiceProcess.DefaultHostDll(), "core", url, dataDirectory,
                environment, Path.Combine(dataDirectory, "core.log"));
            return new SoakCore(process, dataDirectory, options.PostgresConnectionString, database);
        }
        catch
        {
            await CleanUpAsync(dataDirectory, options.PostgresConnectionString, database);
            throw;
        }
    }

    /// <summary>Stops Core and removes its data directory and database.</summary>
    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        await CleanUpAsync(_dataDirectory, AdminConnectionString, Database);
    }

    private static async Task CleanUpAsync(string dataDirectory, string? adminConnectionString, string? database)
    {
        if (database is not null)
        {
            await ScratchDatabase.DropAsync(adminConnectionString!, database);
        }
        if (Environment.GetEnvironmentVariable("CYBERHUB_SOAK_KEEP") != "1")
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
