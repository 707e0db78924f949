using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace CyberHub.Bench.Load;

/// <summary>The results as markdown: one table row per phase, notes on how to read it, then any errors.</summary>
public static class Report
{
    private const double OtherLoadWarning = 0.2;

    public static string Render(BenchOptions options, CoreTarget target, IReadOnlyList<PhaseResult> results)
    {
        var pg = target.PostgresDatabase is not null;
        var text = new StringBuilder();
        Line(text, $"Target: {target.Description}; {Environment.ProcessorCount} logical CPUs; {RuntimeInformation.FrameworkDescription}; " +
            $"{options.Warmup.TotalSeconds:0} s warm-up + {options.Duration.TotalSeconds:0} s measured per phase.");
        Line(text, "");
        Line(text, "| scenario | VUs | requests | 2xx/s | vs baseline | p50 ms | p95 ms | p99 ms | max ms | errors | CPU s (cores) | PostgreSQL cores | other cores | peak WS MB |");
        Line(text, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var r in results)
        {
            Line(text, Row(r, results, pg));
        }
        Line(text, "");
        Line(text, "2xx/s counts only successful responses; any non-2xx status or exception is an error and is still in the latency percentiles.");
        Line(text, "\"vs baseline\" divides by the baseline (GET /api/v1/health/live) throughput at the same VU count in this run.");
        Line(text, $"Login runs at {options.LoginConcurrency} VUs only: each request is one PBKDF2-HMAC-SHA512 verification " +
            "(100,000 iterations by default), CPU-bound by design.");
        Line(text, target.InProcess
            ? "CPU time and peak working set are those of this one process, which holds both the server and the load generator; " +
              "CPU s (cores) is CPU seconds in the window (average busy cores)."
            : "CPU time and peak working set are those of the load generator only; the server runs in another process.");
        Line(text, (pg ? "PostgreSQL cores: CPU of the server processes serving this run's database; other cores: the rest" : "Other cores: the rest") +
            " of the machine's busy CPU in the window (/proc/stat)" +
            (target.InProcess ? ", i.e. work competing with the run." : ", including the server under test."));
        if (results.Any(r => !r.Resources.PeakIsPerPhase))
        {
            Line(text, "\\* peak working set sampled every 100 ms (the kernel's peak could not be reset per phase).");
        }
        var contended = results.Where(r => target.InProcess && r.Resources.OtherCores(pg) > OtherLoadWarning).Select(Name).ToList();
        if (contended.Count > 0)
        {
            Line(text, $"Warning: other processes used more than {OtherLoadWarning} cores during: {string.Join("; ", contended)}. " +
                "Those rows may understate Core.");
        }
        if (results.Any(r => r.Capped))
        {
            Line(text, "(capped): a virtual user filled its preallocated latency array and stopped before the window ended.");
        }
        foreach (var r in results.Where(r => r.ErrorKinds.Count > 0))
        {
            Line(text, "");
            Line(text, $"Errors in {Name(r)}:");
            foreach (var (kind, error) in r.ErrorKinds.OrderByDescending(e => e.Value.Count))
            {
                Line(text, $"- {kind} × {error.Count}: `{error.Sample.ReplaceLineEndings(" ")}`");
            }
        }
        return text.ToString();
    }

    private static string Row(PhaseResult r, IReadOnlyList<PhaseResult> results, bool pg)
    {
        var baseline = results.FirstOrDefault(b => b.Phase.Scenario == Scenarios.Baseline && b.Phase.Concurrency == r.Phase.Concurrency);
        var ratio = baseline is { OkPerSecond: > 0 } ? Format(r.OkPerSecond / baseline.OkPerSecond, "0.000") : "–";
        var usage = r.Resources;
        return $"| {r.Phase.Scenario}{(r.Capped ? " (capped)" : "")} | {r.Phase.Concurrency} | {r.Completed} | {r.OkPerSecond:0} | {ratio} " +
            $"| {r.PercentileMs(50):0.00} | {r.PercentileMs(95):0.00} | {r.PercentileMs(99):0.00} | {r.MaxMs:0.0} | {r.Errors} " +
            $"| {usage.Cpu.TotalSeconds:0.0} ({usage.Cores:0.00}) | {(pg ? Format(usage.PostgresCores, "0.00") : "–")} | {usage.OtherCores(pg):0.00} " +
            $"| {usage.PeakWorkingSetBytes / 1048576.0:0}{(usage.PeakIsPerPhase ? "" : "*")} |";
    }

    private static string Name(PhaseResult r) => $"{r.Phase.Scenario} at {r.Phase.Concurrency} VUs";

    private static string Format(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static void Line(StringBuilder text, string line) => text.Append(line).Append('\n');
}
