using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CyberHub.Bench.Load.Platform;

/// <summary>
/// One run of the built host program as production runs it, <c>dotnet cyberhub.dll COMMAND</c>, with the given
/// environment and the data directory as its working directory; its output goes to a log file. A service
/// (<c>core</c>, <c>ai</c>) is ready when its <c>/api/v1/health/</c> answers 2xx; a command (<c>import</c>) runs to its end.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private ServiceProcess(Process process, StreamWriter log, string logFile, Uri? baseAddress)
    {
        _process = process;
        _log = log;
        LogFile = logFile;
        BaseAddress = baseAddress!;
    }

    public Uri BaseAddress { get; }
    public int ProcessId => _process.Id;
    public string LogFile { get; }
    public bool HasExited => _process.HasExited;

    /// <summary>Starts service <paramref name="command"/> listening on <paramref name="baseAddress"/> and waits until it is ready.</summary>
    public static async Task<ServiceProcess> StartAsync(
        string hostDll, string command, Uri baseAddress, string dataDirectory, IReadOnlyDictionary<string, string> environment, string logFile)
    {
        var service = Start(hostDll, [command], dataDirectory, environment, logFile, baseAddress);
        try
        {
            await service.WaitReadyAsync(command);
            return service;
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a one-off command (e.g. <c>import FILE</c>) to its end; throws when it fails.</summary>
    public static async Task RunAsync(string hostDll, string[] arguments, string dataDirectory, IReadOnlyDictionary<string, string> environment, string logFile)
    {
        await using var run = Start(hostDll, arguments, dataDirectory, environment, logFile, null);
        await run._process.WaitForExitAsync();
        if (run._process.ExitCode != 0)
        {
            throw new InvalidOperationException($"cyberhub {arguments[0]} exited with code {run._process.ExitCode}; see {logFile}.");
        }
    }

    private static ServiceProcess Start(
        string hostDll, string[] arguments, string dataDirectory, IReadOnlyDictionary<string, string> environment, string logFile, Uri? baseAddress)
    {
        if (!File.Exists(hostDll))
        {
            throw new InvalidOperationException($"No host build at {hostDll}: run `dotnet build -c Release src/CyberHub.Host` first, or pass --host-dll.");
        }
        var start = new ProcessStartInfo("dotnet", [hostDll, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dataDirectory,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        var log = new StreamWriter(logFile, append: true) { AutoFlush = false };
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ServiceProcess(process, log, logFile, baseAddress);
    }

    private async Task WaitReadyAsync(string name)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited during start (code {_process.ExitCode}); see {LogFile}.");
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
                throw new InvalidOperationException($"{name} did not become ready within 3 minutes; see {LogFile}.");
            }
            await Task.Delay(200);
        }
    }

    /// <summary>Stops the process (SIGTERM, then SIGKILL after 20 s) and closes its log.</summary>
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

    /// <summary>src/CyberHub.Host/bin/Release/net10.0/cyberhub.dll of the checkout this bench runs from.</summary>
    public static string DefaultHostDll()
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

    public static Uri FreeLoopbackUrl()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");
    }
}
