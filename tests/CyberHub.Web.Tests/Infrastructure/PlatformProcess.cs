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

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-web-tests", Guid.NewGuid().ToString("N")[..12]);
    private readonly OutputTail _output = new(300);
    private Process? _process;

    public Uri Core { get; } = new($"http://127.0.0.1:{LoopbackPorts.Free()}");
    public Uri Ai { get; } = new($"http://127.0.0.1:{LoopbackPorts.Free()}");

    public async Task StartAsync()
    {
        var dll = await HostProgram.EnsureBuiltAsync();
        Directory.CreateDirectory(_dataDirectory);
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
        var process = ProgramProcess.Start(dll, "all", _dataDirectory, environment, _output);
        _process = process;

        await ProgramProcess.WaitUntilReadyAsync(process, new Uri(Core, "/api/v1/health/"), _output);
        await ProgramProcess.WaitUntilReadyAsync(process, new Uri(Ai, "/api/v1/health/"), _output);
        // The web app itself must be among the program's static web assets, or every browser test would fail obscurely.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var framework = await http.GetAsync(new Uri(Core, "/_framework/blazor.webassembly.js"));
        if (!framework.IsSuccessStatusCode)
        {
            throw new InvalidOperationException(
                $"Core does not serve the web app (GET /_framework/blazor.webassembly.js: {(int)framework.StatusCode}); is {dll} built with src/CyberHub.Web?\n{Diagnostics()}");
        }
    }

    /// <summary>The last lines the platform wrote, for failure messages.</summary>
    public string Diagnostics() => _output.ToString();

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
}
