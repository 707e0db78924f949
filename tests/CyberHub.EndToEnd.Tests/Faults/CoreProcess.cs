using System.Diagnostics;
using System.Net.Http.Headers;
using CyberHub.Testing;

namespace CyberHub.EndToEnd.Tests.Faults;

/// <summary>
/// Core as it runs in production: <c>dotnet cyberhub.dll core</c>, the built host, a child process of the test on a
/// fixed loopback port. It can be killed with SIGKILL mid-request and started again on the same port, data directory
/// (SQLite file, signing key) and database, so that tokens issued before the crash still verify after it.
/// </summary>
public sealed class CoreProcess(string? postgresConnectionString, Uri aiUrl, IDictionary<string, string>? settings = null) : IAsyncDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-faults", $"core-{Guid.NewGuid():N}"[..17]);
    private readonly OutputTail _output = new(200);
    private Process? _process;

    public int Port { get; } = LoopbackPorts.Free();
    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");
    public string DataDirectory => _dataDirectory;
    public int Starts { get; private set; }

    /// <summary>Starts the process and waits until its readiness check answers 200.</summary>
    public async Task StartAsync()
    {
        var dll = await HostBuild.EnsureAsync();
        Directory.CreateDirectory(_dataDirectory);
        var environment = new Dictionary<string, string>
        {
            ["CYBERHUB_DATA_DIR"] = _dataDirectory,
            ["CYBERHUB_CORE_URL"] = BaseAddress.ToString().TrimEnd('/'),
            ["CYBERHUB_AI_API_URL"] = aiUrl.ToString(),
            ["ConnectionStrings__core"] = postgresConnectionString ?? "",
            ["ConnectionStrings__redis"] = "",
            ["Outbox__Enabled"] = "true",
            ["Outbox__PollInterval"] = "00:00:00.200",
            ["Outbox__MinBackoff"] = "00:00:00.200",
            ["Outbox__MaxBackoff"] = "00:00:01",
            // Events the killed process had claimed wait out its lease before the next process delivers them.
            ["Outbox__LeaseDuration"] = "00:00:04",
            // One test client registers and writes for many learners from one address.
            ["RateLimiting__PerUserPerMinute"] = "1000000",
            ["RateLimiting__AuthPerMinute"] = "1000000",
            // Each request's log line would drown what the test wants to see when it fails.
            ["Logging__LogLevel__CyberHub.ServiceDefaults.Observability.RequestLoggingMiddleware"] = "Warning",
            ["Logging__Console__FormatterName"] = "simple",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }
        var process = ProgramProcess.Start(dll, "core", _dataDirectory, environment, _output);
        _process = process;
        Starts++;
        _output.Add($"--- start {Starts} (pid {process.Id})");
        await ProgramProcess.WaitUntilReadyAsync(process, new Uri(BaseAddress, "/api/v1/health/"), _output);
    }

    /// <summary>SIGKILL: no shutdown code runs, nothing is flushed by the process itself.</summary>
    public async Task KillAsync()
    {
        if (_process is null)
        {
            return;
        }
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(deadline.Token);
        _output.Add($"--- killed (exit {_process.ExitCode})");
        _process.Dispose();
        _process = null;
    }

    public HttpClient CreateClient(string? accessToken = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (accessToken is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }
        return client;
    }

    /// <summary>The last lines the process wrote, across restarts, for failure messages.</summary>
    public string Diagnostics() => _output.ToString();

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}
