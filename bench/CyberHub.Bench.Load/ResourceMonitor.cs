using System.Diagnostics;

namespace CyberHub.Bench.Load;

/// <summary>
/// CPU time this process used during a measured window, its peak working set in that window, and how many
/// cores the whole machine and the PostgreSQL server processes kept busy meanwhile (NaN without /proc); with
/// watched processes (a service under test), their cores and peak resident sets too, and the peak private memory
/// (RssAnon: shared buffers not counted) of the PostgreSQL processes.
/// </summary>
public sealed record ResourceUsage(
    TimeSpan Cpu, double WallSeconds, long PeakWorkingSetBytes, bool PeakIsPerPhase, double MachineCores, double PostgresCores,
    IReadOnlyList<ProcessUsage>? Processes = null, long PostgresPeakPrivateBytes = 0)
{
    public double Cores => Cpu.TotalSeconds / WallSeconds;

    /// <summary>Cores used by anything but this process and, when it serves Core, PostgreSQL.</summary>
    public double OtherCores(bool postgresServesCore) => MachineCores - Cores - (postgresServesCore ? PostgresCores : 0);
}

/// <summary>A process to watch besides this one, by its id.</summary>
public sealed record WatchedProcess(string Name, int Pid);

/// <summary>A watched process's average busy cores and peak resident set in the window.</summary>
public sealed record ProcessUsage(string Name, double Cores, long PeakRssBytes);

/// <summary>
/// Watches this process from the start of the measured window until stopped. On Linux the kernel's peak
/// RSS (what <see cref="Process.PeakWorkingSet64"/> reads) is reset at the window's start, so the peak is
/// the window's own; where that is not possible the working set is sampled every 100 ms instead.
/// </summary>
public sealed class ResourceMonitor
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<ResourceUsage> _watch;

    private ResourceMonitor(long measureStart, string? postgresDatabase, IReadOnlyList<WatchedProcess> processes) =>
        _watch = WatchAsync(measureStart, postgresDatabase, processes, _stop.Token);

    public static ResourceMonitor Start(long measureStart, string? postgresDatabase, IReadOnlyList<WatchedProcess>? processes = null) =>
        new(measureStart, postgresDatabase, processes ?? []);

    public async Task<ResourceUsage> StopAsync()
    {
        await _stop.CancelAsync();
        var usage = await _watch;
        _stop.Dispose();
        return usage;
    }

    private static async Task<ResourceUsage> WatchAsync(long measureStart, string? postgresDatabase, IReadOnlyList<WatchedProcess> processes, CancellationToken stop)
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
        var perPhase = TryResetPeak("self");
        var sampled = process.WorkingSet64;
        var watchedTicks = processes.Select(p => ProcStat.ProcessTicks(p.Pid)).ToArray();
        var watchedPeaks = processes.Select(p => TryResetPeak(p.Pid.ToString()) ? 0L : ProcStat.StatusKb(p.Pid, "VmRSS")).ToArray();
        var postgresPeak = 0L;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            for (var tick = 0; await timer.WaitForNextTickAsync(stop); tick++)
            {
                process.Refresh();
                sampled = Math.Max(sampled, process.WorkingSet64);
                for (var i = 0; i < processes.Count; i++)
                {
                    watchedPeaks[i] = Math.Max(watchedPeaks[i], ProcStat.StatusKb(processes[i].Pid, "VmRSS"));
                }
                // Walking /proc for the PostgreSQL processes costs more: once a second.
                if (processes.Count > 0 && postgresDatabase is not null && tick % 10 == 0)
                {
                    postgresPeak = Math.Max(postgresPeak, ProcStat.Read(postgresDatabase)?.PostgresTicks.Keys.Sum(pid => ProcStat.StatusKb(pid, "RssAnon")) ?? 0);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        process.Refresh();
        var end = ProcStat.Read(postgresDatabase);
        var (machine, postgres) = ProcStat.CoresBetween(procStart, end);
        var wall = Stopwatch.GetElapsedTime(wallStart).TotalSeconds;
        var watched = processes.Select((p, i) => new ProcessUsage(p.Name,
            (ProcStat.ProcessTicks(p.Pid) - watchedTicks[i]) / (double)ProcStat.TicksPerSecond / wall,
            Math.Max(watchedPeaks[i], ProcStat.StatusKb(p.Pid, "VmHWM")) * 1024)).ToList();
        return new ResourceUsage(
            process.TotalProcessorTime - cpuStart,
            Stopwatch.GetElapsedTime(wallStart).TotalSeconds,
            perPhase ? Math.Max(process.PeakWorkingSet64, sampled) : Math.Max(process.WorkingSet64, sampled),
            perPhase,
            machine,
            postgres,
            watched,
            postgresPeak * 1024);
    }

    // "5" resets VmHWM, the peak resident set size (Linux 4.0+, proc(5)).
    private static bool TryResetPeak(string process)
    {
        try
        {
            File.WriteAllText($"/proc/{process}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            return false;
        }
    }
}
