using System.Diagnostics;
using CyberHub.EndToEnd.Tests.Infrastructure;

namespace CyberHub.EndToEnd.Tests.Faults;

/// <summary>
/// The Release build of src/CyberHub.Host (<c>cyberhub.dll</c>), found and checked as <see cref="Cluster"/> does: the
/// suite's own build produces it, and it is rebuilt only when missing or built from other sources than the Core and
/// AI assemblies under test.
/// </summary>
internal static class HostBuild
{
    private static readonly SemaphoreSlim BuildLock = new(1, 1);

    public static string RepositoryRoot { get; } = FindRoot();

    private static string OutputDirectory => Path.Combine(RepositoryRoot, "src", "CyberHub.Host", "bin", "Release", "net10.0");

    public static async Task<string> EnsureAsync()
    {
        var dll = Path.Combine(OutputDirectory, "cyberhub.dll");
        await BuildLock.WaitAsync();
        try
        {
            if (File.Exists(dll) && MatchesAssembliesUnderTest())
            {
                return dll;
            }
            var start = new ProcessStartInfo("dotnet", ["build", "-c", "Release", "--nologo", "-v", "quiet", Path.Combine(RepositoryRoot, "src", "CyberHub.Host")])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = RepositoryRoot,
            };
            var (code, output) = await ChildProcess.RunAsync(start, TimeSpan.FromMinutes(5));
            if (code != 0)
            {
                throw new InvalidOperationException($"dotnet build src/CyberHub.Host failed (exit {code}):\n{output}");
            }
            return dll;
        }
        finally
        {
            BuildLock.Release();
        }
    }

    /// <summary>Builds are deterministic: the same sources give byte-identical assemblies.</summary>
    private static bool MatchesAssembliesUnderTest()
    {
        string[] assemblies = ["CyberHub.Contracts.dll", "CyberHub.ServiceDefaults.dll", "CyberHub.Core.dll", "CyberHub.Ai.dll"];
        return assemblies.All(name =>
        {
            var built = Path.Combine(OutputDirectory, name);
            return File.Exists(built) && File.ReadAllBytes(built).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, name)));
        });
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CyberHub.slnx")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No CyberHub.slnx above {AppContext.BaseDirectory}.");
    }
}

/// <summary>Runs short-lived commands (builds, pg_ctl) with a deadline, collecting what they print.</summary>
internal static class ChildProcess
{
    public static async Task<(int Code, string Output)> RunAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        // A service started by the command (pg_ctl start) must not inherit our pipes, or reading them never ends:
        // such commands are told to write their service's output to a log file instead.
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {start.FileName}");
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            lock (output)
            {
                return (-1, $"{start.FileName} {string.Join(' ', start.ArgumentList)} timed out after {timeout}:\n{output}");
            }
        }
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }
}
