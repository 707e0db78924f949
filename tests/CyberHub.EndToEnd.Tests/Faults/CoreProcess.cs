using System.Collections.Concurrent;
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
    private const int KeptLines = 200;
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-faults", $"core-{Guid.NewGuid():N}"[..17]);
    private readonly ConcurrentQueue<string> _lines = new();
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
        var start = new ProcessStartInfo("dotnet", [dll, "core"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _dataDirectory,
        };
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
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        Starts++;
        Keep($"--- start {Starts} (pid {process.Id})");

        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Core exited during start (code {process.ExitCode}):\n{Diagnostics()}");
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
                // Not listening yet.
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"Core did not become ready within 2 minutes:\n{Diagnostics()}");
            }
            await Task.Delay(100);
        }
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
        Keep($"--- killed (exit {_process.ExitCode})");
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
    public string Diagnostics() => string.Join('\n', _lines);

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }
        _lines.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
        while (_lines.Count > KeptLines && _lines.TryDequeue(out _))
        {
        }
    }
}
