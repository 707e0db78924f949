using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CyberHub.Contracts;

namespace CyberHub.Bench.Load.Platform;

/// <summary>
/// <c>mix</c>: each virtual user is a learner looping the journey against Core and AI — every 41 requests one login,
/// then ten rounds of: list progress, update a record (which Core's outbox tells AI about, dropping the learner's
/// cached picks), ask for recommendations, ask for a personality analysis. Reported per concurrency and per endpoint.
/// </summary>
public static class MixCommand
{
    public static readonly string[] Endpoints =
    [
        "login: POST /token/ (Core)",
        "progress list: GET /progress/?user= (Core)",
        "progress update: PATCH /progress/{id}/ (Core)",
        "recommendations: GET /recommendations/{id} (AI)",
        "personality: POST /personality/analyze (AI)",
    ];

    private const int Rounds = 10;
    private const int Cycle = 1 + 4 * Rounds;

    public static async Task<int> RunAsync(PlatformOptions options)
    {
        var catalog = new CatalogGenerator(options.Seed);
        var size = options.Sizes[0];
        var machine = MachineFacts.Now();
        await using var run = await PlatformRun.CreateAsync(options, options.Stores[0]);
        Console.Error.WriteLine($"Platform run {run.RunId}: {run.Description}; data in {run.DataDirectory}");
        await run.StartCoreAsync();
        Console.Error.WriteLine($"Importing {size:N0} generated items with `cyberhub import`…");
        var import = await run.ImportAsync(catalog, 0, size);
        await run.StartAiAsync();
        Console.Error.WriteLine($"Core (pid {run.Core!.ProcessId}) at {run.CoreUrl}, AI (pid {run.Ai!.ProcessId}) at {run.AiUrl}; imported in {import.TotalSeconds:0.0} s");

        using var http = CoreClient.CreateHttpClient(run.CoreUrl, options.Concurrency.Max() + 16);
        var core = new CoreClient(http);
        Console.Error.WriteLine($"Registering {options.Concurrency.Max()} learners with {PlatformLearners.RecordsEach} progress records each…");
        var learners = await PlatformLearners.SetUpAsync(core, catalog, size, options.Concurrency.Max(), options.Seed, run.RunId);
        await PlatformLearners.WaitForOutboxAsync(http, run.CoreUrl);
        var personal = await PlatformLearners.PrimeAsync(http, run.AiUrl, learners);

        var results = new List<PhaseResult>();
        foreach (var c in options.Concurrency)
        {
            await PlatformLearners.RefreshAsync(core, learners[..c]);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Console.Error.Write($"journey at {c} VUs… ");
            var result = await PhaseRunner.RunAsync(http, Journey(run, learners, c), options.Warmup, options.Duration, run.PostgresDatabases, run.Processes);
            Console.Error.WriteLine($"{result.OkPerSecond:0} 2xx/s, p99 {result.PercentileMs(99):0.0} ms, {result.Errors} errors");
            results.Add(result);
        }
        var crashed = run.Core.HasExited || run.Ai.HasExited;
        Console.Out.Write(Render(options, run, machine, MachineFacts.Now(), import, personal, learners.Length, results, crashed));
        return results.Any(r => r.Errors > 0) || crashed ? 1 : 0;
    }

    private static Phase Journey(PlatformRun run, Learner[] learners, int concurrency)
    {
        var logins = learners.Select(l => JsonSerializer.SerializeToUtf8Bytes(new TokenRequest(l.User.Email, null, l.Password), CyberHubJson.Options)).ToArray();
        var analyses = learners.Select(l => JsonSerializer.SerializeToUtf8Bytes(new PersonalityRequest(l.User.Id, null), CyberHubJson.Options)).ToArray();
        var core = run.CoreUrl.GetLeftPart(UriPartial.Authority);
        var ai = run.AiUrl.GetLeftPart(UriPartial.Authority);
        HttpRequestMessage Next(int vu, long n)
        {
            var learner = learners[vu];
            var position = (int)(n % Cycle);
            var endpoint = position == 0 ? 0 : 1 + (position - 1) % 4;
            var request = endpoint switch
            {
                0 => new HttpRequestMessage(HttpMethod.Post, $"{core}/api/v1/token/") { Content = Json(logins[vu]) },
                1 => CoreClient.Authorized(HttpMethod.Get, $"{core}/api/v1/progress/?user={learner.User.Id}&page_size=20", learner),
                // Below 100 %, so the record stays in progress and every update changes it.
                2 => CoreClient.Authorized(HttpMethod.Patch, $"{core}/api/v1/progress/{learner.RecordId}/", learner,
                    Json(Encoding.UTF8.GetBytes($$"""{"completion_percentage":{{n % 99 + 1}},"time_spent_seconds":{{n + 60}}}"""))),
                3 => CoreClient.Authorized(HttpMethod.Get, $"{ai}/api/v1/recommendations/{learner.User.Id}", learner),
                _ => CoreClient.Authorized(HttpMethod.Post, $"{ai}/api/v1/personality/analyze", learner, Json(analyses[vu])),
            };
            request.Options.Set(PhaseRunner.Endpoint, endpoint);
            return request;
        }
        return new Phase("learner journey", concurrency, Next, Endpoints: Endpoints);
    }

    private static ByteArrayContent Json(byte[] body) => new(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };

    private static string Render(PlatformOptions options, PlatformRun run, string machineAtStart, string machineAtEnd, TimeSpan import, int personal,
        int learners, IReadOnlyList<PhaseResult> results, bool crashed)
    {
        var text = new StringBuilder();
        void Line(string line = "") => text.Append(line).Append('\n');
        Line($"Learner journey mix: {run.Description}; catalog of {options.Sizes[0]:N0} generated items, imported with `cyberhub import` in " +
            $"{import.TotalSeconds:0.0} s ({options.Sizes[0] / import.TotalSeconds:0} items/s); {learners} learners with {PlatformLearners.RecordsEach} progress " +
            $"records each ({personal} got personal picks when primed); {options.Warmup.TotalSeconds:0} s warm-up + {options.Duration.TotalSeconds:0} s measured per level.");
        Line($"Machine: {MachineFacts.Describe()}; at start {machineAtStart}; at end {machineAtEnd}.");
        Line();
        Line("| VUs | endpoint | requests | 2xx/s | p50 ms | p95 ms | p99 ms | max ms | errors |");
        Line("|--:|---|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var r in results)
        {
            Line(PlatformReport.LatencyRow($"{r.Phase.Concurrency}", "**all**", r));
            foreach (var e in r.ByEndpoint!)
            {
                Line(PlatformReport.LatencyRow("", e.Phase.Scenario, e));
            }
        }
        Line();
        PlatformReport.Resources(text, results.Select(r => ($"{r.Phase.Concurrency} VUs", r)), run.PostgresDatabases is not null);
        Line();
        Line($"Mix per virtual user, in order: 1 login, then {Rounds} × (progress list, progress update, recommendations, personality analysis): " +
            $"{100.0 / Cycle:0.0} % logins, {100.0 * Rounds / Cycle:0.0} % each of the others. Every update is an outbox event that drops the learner's " +
            "cached recommendations and analysis in AI, so most recommendation requests run the whole pipeline.");
        PlatformReport.Notes(text, results, crashed);
        return text.ToString();
    }
}
