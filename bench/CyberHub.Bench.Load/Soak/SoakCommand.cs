using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace CyberHub.Bench.Load.Soak;

/// <summary>
/// The soak run: the learner journey at high concurrency for minutes against a Core process, its memory, handles and
/// database connections sampled throughout, and at the end a count of what was acknowledged against what is stored and
/// what Core's outbox delivered. Prints a markdown report on stdout (progress on stderr); exits 1 on any error or
/// mismatch.
/// </summary>
public static class SoakCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        SoakOptions options;
        try
        {
            options = SoakOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(SoakOptions.Usage);
            return 2;
        }

        var machineAtStart = MachineState();
        await using var receiver = await EventReceiver.StartAsync();
        await using var core = await SoakCore.StartAsync(options, receiver.BaseAddress);
        Console.Error.WriteLine($"Core (pid {core.ProcessId}) at {core.BaseAddress}, {(core.Database is null ? "SQLite" : $"PostgreSQL database {core.Database}")}; log {core.LogFile}");
        using var http = CoreClient.CreateHttpClient(core.BaseAddress, options.VirtualUsers + 16);

        Console.Error.WriteLine($"Registering {options.VirtualUsers} learners…");
        var runId = Guid.NewGuid().ToString("N")[..8];
        var learners = await CoreClient.ForEachAsync(options.VirtualUsers, i => JourneyLearner.RegisterAsync(http, runId, i));
        var stats = JourneyLearner.Kinds.ToDictionary(k => k, _ => new RequestStats());

        using var stop = new CancellationTokenSource();
        var sampler = new Sampler(core, http, () => (stats.Values.Sum(s => s.Count), stats.Values.Sum(s => s.Errors)));
        var sampling = sampler.RunAsync(options.SampleInterval, stop.Token);
        var clock = Stopwatch.StartNew();
        var journeys = learners.Select(l => Task.Run(() => l.RunAsync(stats, stop.Token))).ToArray();
        await Task.Delay(options.Duration);
        await stop.CancelAsync();
        await Task.WhenAll(journeys);
        var seconds = clock.Elapsed.TotalSeconds;
        await sampling;
        var machineAtEnd = MachineState();
        Console.Error.WriteLine("Journey stopped; checking what was acknowledged against what is stored and delivered…");

        var check = await VerifyAsync(learners, receiver);
        Console.Out.Write(Render(options, core, stats, sampler.Samples, seconds, check, machineAtStart, machineAtEnd));
        var failed = stats.Values.Sum(s => s.Errors) > 0 || check.Problems.Count > 0 || core.HasExited;
        return failed ? 1 : 0;
    }

    private sealed record Check(
        int AcknowledgedCreates, int StoredRecords, int AcknowledgedUpdates, int UnknownWrites, int ExpectedEvents,
        int DistinctEvents, int RepeatedDeliveries, TimeSpan DrainTime, List<string> Problems);

    /// <summary>
    /// Every acknowledged create exists exactly once and nothing else does; every record is at its last acknowledged
    /// version with the acknowledged values; the outbox delivered exactly one event per committed change (repeats of an
    /// event id are counted apart: delivery is at least once).
    /// </summary>
    private static async Task<Check> VerifyAsync(IReadOnlyList<JourneyLearner> learners, EventReceiver receiver)
    {
        var problems = new List<string>();
        var stored = new List<ProgressDtoKey>();
        foreach (var learner in learners)
        {
            var records = await learner.StoredAsync();
            if (records.Count != records.Select(r => r.ContentId).Distinct().Count())
            {
                problems.Add($"user {learner.UserId} has a content item recorded twice");
            }
            foreach (var record in records)
            {
                stored.Add(new ProgressDtoKey(record.Id, record.Version));
                if (!learner.Acknowledged.TryGetValue(record.Id, out var ack))
                {
                    if (learner.UnknownWrites == 0)
                    {
                        problems.Add($"record {record.Id} of user {learner.UserId} was never acknowledged");
                    }
                    continue;
                }
                if (learner.UnknownWrites == 0 && (record.Version, record.CompletionPercentage, record.TimeSpentSeconds) != (ack.Version, ack.CompletionPercentage, ack.TimeSpentSeconds))
                {
                    problems.Add($"record {record.Id}: stored v{record.Version} {record.CompletionPercentage}/{record.TimeSpentSeconds}, acknowledged v{ack.Version} {ack.CompletionPercentage}/{ack.TimeSpentSeconds}");
                }
            }
            foreach (var lost in learner.Acknowledged.Keys.Where(id => records.All(r => r.Id != id)))
            {
                problems.Add($"acknowledged record {lost} of user {learner.UserId} is missing");
            }
        }

        // Every committed change (each record's versions from the one it is created at up to the stored one) has one event.
        var firstVersion = learners.Select(l => l.CreatedVersion).FirstOrDefault(v => v is not null) ?? 0;
        var expected = stored.Sum(r => r.Version - firstVersion + 1);
        var drain = Stopwatch.StartNew();
        while (receiver.DistinctEvents < expected && drain.Elapsed < TimeSpan.FromMinutes(3))
        {
            await Task.Delay(250);
        }
        var (distinct, repeats, changes) = receiver.Snapshot();
        if (distinct != expected)
        {
            problems.Add($"{expected} committed changes, {distinct} distinct events delivered");
        }
        var twice = changes.Where(c => c.Value > 1).Take(5).ToList();
        if (twice.Count > 0)
        {
            problems.Add($"changes announced by more than one event id, e.g. {string.Join(", ", twice.Select(c => $"record {c.Key.RecordId} v{c.Key.Version}"))}");
        }
        var missing = stored.SelectMany(r => Enumerable.Range(firstVersion, r.Version - firstVersion + 1).Select(v => (r.Id, v)))
            .Where(c => !changes.ContainsKey(c)).Take(5).ToList();
        if (missing.Count > 0)
        {
            problems.Add($"changes without an event, e.g. {string.Join(", ", missing.Select(c => $"record {c.Id} v{c.v}"))}");
        }
        return new Check(learners.Sum(l => l.AcknowledgedCreates), stored.Count, learners.Sum(l => l.AcknowledgedUpdates),
            learners.Sum(l => l.UnknownWrites), expected, distinct, repeats, drain.Elapsed, problems);
    }

    private sealed record ProgressDtoKey(long Id, int Version);

    private static string Render(SoakOptions options, SoakCore core, IReadOnlyDictionary<string, RequestStats> stats, IReadOnlyList<Sample> samples,
        double seconds, Check check, string machineAtStart, string machineAtEnd)
    {
        var text = new StringBuilder();
        void Line(string line = "") => text.Append(line).Append('\n');
        string F(double value, string format = "0.0") => value.ToString(format, CultureInfo.InvariantCulture);

        Line($"Soak: {options.VirtualUsers} learners on the journey for {F(seconds / 60, "0.0")} min against a Core process " +
            $"({(core.Database is null ? "SQLite" : "PostgreSQL")}), sampled every {options.SampleInterval.TotalSeconds:0} s; " +
            $"{Environment.ProcessorCount} logical CPUs; {RuntimeInformation.FrameworkDescription}.");
        Line($"Machine at start: {machineAtStart}. At end: {machineAtEnd}.");
        Line();
        Line("| request | count | per s | p50 ms | p95 ms | p99 ms | errors |");
        Line("|---|--:|--:|--:|--:|--:|--:|");
        foreach (var (kind, s) in stats)
        {
            Line($"| {kind} | {s.Count} | {F(s.Count / seconds, "0")} | {F(s.PercentileMs(50), "0.0")} | {F(s.PercentileMs(95), "0.0")} | {F(s.PercentileMs(99), "0.0")} | {s.Errors} |");
        }
        var total = stats.Values.Sum(s => s.Count);
        Line($"| all | {total} | {F(total / seconds, "0")} | | | | {stats.Values.Sum(s => s.Errors)} |");
        Line();

        var warm = samples.Where(s => s.Elapsed >= Warmup(options)).ToList();
        if (warm.Count >= 3)
        {
            var (first, middle, last) = (warm[0], warm[warm.Count / 2], warm[^1]);
            Line($"Core process after {F(first.Elapsed.TotalMinutes, "0.0")} min warm-up, middle and end (slope: least squares over the samples after warm-up):");
            Line();
            Line("| measure | start | middle | end | min | max | slope per min |");
            Line("|---|--:|--:|--:|--:|--:|--:|");
            Row(text, "resident set (MB)", warm, s => s.RssMb);
            Row(text, "GC heap after last collection (MB)", warm, s => s.GcHeapMb);
            Row(text, "GC committed (MB)", warm, s => s.GcCommittedMb);
            Row(text, "threads", warm, s => s.Threads);
            Row(text, "open file descriptors", warm, s => s.OpenFiles);
            if (core.Database is not null)
            {
                Row(text, "PostgreSQL connections", warm, s => s.PgConnections);
                Row(text, "of them active", warm, s => s.PgActive);
            }
            Row(text, "outbox backlog (events)", warm, s => s.OutboxBacklog);
            Line();
            var rates = warm.Zip(warm.Skip(1), (a, b) => (b.Requests - a.Requests) / (b.Elapsed - a.Elapsed).TotalSeconds).ToList();
            Line($"Throughput between samples: min {F(rates.Min(), "0")}, median {F(rates.Order().ElementAt(rates.Count / 2), "0")}, max {F(rates.Max(), "0")} requests/s. " +
                $"CPU: Core {F(warm.Average(s => s.CoreCores), "0.00")} cores" +
                (core.Database is not null ? $", PostgreSQL {F(warm.Average(s => s.PgCores), "0.00")}" : "") +
                $", whole machine {F(warm.Average(s => s.MachineCores), "0.00")} of {Environment.ProcessorCount}; load average {F(warm.Min(s => s.LoadAverage))}–{F(warm.Max(s => s.LoadAverage))}.");
            Line();
        }

        Line($"Counts: {check.AcknowledgedCreates} creates acknowledged, {check.StoredRecords} records stored; {check.AcknowledgedUpdates} updates acknowledged" +
            $"{(check.UnknownWrites > 0 ? $", {check.UnknownWrites} writes unanswered" : "")}; {check.ExpectedEvents} committed changes, " +
            $"{check.DistinctEvents} distinct events delivered ({check.RepeatedDeliveries} repeated deliveries), outbox drained {F(check.DrainTime.TotalSeconds)} s after the load stopped.");
        Line(check.Problems.Count == 0 ? "Verdict: every acknowledged create exists once, every acknowledged update is stored, one event per change." : "PROBLEMS:");
        foreach (var problem in check.Problems)
        {
            Line($"- {problem}");
        }
        foreach (var (kind, s) in stats.Where(s => s.Value.Errors > 0))
        {
            foreach (var (error, (count, sample)) in s.ErrorKinds)
            {
                Line($"- {kind}: {error} × {count}: `{sample.ReplaceLineEndings(" ")}`");
            }
        }
        if (options.SamplesFile is { } file)
        {
            File.WriteAllLines(file, samples.Select(s => string.Join(',',
                F(s.Elapsed.TotalSeconds, "0"), F(s.RssMb), F(s.GcHeapMb), F(s.GcCommittedMb), s.Threads, s.OpenFiles, s.PgConnections, s.PgActive,
                F(s.OutboxBacklog, "0"), s.Requests, s.Errors, F(s.CoreCores, "0.00"), F(s.MachineCores, "0.00"), F(s.PgCores, "0.00"), F(s.LoadAverage, "0.00")))
                .Prepend("seconds,rss_mb,gc_heap_mb,gc_committed_mb,threads,fds,pg_connections,pg_active,outbox_backlog,requests,errors,core_cores,machine_cores,pg_cores,load1"));
            Line($"Samples: {file}");
        }
        return text.ToString();
    }

    private static TimeSpan Warmup(SoakOptions options) => TimeSpan.FromSeconds(Math.Min(60, options.Duration.TotalSeconds / 5));

    private static void Row(StringBuilder text, string name, IReadOnlyList<Sample> samples, Func<Sample, double> value)
    {
        var values = samples.Select(value).ToList();
        var minutes = samples.Select(s => s.Elapsed.TotalMinutes).ToList();
        var slope = Slope(minutes, values);
        string F(double v) => v.ToString(Math.Abs(v) >= 100 ? "0" : "0.0", CultureInfo.InvariantCulture);
        text.Append($"| {name} | {F(values[0])} | {F(values[values.Count / 2])} | {F(values[^1])} | {F(values.Min())} | {F(values.Max())} | {slope.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture)} |\n");
    }

    private static double Slope(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var (mx, my) = (x.Average(), y.Average());
        var covariance = x.Zip(y, (a, b) => (a - mx) * (b - my)).Sum();
        var variance = x.Sum(a => (a - mx) * (a - mx));
        return variance == 0 ? 0 : covariance / variance;
    }

    private static string MachineState()
    {
        try
        {
            var load = File.ReadAllText("/proc/loadavg").Split(' ');
            var memory = File.ReadLines("/proc/meminfo").Take(3).Select(l => l.Split(':', StringSplitOptions.TrimEntries)).ToDictionary(p => p[0], p => p[1]);
            return $"load average {load[0]} {load[1]} {load[2]}, {memory["MemAvailable"]} of {memory["MemTotal"]} memory available";
        }
        catch (IOException)
        {
            return "(no /proc)";
        }
    }
}
