using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace CyberHub.Bench.Load.Platform;

/// <summary>The markdown pieces both platform modes print: latency rows, the resources of each process, errors.</summary>
public static class PlatformReport
{
    public static string LatencyRow(string first, string name, PhaseResult r) =>
        $"| {first} | {name}{(r.Capped ? " (capped)" : "")} | {r.Completed} | {F(r.OkPerSecond, "0")} | {F(r.PercentileMs(50), "0.00")} " +
        $"| {F(r.PercentileMs(95), "0.00")} | {F(r.PercentileMs(99), "0.00")} | {F(r.MaxMs, "0.0")} | {r.Errors} |";

    /// <summary>Per phase: cores used (average over the window) and peak memory of Core, AI, the load generator and PostgreSQL.</summary>
    public static void Resources(StringBuilder text, IEnumerable<(string Name, PhaseResult Result)> phases, bool postgres)
    {
        text.Append("| phase | Core cores | Core peak RSS MB | AI cores | AI peak RSS MB | load generator cores | load generator peak MB |")
            .Append(postgres ? " PostgreSQL cores | PostgreSQL peak private MB |" : "").Append(" whole machine cores |\n");
        text.Append("|---|--:|--:|--:|--:|--:|--:|").Append(postgres ? "--:|--:|" : "").Append("--:|\n");
        foreach (var (name, r) in phases)
        {
            var u = r.Resources;
            var core = u.Processes!.First(p => p.Name == "Core");
            var ai = u.Processes!.First(p => p.Name == "AI");
            text.Append($"| {name} | {F(core.Cores, "0.00")} | {Mb(core.PeakRssBytes)} | {F(ai.Cores, "0.00")} | {Mb(ai.PeakRssBytes)} " +
                $"| {F(u.Cores, "0.00")} | {Mb(u.PeakWorkingSetBytes)}{(u.PeakIsPerPhase ? "" : "*")} |")
                .Append(postgres ? $" {F(u.PostgresCores, "0.00")} | {Mb(u.PostgresPeakPrivateBytes)} |" : "")
                .Append($" {F(u.MachineCores, "0.00")} of {Environment.ProcessorCount} |\n");
        }
    }

    public static void Notes(StringBuilder text, IReadOnlyList<PhaseResult> results, bool crashed)
    {
        void Line(string line = "") => text.Append(line).Append('\n');
        Line("2xx/s counts successful answers only; any other status or exception is an error and still counts in the percentiles. " +
            "Cores: CPU seconds in the measured window over its length (/proc); peak RSS of a service is its kernel high-water mark (VmHWM) reset at " +
            "the window's start; PostgreSQL's is the sum of its processes' private memory (RssAnon), shared buffers not counted.");
        if (crashed)
        {
            Line();
            Line("A service process exited during the run: see its log.");
        }
        foreach (var r in results.Where(r => r.ErrorKinds.Count > 0))
        {
            Line();
            Line($"Errors in {r.Phase.Scenario} at {r.Phase.Concurrency} VUs:");
            foreach (var (kind, error) in r.ErrorKinds.OrderByDescending(e => e.Value.Count))
            {
                Line($"- {kind} × {error.Count}: `{error.Sample.ReplaceLineEndings(" ")}`");
            }
        }
    }

    public static string F(double value, string format) => double.IsNaN(value) ? "–" : value.ToString(format, CultureInfo.InvariantCulture);

    public static string Mb(long bytes) => F(bytes / 1048576.0, "0");
}

/// <summary>What the machine is and how busy it is.</summary>
public static class MachineFacts
{
    public static string Describe()
    {
        var model = "?";
        try
        {
            model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        }
        catch (IOException)
        {
        }
        return $"{Environment.ProcessorCount} logical CPUs ({model}), {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}";
    }

    /// <summary>The load average (1, 5, 15 min) now.</summary>
    public static string Now()
    {
        try
        {
            var load = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"load average {load[0]} {load[1]} {load[2]}";
        }
        catch (IOException)
        {
            return "(no /proc/loadavg)";
        }
    }
}
