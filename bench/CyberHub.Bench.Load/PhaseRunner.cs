using System.Diagnostics;

namespace CyberHub.Bench.Load;

/// <summary>
/// One scenario at one concurrency: makes the request a virtual user sends as its n-th. Optionally an untimed step
/// runs before each request (e.g. invalidating what the request would otherwise find cached), and the requests are
/// of several endpoints, each tagged with <see cref="PhaseRunner.Endpoint"/> and reported apart as well.
/// </summary>
public sealed record Phase(
    string Scenario, int Concurrency, Func<int, long, HttpRequestMessage> NextRequest,
    Func<int, long, CancellationToken, Task>? BeforeRequest = null, IReadOnlyList<string>? Endpoints = null);

public sealed record ErrorKind(long Count, string Sample);

public sealed record PhaseResult(
    Phase Phase,
    long Completed,
    long Errors,
    double Seconds,
    long[] SortedLatencyTicks,
    IReadOnlyDictionary<string, ErrorKind> ErrorKinds,
    ResourceUsage Resources,
    bool Capped,
    IReadOnlyList<PhaseResult>? ByEndpoint = null)
{
    public double OkPerSecond => (Completed - Errors) / Seconds;

    /// <summary>Nearest-rank percentile in milliseconds.</summary>
    public double PercentileMs(double p) => SortedLatencyTicks.Length == 0
        ? double.NaN
        : TicksToMs(SortedLatencyTicks[Math.Clamp((int)Math.Ceiling(p / 100 * SortedLatencyTicks.Length) - 1, 0, SortedLatencyTicks.Length - 1)]);

    public double MaxMs => SortedLatencyTicks.Length == 0 ? double.NaN : TicksToMs(SortedLatencyTicks[^1]);

    private static double TicksToMs(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

/// <summary>
/// Runs a phase: every virtual user sends requests back to back (closed loop) through the warm-up, then
/// through the measured window; a request counts when it starts inside the window. Latencies go into a
/// preallocated array per virtual user and are sorted once at the end, so percentiles are exact.
/// </summary>
public static class PhaseRunner
{
    // Sizes the preallocated latency arrays; a virtual user whose array fills stops early and the phase is marked capped.
    private const long MaxRequestsPerSecond = 100_000;
    private const long MaxRequestsPerPhase = 4_000_000;
    private static readonly TimeSpan HardStopGrace = TimeSpan.FromSeconds(10);

    /// <summary>Which of <see cref="Phase.Endpoints"/> a request is for.</summary>
    public static readonly HttpRequestOptionsKey<int> Endpoint = new("bench.endpoint");

    public static async Task<PhaseResult> RunAsync(
        HttpClient http, Phase phase, TimeSpan warmup, TimeSpan duration, string? postgresDatabase, IReadOnlyList<WatchedProcess>? processes = null)
    {
        var budget = Math.Min(MaxRequestsPerPhase, (long)(MaxRequestsPerSecond * duration.TotalSeconds));
        var workers = Enumerable.Range(0, phase.Concurrency)
            .Select(_ => new Worker((int)Math.Max(1_000, budget / phase.Concurrency))).ToArray();

        var measureStart = Stopwatch.GetTimestamp() + Ticks(warmup);
        var measureEnd = measureStart + Ticks(duration);
        // Requests still running this long after the window are abandoned, so a phase always ends.
        using var hardStop = new CancellationTokenSource(warmup + duration + HardStopGrace);
        var monitor = ResourceMonitor.Start(measureStart, postgresDatabase, processes);
        await Task.WhenAll(workers.Select((w, i) => Task.Run(() => w.RunAsync(http, phase, i, measureStart, measureEnd, hardStop.Token))));
        var resources = await monitor.StopAsync();

        var errorKinds = workers.SelectMany(w => w.ErrorKinds)
            .GroupBy(kv => kv.Key)
            .ToDictionary(g => g.Key, g => new ErrorKind(g.Sum(kv => kv.Value.Count), g.First().Value.Sample));
        var lastEnd = workers.Max(w => w.LastEnd);
        var seconds = lastEnd > measureStart ? (lastEnd - measureStart) / (double)Stopwatch.Frequency : duration.TotalSeconds;
        var capped = workers.Any(w => w.Count == w.Latencies.Length);
        PhaseResult Result(Phase p, int? endpoint, IReadOnlyList<PhaseResult>? byEndpoint)
        {
            var latencies = workers.SelectMany(w => w.Latencies.Take(w.Count).Where((_, i) => endpoint is null || w.Endpoints[i] == endpoint)).ToArray();
            Array.Sort(latencies);
            var kinds = endpoint is null ? errorKinds : errorKinds.Where(k => k.Key.StartsWith(p.Scenario + ": ", StringComparison.Ordinal)).ToDictionary();
            return new PhaseResult(p, latencies.Length, endpoint is null ? workers.Sum(w => w.Errors) : kinds.Values.Sum(k => k.Count),
                seconds, latencies, kinds, resources, capped, byEndpoint);
        }
        var byEndpoint = phase.Endpoints?.Select((name, i) => Result(phase with { Scenario = name }, i, null)).ToList();
        return Result(phase, null, byEndpoint);
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private sealed class Worker(int capacity)
    {
        public long[] Latencies { get; } = new long[capacity];
        public int[] Endpoints { get; } = new int[capacity];
        public int Count { get; private set; }
        public long Errors { get; private set; }
        public long LastEnd { get; private set; }
        public Dictionary<string, ErrorKind> ErrorKinds { get; } = [];

        public async Task RunAsync(HttpClient http, Phase phase, int index, long measureStart, long measureEnd, CancellationToken stop)
        {
            // Touch the array now, so page faults do not land inside the measured window.
            Latencies.AsSpan().Fill(0);
            for (long n = 0; ; n++)
            {
                var start = Stopwatch.GetTimestamp();
                if (start >= measureEnd || Count == Latencies.Length)
                {
                    return;
                }
                string? error = null;
                string sample = "";
                var endpoint = -1;
                if (phase.BeforeRequest is { } before)
                {
                    try
                    {
                        await before(index, n, stop);
                    }
                    catch (Exception e) when (!stop.IsCancellationRequested)
                    {
                        // Counted as an error of the phase; no request is sent and no latency recorded.
                        if (start >= measureStart)
                        {
                            Errors++;
                            Note($"untimed step: {e.GetType().Name}", e.Message);
                        }
                        continue;
                    }
                    start = Stopwatch.GetTimestamp();
                }
                try
                {
                    using var request = phase.NextRequest(index, n);
                    if (phase.Endpoints is not null)
                    {
                        request.Options.TryGetValue(Endpoint, out endpoint);
                    }
                    using var response = await http.SendAsync(request, stop);
                    if (!response.IsSuccessStatusCode)
                    {
                        error = $"HTTP {(int)response.StatusCode}";
                        sample = await response.Content.ReadAsStringAsync(stop);
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    error = "abandoned at hard stop";
                }
                catch (Exception e)
                {
                    error = e is TaskCanceledException { InnerException: TimeoutException } ? "client timeout (30 s)" : e.GetType().Name;
                    sample = e.Message;
                }
                var end = Stopwatch.GetTimestamp();
                if (start >= measureStart)
                {
                    Endpoints[Count] = endpoint;
                    Latencies[Count++] = end - start;
                    LastEnd = end;
                    if (error is not null)
                    {
                        Errors++;
                        Note(endpoint >= 0 ? $"{phase.Endpoints![endpoint]}: {error}" : error, sample);
                    }
                }
                if (stop.IsCancellationRequested)
                {
                    return;
                }
            }
        }

        private void Note(string error, string sample) =>
            ErrorKinds[error] = ErrorKinds.TryGetValue(error, out var kind)
                ? kind with { Count = kind.Count + 1 }
                : new ErrorKind(1, sample.Length > 300 ? sample[..300] : sample);
    }
}
