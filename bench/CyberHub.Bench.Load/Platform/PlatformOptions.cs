namespace CyberHub.Bench.Load.Platform;

public enum VectorStore
{
    Embedded,
    PgVector,
}

/// <summary>Options of the two platform modes, <c>mix</c> and <c>recommend</c>: Core and AI as processes of the built host.</summary>
public sealed record PlatformOptions(
    string Mode,
    Database Database,
    IReadOnlyList<VectorStore> Stores,
    IReadOnlyList<int> Sizes,
    IReadOnlyList<int> Concurrency,
    TimeSpan Duration,
    TimeSpan Warmup,
    string? PostgresConnectionString,
    string Redis,
    string HostDll,
    int Seed,
    IReadOnlyDictionary<string, string> ServiceEnvironment)
{
    public const string Usage = """
        Usage: dotnet run -c Release --project bench/CyberHub.Bench.Load -- mix|recommend [options]
          mix: learners on the journey (login, progress list, PATCH, recommendations, personality) against Core and AI
          recommend: GET recommendations, cached and uncached, against a popularity baseline, as the catalog grows
          --db sqlite|postgres        Core's database (default sqlite)
          --store embedded|pgvector   mix: the AI's vector store (default embedded; pgvector also puts Redis behind the caches)
          --stores embedded,pgvector  recommend: the stores to measure (default both)
          --items 10000               mix: catalog size (100..200000)
          --sizes 1000,10000,100000   recommend: catalog sizes, ascending; each size adds to the one before
          --concurrency 16,64,256     mix: virtual users (= learners) per phase; recommend: learners (default 64)
          --duration 10 --warmup 3    seconds measured, and of warm-up, per phase
          --pg CONNSTRING             PostgreSQL admin connection (default env CYBERHUB_BENCH_POSTGRES, else the test server on :55432)
          --redis HOST:PORT           Redis for the pgvector runs (default env CYBERHUB_BENCH_REDIS, else 127.0.0.1:56379)
          --host-dll PATH             the built cyberhub.dll (default src/CyberHub.Host/bin/Release/net10.0/cyberhub.dll)
          --seed 42                   seed of the generated catalog and of the learners' progress
          --service-env "K=V;K2=V2"   extra environment for both services, for experiments (e.g. Logging__LogLevel__Default=Warning)
        """;

    private const string TestPostgres = "Host=127.0.0.1;Port=55432;Username=cyberhub;Password=cyberhub;Database=postgres";

    public static PlatformOptions Parse(string mode, string[] args)
    {
        var values = BenchOptions.Values(args);
        string? Take(string key) => values.Remove(key, out var value) ? value : null;
        var mix = mode == "mix";

        var database = (Take("db") ?? "sqlite") switch
        {
            "sqlite" => Database.Sqlite,
            "postgres" => Database.Postgres,
            var other => throw new ArgumentException($"--db must be sqlite or postgres, not '{other}'."),
        };
        var stores = List(Take(mix ? "store" : "stores") ?? (mix ? "embedded" : "embedded,pgvector"), s => s switch
        {
            "embedded" => VectorStore.Embedded,
            "pgvector" => VectorStore.PgVector,
            _ => throw new ArgumentException($"a store is embedded or pgvector, not '{s}'."),
        });
        var sizes = mix
            ? [BenchOptions.Bounded(Take("items") ?? "10000", "items", 100, 200_000)]
            : List(Take("sizes") ?? "1000,10000,100000", s => BenchOptions.Bounded(s, "sizes", 100, 200_000));
        if (!sizes.SequenceEqual(sizes.Order()))
        {
            throw new ArgumentException("--sizes must ascend: each size adds items to the catalog of the one before.");
        }
        var concurrency = List(Take("concurrency") ?? (mix ? "16,64,256" : "64"), c => BenchOptions.Bounded(c, "concurrency", 1, 512));
        var options = new PlatformOptions(
            mode, database, stores, sizes, concurrency,
            TimeSpan.FromSeconds(BenchOptions.Bounded(Take("duration") ?? "10", "duration", 1, 600)),
            TimeSpan.FromSeconds(BenchOptions.Bounded(Take("warmup") ?? "3", "warmup", 0, 60)),
            Take("pg") ?? Environment.GetEnvironmentVariable("CYBERHUB_BENCH_POSTGRES") ?? TestPostgres,
            Take("redis") ?? Environment.GetEnvironmentVariable("CYBERHUB_BENCH_REDIS") ?? "127.0.0.1:56379",
            Take("host-dll") ?? ServiceProcess.DefaultHostDll(),
            BenchOptions.Bounded(Take("seed") ?? "42", "seed", 0, int.MaxValue),
            (Take("service-env") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries)
                .Select(pair => pair.Split('=', 2) is [var name, var value] ? (name, value) : throw new ArgumentException($"--service-env: '{pair}' is not NAME=VALUE."))
                .ToDictionary(p => p.name, p => p.value));
        if (values.Count > 0)
        {
            throw new ArgumentException($"Unknown option --{values.Keys.First()}.");
        }
        return options;
    }

    private static List<T> List<T>(string text, Func<string, T> parse)
    {
        var items = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(parse).Distinct().ToList();
        return items.Count > 0 ? items : throw new ArgumentException($"'{text}' names nothing.");
    }
}
