namespace CyberHub.Bench.Vectors;

public sealed record BenchOptions(
    IReadOnlyList<int> Sizes,
    IReadOnlyList<string> Datasets,
    int Queries,
    int Warmup,
    int LoadParallelism,
    bool PgCopy,
    IReadOnlyList<int> EfSearch,
    string PostgresConnectionString)
{
    public const string DefaultPostgres = "Host=127.0.0.1;Port=55432;Username=cyberhub;Password=cyberhub;Database=postgres";

    public const string Usage = """
        Usage: dotnet run -c Release --project bench/CyberHub.Bench.Vectors -- [options]
          --sizes 10000,100000      catalog sizes, ascending; each size extends the previous catalog
          --datasets uniform,topics uniform: random unit vectors; topics: unit vectors around 1,000 seeded centres
          --queries 500             measured searches per case (after 100 unmeasured ones)
          --load-parallelism N      concurrent upserts while loading PostgreSQL (default 2 x processors)
          --pg-load upsert|copy     upsert: items go in through the store, into the live HNSW index (default);
                                    copy: the index is dropped, rows are bulk-copied and the index built over the
                                    whole table (the way to load 1,000,000 items in minutes, not an hour)
          --ef-search 40,100,200    also run unfiltered top-10 searches at these hnsw.ef_search values, with
                                    recall and latency for each (default 40,100,200; "none" skips them)
          --pg CONNSTRING           PostgreSQL admin connection (default: env CYBERHUB_BENCH_POSTGRES, else the
                                    scripts/test-services.sh instance); a fresh database is created and dropped
        """;

    public static BenchOptions Parse(string[] args)
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
        var options = new BenchOptions(
            Ints(values.GetValueOrDefault("sizes", "10000,100000")),
            values.GetValueOrDefault("datasets", "uniform,topics").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Ints(values.GetValueOrDefault("queries", "500"))[0],
            100,
            values.TryGetValue("load-parallelism", out var parallelism) ? Ints(parallelism)[0] : 2 * Environment.ProcessorCount,
            values.GetValueOrDefault("pg-load", "upsert") switch
            {
                "upsert" => false,
                "copy" => true,
                var other => throw new ArgumentException($"--pg-load must be upsert or copy, not '{other}'."),
            },
            values.GetValueOrDefault("ef-search", "40,100,200") is "none" ? [] : Ints(values.GetValueOrDefault("ef-search", "40,100,200")),
            values.GetValueOrDefault("pg") ?? (Environment.GetEnvironmentVariable("CYBERHUB_BENCH_POSTGRES") is { Length: > 0 } env ? env : DefaultPostgres));
        if (values.Keys.Except(["sizes", "datasets", "queries", "load-parallelism", "pg-load", "ef-search", "pg"]).FirstOrDefault() is { } unknown)
        {
            throw new ArgumentException($"Unknown option --{unknown}.");
        }
        if (options.Sizes.Count == 0 || !options.Sizes.SequenceEqual(options.Sizes.Order()) || options.Sizes[0] < 100 || options.Sizes[^1] > 1_000_000)
        {
            throw new ArgumentException("--sizes must be ascending, between 100 and 1,000,000.");
        }
        if (options.Datasets.Except(["uniform", "topics"]).Any() || options.Datasets.Count == 0)
        {
            throw new ArgumentException("--datasets takes uniform and/or topics.");
        }
        if (options.Queries is < 10 or > 100_000 || options.LoadParallelism is < 1 or > 256)
        {
            throw new ArgumentException("--queries must be 10..100000 and --load-parallelism 1..256.");
        }
        if (options.EfSearch.Any(ef => ef is < 10 or > 1000))
        {
            throw new ArgumentException("--ef-search values must be 10..1000 (pgvector's range is 1..1000; below 10 a top 10 cannot fill).");
        }
        return options;
    }

    private static int[] Ints(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => int.TryParse(v, out var n) ? n : throw new ArgumentException($"'{v}' is not a whole number."))
            .ToArray();
}
