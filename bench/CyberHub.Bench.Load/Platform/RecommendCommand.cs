using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using CyberHub.Contracts;

namespace CyberHub.Bench.Load.Platform;

/// <summary>
/// <c>recommend</c>: the recommendation scale curve. For each store and each catalog size (grown in place: AI stopped,
/// the extra items imported, AI started again), the same learners ask AI for their recommendations: cached (asked
/// again), uncached (before each timed request an admin posts, untimed, a progress event for the learner as Core's
/// outbox would, which drops the learner's cached picks), and a popularity baseline over the same HTTP stack.
/// </summary>
public static class RecommendCommand
{
    public const string Hit = "cache hit";
    public const string Miss = "cache miss";
    public const string Popularity = "popularity baseline";

    private static readonly TimeSpan SettleDelay = TimeSpan.FromSeconds(11);

    public sealed record SizeResult(VectorStore Store, int Size, TimeSpan Import, int ImportedItems, int Personal,
        IReadOnlyList<PhaseResult> Phases, IReadOnlyList<Stages> Stages, double AiRssMb, double AiGcHeapMb, double AiGcCommittedMb);

    /// <summary>
    /// Where AI's time went in a phase, from its own /metrics (differences across the phase, warm-up included): mean
    /// server time of the recommendations route, and per recommendation request the calls to Core and vector searches
    /// with their mean durations.
    /// </summary>
    public sealed record Stages(string Phase, double ServerMs, double CoreCallsPerRequest, double CoreCallMs, double SearchesPerRequest, double SearchMs);

    private static readonly string[] StageSeries =
    [
        "http_server_request_duration_seconds_sum|recommendations", "http_server_request_duration_seconds_count|recommendations",
        "http_client_request_duration_seconds_sum", "http_client_request_duration_seconds_count",
        "cyberhub_vector_search_duration_seconds_sum", "cyberhub_vector_search_duration_seconds_count",
    ];

    private static Stages StagesOf(string phase, Dictionary<string, double> before, Dictionary<string, double> after)
    {
        double Delta(string series) => after.GetValueOrDefault(series) - before.GetValueOrDefault(series);
        double Mean(string name) => Delta(name + "_sum") / Delta(name + "_count") * 1000;
        var requests = Delta("http_server_request_duration_seconds_count|recommendations");
        return new Stages(phase,
            Delta("http_server_request_duration_seconds_sum|recommendations") / requests * 1000,
            Delta("http_client_request_duration_seconds_count") / requests, Mean("http_client_request_duration_seconds"),
            Delta("cyberhub_vector_search_duration_seconds_count") / requests, Mean("cyberhub_vector_search_duration_seconds"));
    }

