using System.Diagnostics;

namespace CyberHub.Bench.Load;

/// <summary>
/// CPU time this process used during a measured window, its peak working set in that window, and how many
/// cores the whole machine and the PostgreSQL server processes kept busy meanwhile (NaN without /proc).
/// </summary>
public sealed record ResourceUsage(
    TimeSpan Cpu, double WallSeconds, long PeakWorkingSetBytes, bool PeakIsPerPhase, double MachineCores, double PostgresCores)
{
    public double Cores => Cpu.TotalSeconds / WallSeconds;

    /// <summary>Cores used by anything but this process and, when it serves Core, PostgreSQL.</summary>
    public double OtherCores(bool postgresServesCore) => MachineCores - Cores - (postgresServesCore ? PostgresCores : 0);
}

/// <summary>
/// Watches this process from the start of the measured window until stopped. On Linux the kernel's peak
/// RSS (what <see cref="Process.PeakWorkingSet64"/> reads) is reset at the window's start, so the peak is
/// the window's own; where that is not possible the working set is sampled every 100 ms instead.
/// </summary>
public sealed class ResourceMonitor
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<ResourceUsage> _watch;

    private ResourceMonitor(long measureStart, string? postgresDatabase) => _watch = WatchAsync(measureStart, postgresDatabase, _stop.Token);

    public static ResourceMonitor Start(long measureStart, string? postgresDatabase) => new(measureStart, postgresDatabase);

    public async Task<ResourceUsage> StopAsync()
    {
        await _stop.CancelAsync();
        var usage = await _watch;
        _stop.Dispose();
        return usage;
    }

    private static async Task<ResourceUsage> WatchAsync(long measureStart, string? postgresDatabase, CancellationToken stop)
    {
        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), measureStart);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, CancellationToken.None);
        }
        using var process = Process.GetCurrentProcess();
        var cpuStart = process.TotalProcessorTime;
        var procStart = ProcStat.Read(postgresDatabase);
        var wallStart = Stopwatch.GetTimestamp();
        var perPhase = TryResetPeak();
        var sampled = process.WorkingSet64;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                process.Refresh();
                sampled = Math.Max(sampled, process.WorkingSet64);
            }
        }
        catch (OperationCanceledException)
        {
        }
        process.Refresh();
        var (machine, postgres) = ProcStat.CoresBetween(procStart, ProcStat.Read(postgresDatabase));
        return new ResourceUsage(
            process.TotalProcessorTime - cpuStart,
            Stopwatch.GetElapsedTime(wallStart).TotalSeconds,
            perPhase ? Math.Max(process.PeakWorkingSet64, sampled) : Math.Max(process.WorkingSet64, sampled),
            perPhase,
            machine,
            postgres);
    }

    // "5" resets VmHWM, the peak resident set size (Linux 4.0+, proc(5)).
    private static bool TryResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            return false;
        }
    }
}
