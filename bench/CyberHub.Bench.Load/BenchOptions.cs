using System.Globalization;

namespace CyberHub.Bench.Load;

public enum Database
{
    Sqlite,
    Postgres,
}

public sealed record BenchOptions(
    Uri? Url,
    Database Database,
    string? PostgresConnectionString,
    IReadOnlyList<int> Concurrency,
    int LoginConcurrency,
    TimeSpan Duration,
    TimeSpan Warmup)
{
    public const string Usage = """
        Usage: dotnet run -c Release --project bench/CyberHub.Bench.Load -- [options]
          --url URL                target an already-running Core on loopback instead of starting one in-process
                                   (start it with RateLimiting__Enabled=false: one client sends far more than a person)
          --db sqlite|postgres     database of the in-process Core (default sqlite, a fresh temp data dir)
          --pg CONNSTRING          PostgreSQL admin connection (default: env CYBERHUB_BENCH_POSTGRES)
          --concurrency 16,64      virtual users per phase (1..512 each)
          --login-concurrency 4    virtual users for the PBKDF2-bound login scenario
          --duration 10            seconds measured per phase (1..600)
          --warmup 2               seconds of unmeasured warm-up before each phase (0..60)
        Or: ... -- cohort [options] an organization of 10,000 learners × 50 records: its summary and learners pages under
                                   16 instructors, PostgreSQL (see Cohort/CohortCommand.cs)
        Or: ... -- soak [options]  the learner journey against a Core process for minutes (see Soak/SoakOptions.cs)
        Or: ... -- mix [options]   learners on the journey against Core and AI processes of the built host, per endpoint
        Or: ... -- recommend [options]  GET recommendations cached, uncached and against a popularity baseline at catalog
                                   sizes 1k..100k, embedded store and pgvector (see Platform/PlatformOptions.cs)
        """;

    public static BenchOptions Parse(string[] args)
    {
        var values = Values(args);
        string? Take(string key) => values.Remove(key, out var value) ? value : null;

        var url = Take("url") is { } u ? LoopbackUrl(u) : null;
        var database = (Take("db") ?? "sqlite") switch
        {
            "sqlite" => Database.Sqlite,
            "postgres" => Database.Postgres,
            var other => throw new ArgumentException($"--db must be sqlite or postgres, not '{other}'."),
        };
        var pg = Take("pg") ?? Environment.GetEnvironmentVariable("CYBERHUB_BENCH_POSTGRES");
        if (url is null && database == Database.Postgres && string.IsNullOrWhiteSpace(pg))
        {
            throw new ArgumentException("--db postgres needs --pg or CYBERHUB_BENCH_POSTGRES.");
        }
        var concurrency = (Take("concurrency") ?? "16,64")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(c => Bounded(c, "concurrency", 1, 512)).Distinct().ToList();
        var options = new BenchOptions(
            url, database, pg, concurrency,
            Bounded(Take("login-concurrency") ?? "4", "login-concurrency", 1, 64),
            TimeSpan.FromSeconds(Bounded(Take("duration") ?? "10", "duration", 1, 600)),
            TimeSpan.FromSeconds(Bounded(Take("warmup") ?? "2", "warmup", 0, 60)));
        if (values.Count > 0)
        {
            throw new ArgumentException($"Unknown option --{values.Keys.First()}.");
        }
        return concurrency.Count > 0 ? options : throw new ArgumentException("--concurrency needs at least one level.");
    }

    /// <summary>The <c>--name value</c> pairs of a command line, by name.</summary>
    public static Dictionary<string, string> Values(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Unexpected argument '{args[i]}'.");
            }
            values[args[i][2..]] = args[++i];
        }
        return values;
    }

    public static int Bounded(string text, string name, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ArgumentException($"--{name} must be a whole number from {min} to {max}, not '{text}'.");

    // The harness only ever generates load against this machine.
    private static Uri LoopbackUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.IsLoopback
            ? uri
            : throw new ArgumentException($"--url must be an http(s) URL on loopback (127.0.0.1, [::1], localhost), not '{text}'.");
}