    public static async Task<int> RunAsync(PlatformOptions options)
    {
        var catalog = new CatalogGenerator(options.Seed);
        var machine = MachineFacts.Now();
        var clock = Stopwatch.StartNew();
        var results = new List<SizeResult>();
        var crashed = false;
        foreach (var store in options.Stores)
        {
            await using var run = await PlatformRun.CreateAsync(options, store);
            Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] {run.Description}; data in {run.DataDirectory}");
            await run.StartCoreAsync();
            results.AddRange(await RunStoreAsync(options, run, catalog, clock));
            crashed |= run.Core!.HasExited || run.Ai is { HasExited: true };
        }
        Console.Out.Write(Render(options, machine, MachineFacts.Now(), clock.Elapsed, results, crashed));
        return results.Any(r => r.Phases.Any(p => p.Errors > 0)) || crashed ? 1 : 0;
    }

    private static async Task<List<SizeResult>> RunStoreAsync(PlatformOptions options, PlatformRun run, CatalogGenerator catalog, Stopwatch clock)
    {
        var count = options.Concurrency.Max();
        using var http = CoreClient.CreateHttpClient(run.CoreUrl, count + 16);
        var core = new CoreClient(http);
        Learner[]? learners = null;
        PopularityServer? popularity = null;
        var settled = DateTime.UtcNow;
        var sequence = 1_000_000_000L;
        var results = new List<SizeResult>();
        var loaded = 0;
        try
        {
            foreach (var size in options.Sizes)
            {
                Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] importing items {loaded:N0}..{size:N0} with `cyberhub import`…");
                var import = await run.ImportAsync(catalog, loaded, size);
                var imported = size - loaded;
                loaded = size;
                await run.StartAiAsync();
                Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] imported {imported:N0} in {import.TotalSeconds:0.0} s; AI (pid {run.Ai!.ProcessId}) up with {size:N0} items");
                if (learners is null)
                {
                    learners = await PlatformLearners.SetUpAsync(core, catalog, size, count, options.Seed, run.RunId);
                    await PlatformLearners.WaitForOutboxAsync(http, run.CoreUrl);
                    popularity = await PopularityServer.StartAsync(run.CoreUrl, catalog, learners, count + 16);
                    // Each progress event's invalidation is repeated after Cache__SettleDelay (10 s); the cached phase waits it out.
                    settled = DateTime.UtcNow + SettleDelay;
                }
                await PlatformLearners.RefreshAsync(core, learners);
                var personal = await PlatformLearners.PrimeAsync(http, run.AiUrl, learners);
                if (settled > DateTime.UtcNow)
                {
                    await Task.Delay(settled - DateTime.UtcNow);
                }

                var admin = (await core.LoginAsync(PlatformRun.AdminEmail, run.AdminPassword)).Access;
                var ai = run.AiUrl.GetLeftPart(UriPartial.Authority);
                HttpRequestMessage Recommend(string server, int vu) =>
                    CoreClient.Authorized(HttpMethod.Get, $"{server}/api/v1/recommendations/{learners[vu].User.Id}", learners[vu]);
                async Task Invalidate(int vu, long n, CancellationToken ct)
                {
                    var learner = learners[vu];
                    var change = new ProgressEvent(Guid.NewGuid(), Interlocked.Increment(ref sequence), ProgressEventTypes.Updated, learner.User.Id,
                        DateTime.UtcNow, learner.Records[(int)(n % learner.Records.Count)]);
                    using var request = new HttpRequestMessage(HttpMethod.Post, $"{ai}/api/v1/sync/progress-events")
                    {
                        Content = JsonContent.Create(new ProgressEventBatch([change]), options: CyberHubJson.Options),
                        Headers = { Authorization = new("Bearer", admin) },
                    };
                    using var response = await http.SendAsync(request, ct);
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new HttpRequestException($"progress event: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
                    }
                }
                var phases = new List<PhaseResult>();
                var stages = new List<Stages>();
                var aiMetrics = new Uri(run.AiUrl, "/metrics");
                foreach (var phase in new[]
                {
                    new Phase(Hit, count, (vu, _) => Recommend(ai, vu)),
                    new Phase(Miss, count, (vu, _) => Recommend(ai, vu), Invalidate),
                    new Phase(Popularity, count, (vu, _) => Recommend(popularity!.BaseAddress.GetLeftPart(UriPartial.Authority), vu)),
                })
                {
                    await PlatformLearners.RefreshAsync(core, learners);
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    Console.Error.Write($"[{clock.Elapsed:mm\\:ss}] {run.Store} {size:N0}: {phase.Scenario} at {count}… ");
                    var before = await PrometheusText.ReadAsync(http, aiMetrics, StageSeries);
                    var result = await PhaseRunner.RunAsync(http, phase, options.Warmup, options.Duration, run.PostgresDatabases, run.Processes);
                    if (phase.Scenario != Popularity)
                    {
                        stages.Add(StagesOf(phase.Scenario, before, await PrometheusText.ReadAsync(http, aiMetrics, StageSeries)));
                    }
                    Console.Error.WriteLine($"{result.OkPerSecond:0} 2xx/s, p99 {result.PercentileMs(99):0.00} ms, {result.Errors} errors");
                    phases.Add(result);
                }
                var metrics = await PrometheusText.ReadAsync(http, aiMetrics,
                    "dotnet_gc_last_collection_heap_size_bytes", "dotnet_gc_last_collection_memory_committed_size_bytes");
                results.Add(new SizeResult(run.Store, size, import, imported, personal, phases, stages,
                    ProcStat.StatusKb(run.Ai.ProcessId, "VmRSS") / 1024.0,
                    metrics.GetValueOrDefault("dotnet_gc_last_collection_heap_size_bytes", double.NaN) / 1048576,
                    metrics.GetValueOrDefault("dotnet_gc_last_collection_memory_committed_size_bytes", double.NaN) / 1048576));
                if (size != options.Sizes[^1])
                {
                    await run.StopAiAsync();
                }
            }
        }
        finally
        {
            if (popularity is not null)
            {
                await popularity.DisposeAsync();
            }
        }
        return results;
    }

    private static string Render(PlatformOptions options, string machineAtStart, string machineAtEnd, TimeSpan took, IReadOnlyList<SizeResult> results, bool crashed)
    {
        var text = new StringBuilder();
        void Line(string line = "") => text.Append(line).Append('\n');
        string F(double value, string format) => PlatformReport.F(value, format);
        Line($"Recommendation scale curve: {options.Concurrency.Max()} learners asking at once, Core on {(options.Database == Database.Postgres ? "PostgreSQL" : "SQLite")}; " +
            $"{options.Warmup.TotalSeconds:0} s warm-up + {options.Duration.TotalSeconds:0} s measured per phase; took {took.TotalMinutes:0.0} min.");
        Line($"Machine: {MachineFacts.Describe()}; at start {machineAtStart}; at end {machineAtEnd}.");
        Line();
        Line("| store | items | phase | requests | 2xx/s | p50 ms | p95 ms | p99 ms | max ms | errors | 2xx/s ÷ popularity | p99 ÷ popularity |");
        Line("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var s in results)
        {
            var baseline = s.Phases.First(p => p.Phase.Scenario == Popularity);
            foreach (var p in s.Phases)
            {
                Line($"| {s.Store} | {s.Size:N0} | {p.Phase.Scenario}{(p.Capped ? " (capped)" : "")} | {p.Completed} | {F(p.OkPerSecond, "0")} | {F(p.PercentileMs(50), "0.00")} " +
                    $"| {F(p.PercentileMs(95), "0.00")} | {F(p.PercentileMs(99), "0.00")} | {F(p.MaxMs, "0.0")} | {p.Errors} " +
                    $"| {F(p.OkPerSecond / baseline.OkPerSecond, "0.00")} | {F(p.PercentileMs(99) / baseline.PercentileMs(99), "0.00")} |");
            }
        }
        Line();
        Line("AI process after each size's phases, and the import of that size's new items:");
        Line();
        Line("| store | items | AI RSS MB | GC heap after last collection MB | GC committed MB | items imported | import s | items/s | learners with personal picks |");
        Line("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var s in results)
        {
            Line($"| {s.Store} | {s.Size:N0} | {F(s.AiRssMb, "0")} | {F(s.AiGcHeapMb, "0")} | {F(s.AiGcCommittedMb, "0")} | {s.ImportedItems:N0} " +
                $"| {F(s.Import.TotalSeconds, "0.0")} | {F(s.ImportedItems / s.Import.TotalSeconds, "0")} | {s.Personal} of {options.Concurrency.Max()} |");
        }
        Line();
        Line("Where AI's time went (its own /metrics over each phase, warm-up included): mean server time of the recommendations route, and per request the calls to Core (progress) and the vector searches:");
        Line();
        Line("| store | items | phase | AI server ms | Core calls / request | Core call ms | searches / request | search ms |");
        Line("|---|--:|---|--:|--:|--:|--:|--:|");
        foreach (var s in results)
        {
            foreach (var t in s.Stages)
            {
                Line($"| {s.Store} | {s.Size:N0} | {t.Phase} | {F(t.ServerMs, "0.00")} | {F(t.CoreCallsPerRequest, "0.00")} | {F(t.CoreCallMs, "0.00")} " +
                    $"| {F(t.SearchesPerRequest, "0.00")} | {F(t.SearchMs, "0.00")} |");
            }
        }
        Line();
        PlatformReport.Resources(text, results.SelectMany(s => s.Phases.Select(p => ($"{s.Store} {s.Size:N0} {p.Phase.Scenario}", p))),
            options.Database == Database.Postgres || results.Any(s => s.Store == VectorStore.PgVector));
        Line();
        Line("Cache miss: before each timed request, untimed, an admin posts one progress event for the learner to AI's " +
            "`POST /api/v1/sync/progress-events` (as Core's outbox does), which drops the learner's cached picks; the timed request then " +
            "reads the learner's progress from Core, checks the profile, searches the items nearest it, ranks and caches. Import time is the whole " +
            "`cyberhub import` process: start, model load, embedding every item, writing the store.");
        PlatformReport.Notes(text, [.. results.SelectMany(s => s.Phases)], crashed);
        return text.ToString();
    }
}
