using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace CyberHub.Bench.Load.Soak;

/// <summary>
/// Core as production runs it, in a process of its own: <c>dotnet cyberhub.dll core</c> on a free loopback port, over
/// a fresh SQLite data directory or a fresh PostgreSQL database (both removed afterwards), with its outbox delivering
/// to <paramref name="receiver"/>. Its output goes to a log file in the data directory.
/// </summary>
public sealed class SoakCore : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly string _dataDirectory;
    private readonly string? _adminConnectionString;

    private SoakCore(Process process, StreamWriter log, string dataDirectory, int port, string? adminConnectionString, string? database)
    {
        _process = process;
        _log = log;
        _dataDirectory = dataDirectory;
        _adminConnectionString = adminConnectionString;
        Database = database;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
    }

    public Uri BaseAddress { get; }
    public int ProcessId => _process.Id;
    /// <summary>The PostgreSQL database Core uses; null on SQLite.</summary>
    public string? Database { get; }
    public string? AdminConnectionString => _adminConnectionString;
    public string LogFile => Path.Combine(_dataDirectory, "core.log");

    public static async Task<SoakCore> StartAsync(SoakOptions options, Uri receiver)
    {
        var hostDll = options.HostDll ?? DefaultHostDll();
        if (!File.Exists(hostDll))
        {
            throw new InvalidOperationException($"No host build at {hostDll}: run `dotnet build -c Release src/CyberHub.Host` first, or pass --host-dll.");
        }
        var dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-soak", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        string? database = null;
        string connectionString = "";
        if (options.Database == Load.Database.Postgres)
        {
            database = $"soak_{Guid.NewGuid():N}";
            await ExecuteAsync(options.PostgresConnectionString!, $"CREATE DATABASE {database}");
            connectionString = new NpgsqlConnectionStringBuilder(options.PostgresConnectionString) { Database = database }.ConnectionString;
        }
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet", [hostDll, "core"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dataDirectory,
            Environment =
            {
                ["CYBERHUB_DATA_DIR"] = dataDirectory,
                ["CYBERHUB_CORE_URL"] = $"http://127.0.0.1:{port}",
                ["CYBERHUB_AI_API_URL"] = receiver.ToString(),
                ["ConnectionStrings__core"] = connectionString,
                ["ConnectionStrings__redis"] = "",
                // The soak's learners all come from one address and log in over and over: production limits would
                // turn most of the journey into 429s. What is measured is Core, not its rate limiter.
                ["RateLimiting__PerUserPerMinute"] = "1000000",
                ["RateLimiting__AuthPerMinute"] = "1000000",
            },
        };
        var log = new StreamWriter(Path.Combine(dataDirectory, "core.log")) { AutoFlush = false };
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var core = new SoakCore(process, log, dataDirectory, port, options.PostgresConnectionString, database);
        try
        {
            await core.WaitReadyAsync();
            return core;
        }
        catch
        {
            await core.DisposeAsync();
            throw;
        }
    }

    private async Task WaitReadyAsync()
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Core exited during start (code {_process.ExitCode}); see {LogFile}.");
            }
            try
            {
                using var health = await http.GetAsync("/api/v1/health/");
                if (health.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"Core did not become ready within 2 minutes; see {LogFile}.");
            }
            await Task.Delay(200);
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Stops Core (SIGTERM, then SIGKILL after 20 s) and removes its data directory and database.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString()])!)
            {
                await term.WaitForExitAsync();
            }
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
        }
        lock (_log)
        {
            _log.Dispose();
        }
        _process.Dispose();
        if (Database is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(_adminConnectionString!, $"DROP DATABASE IF EXISTS {Database} WITH (FORCE)");
        }
        if (Environment.GetEnvironmentVariable("CYBERHUB_SOAK_KEEP") != "1")
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (log)
        {
            if (log.BaseStream.CanWrite)
            {
                log.WriteLine(line);
            }
        }
    }

    private static string DefaultHostDll()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CyberHub.slnx")))
            {
                return Path.Combine(directory.FullName, "src", "CyberHub.Host", "bin", "Release", "net10.0", "cyberhub.dll");
            }
        }
        throw new InvalidOperationException("No CyberHub.slnx above the bench; pass --host-dll.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
