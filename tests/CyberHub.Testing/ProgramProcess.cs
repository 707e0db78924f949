using System.Collections.Concurrent;
using System.Diagnostics;

namespace CyberHub.Testing;

/// <summary>The last lines a child process wrote (stdout and stderr), time-stamped, for failure messages.</summary>
public sealed class OutputTail(int keep)
{
    private readonly ConcurrentQueue<string> _lines = new();

    public void Add(string? line)
    {
        if (line is null)
        {
            return;
        }
        _lines.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
        while (_lines.Count > keep && _lines.TryDequeue(out _))
        {
        }
    }

    public override string ToString() => string.Join('\n', _lines);
}

/// <summary>The built <c>cyberhub</c> program (<see cref="HostProgram"/>) run as a child process of a test.</summary>
public static class ProgramProcess
{
    /// <summary>Starts <c>dotnet cyberhub.dll {command}</c> with <paramref name="environment"/>, its output going to <paramref name="output"/>.</summary>
    public static Process Start(string dll, string command, string workingDirectory, IEnumerable<KeyValuePair<string, string>> environment, OutputTail output)
    {
        var start = new ProcessStartInfo("dotnet", [dll, command])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        process.OutputDataReceived += (_, e) => output.Add(e.Data);
        process.ErrorDataReceived += (_, e) => output.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Polls <paramref name="health"/> until it answers 2xx; fails, with the output so far, when the process exits or 2 minutes pass.</summary>
    public static async Task WaitUntilReadyAsync(Process process, Uri health, OutputTail output)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        var last = "no answer";
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.StartInfo.ArgumentList.LastOrDefault()} exited during start (code {process.ExitCode}):\n{output}");
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
                // Not listening yet.
                last = e.Message;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"{health} was not ready within 2 minutes (last: {last}):\n{output}");
            }
            await Task.Delay(100);
        }
    }
}
