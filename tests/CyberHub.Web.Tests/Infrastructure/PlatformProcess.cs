using System.Collections.Concurrent;
using System.Diagnostics;
using CyberHub.Testing;

namespace CyberHub.Web.Tests.Infrastructure;

/// <summary>
/// The whole platform as it really runs: <c>dotnet cyberhub.dll all</c> (Core serving the web app, and AI), a child
/// process of the test on free loopback ports, over a fresh data directory (SQLite, the embedded vector store with
/// the demo catalog it seeds on first start) with an admin account. Rate limits stay on, only raised.
/// </summary>
public sealed class PlatformProcess : IAsyncDisposable
{
    public const string AdminEmail = "admin@cyberhub.test";
    public const string AdminPassword = "Admin-Passw0rd!";
    private const int KeptLines = 300;

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-web-tests", Guid.NewGuid().ToString("N")[..12]);
    private readonly ConcurrentQueue<string> _lines = new();
    private Process? _process;

    public Uri Core { get; } = new($"http://127.0.0.1:{LoopbackPorts.Free()}");
    public Uri Ai { get; } = new($"http://127.0.0.1:{LoopbackPorts.Free()}");

    public async Task StartAsync()
    {
        var dll = await HostProgram.EnsureBuiltAsync();
        Directory.CreateDirectory(_dataDirectory);
        var start = new ProcessStartInfo("dotnet", [dll, "all"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _dataDirectory,
        };
        var environment = new Dictionary<string, string>
        {
            ["CYBERHUB_CORE_URL"] = Core.GetLeftPart(UriPartial.Authority),
            ["CYBERHUB_AI_URL"] = Ai.GetLeftPart(UriPartial.Authority),
            ["CYBERHUB_DATA_DIR"] = _dataDirectory,
            ["CYBERHUB_ADMIN_EMAIL"] = AdminEmail,
            ["CYBERHUB_ADMIN_PASSWORD"] = AdminPassword,
            ["ConnectionStrings__core"] = "",
            ["ConnectionStrings__vectors"] = "",
            ["ConnectionStrings__redis"] = "",
            // Realistic: the limits stay in force, raised for a test client that acts for many users from one address.
            ["RateLimiting__PerUserPerMinute"] = "100000",
            ["RateLimiting__AuthPerMinute"] = "100000",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Logging__LogLevel__CyberHub.ServiceDefaults.Observability.RequestLoggingMiddleware"] = "Warning",
            ["Logging__Console__FormatterName"] = "simple",
        };
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

        await WaitUntilReadyAsync(process, new Uri(Core, "/api/v1/health/"));
        await WaitUntilReadyAsync(process, new Uri(Ai, "/api/v1/health/"));
        // The web app itself must be among the program's static web assets, or every browser test would fail obscurely.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var framework = await http.GetAsync(new Uri(Core, "/_framework/blazor.webassembly.js"));
        if (!framework.IsSuccessStatusCode)
        {
            throw new InvalidOperationException(
                $"Core does not serve the web app (GET /_framework/blazor.webassembly.js: {(int)framework.StatusCode}); is {dll} built with src/CyberHub.Web?\n{Diagnostics()}");
        }
    }

    private async Task WaitUntilReadyAsync(Process process, Uri health)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        string last = "no answer";
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"cyberhub all exited during start (code {process.ExitCode}):\n{Diagnostics()}");
            }
            try
            {
                using var response = await http.GetAsync(health);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"{health} was not ready within 2 minutes (last: {last}):\n{Diagnostics()}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>The last lines the platform wrote, for failure messages.</summary>
    public string Diagnostics() => string.Join('\n', _lines);

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(deadline.Token);
            process.Dispose();
        }
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
