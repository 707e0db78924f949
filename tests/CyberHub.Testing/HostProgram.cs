using System.Diagnostics;
using System.Text;

namespace CyberHub.Testing;

/// <summary>
/// The Release build of src/CyberHub.Host: <c>cyberhub.dll</c>, the program as it is deployed, with the web app among
/// its static web assets. Tests that run it as a child process get it from here, so that it is built at most once
/// per test process and never by two test processes at the same time.
/// </summary>
/// <remarks>
/// When is a build fresh enough? A test project that references Core and AI compares its own copies of those
/// assemblies with the host's (builds are deterministic: the same sources give byte-identical assemblies). A test
/// project that does not (the browser tests) cannot tell, so the host is built once per test process, which is
/// an incremental no-op when nothing changed. <c>CYBERHUB_TEST_HOST_BUILT=1</c> says the run's own build has just
/// produced it (scripts/test.sh builds the whole solution first), and skips that build.
/// </remarks>
public static class HostProgram
{
    private static readonly SemaphoreSlim BuildLock = new(1, 1);
    private static bool _builtHere;

    public static string RepositoryRoot { get; } = FindRoot();

    public static string OutputDirectory => Path.Combine(RepositoryRoot, "src", "CyberHub.Host", "bin", "Release", "net10.0");

    public static string Dll => Path.Combine(OutputDirectory, "cyberhub.dll");

    private static bool BuiltByTheRun => Environment.GetEnvironmentVariable("CYBERHUB_TEST_HOST_BUILT") == "1";

    /// <summary>
    /// The path of <c>cyberhub.dll</c>, built first when it is missing or stale. <paramref name="assembliesUnderTest"/>
    /// names assemblies in the test's own output that the host must have byte for byte; without them, the host is
    /// built once per process.
    /// </summary>
    public static async Task<string> EnsureBuiltAsync(params string[] assembliesUnderTest)
    {
        await BuildLock.WaitAsync();
        try
        {
            if (File.Exists(Dll) && (_builtHere || BuiltByTheRun || (assembliesUnderTest.Length > 0 && Matches(assembliesUnderTest))))
            {
                return Dll;
            }
            await BuildAsync();
            _builtHere = true;
            return Dll;
        }
        finally
        {
            BuildLock.Release();
        }
    }

    private static async Task BuildAsync()
    {
        // Test processes of one `dotnet test` run in parallel: one of them builds while the others wait their turn.
        var lockPath = Path.Combine(RepositoryRoot, "src", "CyberHub.Host", "obj", "test-build.lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        await using var fileLock = await AcquireAsync(lockPath, TimeSpan.FromMinutes(6));
        var start = new ProcessStartInfo("dotnet", ["build", "-c", "Release", "--nologo", "-v", "quiet", Path.Combine(RepositoryRoot, "src", "CyberHub.Host")])
        {
            WorkingDirectory = RepositoryRoot,
        };
        var (code, output) = await ChildProcess.RunAsync(start, TimeSpan.FromMinutes(5));
        if (code != 0)
        {
            throw new InvalidOperationException($"dotnet build src/CyberHub.Host failed (exit {code}):\n{output}");
        }
    }

    private static async Task<FileStream> AcquireAsync(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(250);
            }
        }
    }

    private static bool Matches(string[] assemblies) => assemblies.All(name =>
    {
        var built = Path.Combine(OutputDirectory, name);
        var ours = Path.Combine(AppContext.BaseDirectory, name);
        return File.Exists(built) && File.Exists(ours) && File.ReadAllBytes(built).AsSpan().SequenceEqual(File.ReadAllBytes(ours));
    });

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

/// <summary>Runs short-lived commands (builds, pg_ctl, scripts) with a deadline, collecting what they print.</summary>
public static class ChildProcess
{
    public static async Task<(int Code, string Output)> RunAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        // A service started by the command (pg_ctl start) must not inherit our pipes, or reading them never ends:
        // such commands are told to write their service's output to a log file instead.
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {start.FileName}");
        var output = new StringBuilder();
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
