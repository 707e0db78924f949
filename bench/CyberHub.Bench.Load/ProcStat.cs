namespace CyberHub.Bench.Load;

/// <summary>
/// A reading of Linux /proc: the whole machine's busy and total CPU time, and the CPU time of the PostgreSQL
/// processes that serve one database (its backends and autovacuum workers, plus the shared server processes:
/// postmaster, WAL writer, checkpointer...), all in clock ticks. Null where /proc is not available.
/// </summary>
public sealed record ProcStat(long MachineBusy, long MachineTotal, IReadOnlyDictionary<int, long> PostgresTicks)
{
    public static ProcStat? Read(string? postgresDatabase)
    {
        try
        {
            // cpu  user nice system idle iowait irq softirq steal (guest time is already in user)
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Skip(1).Take(8).Select(long.Parse).ToArray();
            var total = fields.Sum();
            return new ProcStat(total - fields[3] - fields[4], total,
                postgresDatabase is null ? new Dictionary<int, long>() : PostgresProcesses(postgresDatabase));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Average busy cores between two readings: (machine, PostgreSQL processes).</summary>
    public static (double Machine, double Postgres) CoresBetween(ProcStat? start, ProcStat? end)
    {
        if (start is null || end is null || end.MachineTotal <= start.MachineTotal)
        {
            return (double.NaN, double.NaN);
        }
        // A backend that started inside the window counts in full; one that ended inside it is lost.
        var postgres = end.PostgresTicks.Sum(p => p.Value - start.PostgresTicks.GetValueOrDefault(p.Key));
        double Cores(long ticks) => (double)ticks / (end.MachineTotal - start.MachineTotal) * Environment.ProcessorCount;
        return (Cores(end.MachineBusy - start.MachineBusy), Cores(postgres));
    }

    /// <summary>Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux).</summary>
    public const int TicksPerSecond = 100;

    /// <summary>User + system CPU time of one process in clock ticks; 0 once it has gone.</summary>
    public static long ProcessTicks(int pid)
    {
        try
        {
            return Ticks(File.ReadAllText($"/proc/{pid}/stat"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>A kB field of /proc/PID/status (VmRSS, VmHWM, RssAnon...); 0 when unreadable.</summary>
    public static long StatusKb(int pid, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 0;
        }
    }

    // pid (comm) state ppid ... utime stime: utime and stime are the 12th and 13th fields after "(comm)".
    private static long Ticks(string stat)
    {
        var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(rest[11]) + long.Parse(rest[12]);
    }

    private static Dictionary<int, long> PostgresProcesses(string database)
    {
        var ticks = new Dictionary<int, long>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var close = stat.LastIndexOf(')');
                if (stat.AsSpan(stat.IndexOf('(') + 1, close - stat.IndexOf('(') - 1) is not "postgres")
                {
                    continue;
                }
                // A client backend's title is "postgres: user database host(port) state"; other databases' backends are someone else's work.
                var title = File.ReadAllText(Path.Combine(directory, "cmdline"));
                if (title.Contains('(') && !title.Contains(database, StringComparison.Ordinal))
                {
                    continue;
                }
                ticks[pid] = Ticks(stat);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while being read.
            }
        }
        return ticks;
    }
}
