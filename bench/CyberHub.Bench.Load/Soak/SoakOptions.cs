using System.Globalization;

namespace CyberHub.Bench.Load.Soak;

public sealed record SoakOptions(
    Database Database,
    string? PostgresConnectionString,
    string? HostDll,
    int VirtualUsers,
    TimeSpan Duration,
    TimeSpan SampleInterval,
    string? SamplesFile)
{
    public const string Usage = """
        Usage: dotnet run -c Release --project bench/CyberHub.Bench.Load -- soak [options]
          --db sqlite|postgres     Core's database (default sqlite, a fresh data directory)
          --pg CONNSTRING          PostgreSQL admin connection for --db postgres (default: env CYBERHUB_BENCH_POSTGRES)
          --host-dll PATH          the built cyberhub.dll (default src/CyberHub.Host/bin/Release/net10.0/cyberhub.dll;
                                   build it first: dotnet build -c Release src/CyberHub.Host)
          --vus 96                 virtual users, each a learner on the journey (1..512)
          --minutes 5              how long the journey runs (1..240)
          --sample 5               seconds between samples of the Core process (1..60)
          --samples FILE           also write every sample as CSV to FILE
        """;

    public static SoakOptions Parse(string[] args)
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
        string? Take(string key) => values.Remove(key, out var value) ? value : null;

        var database = (Take("db") ?? "sqlite") switch
        {
            "sqlite" => Database.Sqlite,
            "postgres" => Database.Postgres,
            var other => throw new ArgumentException($"--db must be sqlite or postgres, not '{other}'."),
        };
        var pg = Take("pg") ?? Environment.GetEnvironmentVariable("CYBERHUB_BENCH_POSTGRES");
        if (database == Database.Postgres && string.IsNullOrWhiteSpace(pg))
        {
            throw new ArgumentException("--db postgres needs --pg or CYBERHUB_BENCH_POSTGRES.");
        }
        var options = new SoakOptions(
            database,
            pg,
            Take("host-dll"),
            Bounded(Take("vus") ?? "96", "vus", 1, 512),
            TimeSpan.FromMinutes(Bounded(Take("minutes") ?? "5", "minutes", 1, 240)),
            TimeSpan.FromSeconds(Bounded(Take("sample") ?? "5", "sample", 1, 60)),
            Take("samples"));
        return values.Count == 0 ? options : throw new ArgumentException($"Unknown option --{values.Keys.First()}.");
    }

    private static int Bounded(string text, string name, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ArgumentException($"--{name} must be a whole number from {min} to {max}, not '{text}'.");
}
