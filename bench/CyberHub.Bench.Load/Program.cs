using CyberHub.Bench.Load;
using CyberHub.Bench.Load.Platform;
using CyberHub.Bench.Load.Cohort;
using CyberHub.Bench.Load.Soak;

// `soak`: the learner journey against a Core process for minutes, with memory and connections sampled (Soak/).
if (args is ["soak", .. var soakArgs])
{
    return await SoakCommand.RunAsync(soakArgs);
}

// `cohort`: an organization of 10,000 learners and its instructors on PostgreSQL (Cohort/).
if (args is ["cohort", .. var cohortArgs])
{
    return await CohortCommand.RunAsync(cohortArgs);
}

// `mix` and `recommend`: Core and AI as processes of the built host, with a generated catalog (Platform/).
if (args is [("mix" or "recommend") and var mode, .. var platformArgs])
{
    PlatformOptions platform;
    try
    {
        platform = PlatformOptions.Parse(mode, platformArgs);
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine(e.Message);
        Console.Error.WriteLine(PlatformOptions.Usage);
        return 2;
    }
    return mode == "mix" ? await MixCommand.RunAsync(platform) : await RecommendCommand.RunAsync(platform);
}

// A bounded load run against Core over loopback HTTP; prints a markdown table on stdout, progress on stderr.
BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

if (options.Url is not null && options.Database == Database.Postgres)
{
    Console.Error.WriteLine("--db is ignored with --url: the running Core uses whatever database it was started with.");
}

await using var target = options.Url is { } url
    ? await CoreTarget.AttachAsync(url)
    : await CoreTarget.StartAsync(options.Database, options.PostgresConnectionString);
Console.Error.WriteLine($"Target: {target.Description}");

// One pooled connection per virtual user, with room for set-up calls.
using var http = CoreClient.CreateHttpClient(target.BaseAddress, Math.Max(options.Concurrency.Max(), options.LoginConcurrency) + 16);
var scenarios = new Scenarios(new CoreClient(http), options);
Console.Error.WriteLine("Setting up learners and progress records…");
await scenarios.SetUpAsync();

var results = new List<PhaseResult>();
foreach (var (phase, prepare) in scenarios.Phases())
{
    await prepare();
    // Each phase starts from a collected heap, so one phase's garbage is not another's pause.
    GC.Collect();
    GC.WaitForPendingFinalizers();
    Console.Error.Write($"{phase.Scenario} at {phase.Concurrency} VUs… ");
    var result = await PhaseRunner.RunAsync(http, phase, options.Warmup, options.Duration, target.PostgresDatabase);
    Console.Error.WriteLine($"{result.OkPerSecond:0} 2xx/s, p99 {result.PercentileMs(99):0.00} ms, {result.Errors} errors");
    results.Add(result);
}

Console.Out.Write(Report.Render(options, target, results));
return results.Any(r => r.Errors > 0) ? 1 : 0;
