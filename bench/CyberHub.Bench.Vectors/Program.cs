using System.Diagnostics;
using CyberHub.Ai.VectorStore;
using CyberHub.Bench.Vectors;
using Microsoft.Extensions.Logging.Abstractions;

// Search latency, recall and memory of both vector store backends on synthetic catalogs; markdown on stdout,
// progress on stderr. Each size extends the previous catalog, so the largest size bounds the run.
if (args.FirstOrDefault() == "graph")
{
    return await GraphBench.RunAsync(args[1..]);
}
if (args.FirstOrDefault() == "index")
{
    return await IndexBench.RunAsync(args[1..]);
}
if (args.FirstOrDefault() == "index-open")
{
    return await IndexBench.OpenAsync(args[1..]);
}
if (args.FirstOrDefault() == "pg-scale")
{
    return await PgScaleBench.RunAsync(args[1..]);
}
if (args.FirstOrDefault() == "pg-read")
{
    return await PgReadBench.RunAsync(args[1..]);
}

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

var started = Stopwatch.StartNew();
var dataDirectory = Path.Combine(Path.GetTempPath(), $"cyberhub-bench-vectors-{Guid.NewGuid():N}");
var results = new List<SizeResult>();
await using var database = await BenchDatabase.CreateAsync(options.PostgresConnectionString);
try
{
    foreach (var name in options.Datasets)
    {
        var dataset = Dataset.Create(name);
        var pgConnection = await database.CreateSchemaAsync(name);
        await using var pg = new PgVectorStore(pgConnection, NullLogger.Instance);
        // Search is measured here, not the item graph: its upkeep would make the loads quadratic (`graph` measures it).
        pg.Graph.BuildOnStart = false;
        await pg.InitializeAsync();
        await pg.Graph.DeferAsync();
        var path = Path.Combine(dataDirectory, name, "vectors.db");
        var embedded = new EmbeddedVectorStore(path, NullLogger.Instance);
        embedded.Graph.BuildOnStart = false;
        await embedded.InitializeAsync();
        await embedded.Graph.DeferAsync();
        var loaded = 0;
        foreach (var size in options.Sizes)
        {
            Console.Error.WriteLine($"[{started.Elapsed:mm\\:ss}] {name}: loading items {loaded:N0}..{size:N0}");
            var items = Enumerable.Range(loaded, size - loaded).Select(i => (Dataset.KeyOf(i), dataset.Next())).ToArray();
            // The embedded store takes one write at a time; concurrent callers would only queue.
            var embeddedIngest = await Measure.LoadAsync(embedded, items, parallelism: 1);
            Console.Error.WriteLine($"[{started.Elapsed:mm\\:ss}] {name}: {(options.PgCopy ? "copying into PostgreSQL and building the index" : "upserting into PostgreSQL")}");
            var pgIngest = options.PgCopy
                ? await BenchDatabase.CopyAsync(pgConnection, pg, items)
                : new PgLoad(await Measure.LoadAsync(pg, items, options.LoadParallelism), null);
            await BenchDatabase.AnalyzeAsync(pgConnection);
            items = null;
            loaded = size;

            embedded.Dispose();
            var fileSize = Measure.FileSize(path);
            (embedded, var loadTime, var memory) = await Measure.ReopenAsync(path);
            Console.Error.WriteLine($"[{started.Elapsed:mm\\:ss}] {name}: {size:N0} items, searching");
            var queries = Enumerable.Range(0, options.Warmup + options.Queries).Select(_ => dataset.Next()).ToArray();
            var cases = new List<CaseResult>();
            foreach (var filter in new[] { null, "lab" })
            {
                var exact = await Measure.SearchAsync(embedded, queries, filter, options.Warmup);
                var approximate = await Measure.SearchAsync(pg, queries, filter, options.Warmup);
                cases.Add(new CaseResult(filter, exact.LatenciesMs, approximate.LatenciesMs, Measure.Recall(exact.Hits, approximate.Hits), exact.Hits));
            }
            var sweep = new List<EfResult>();
            foreach (var ef in options.EfSearch)
            {
                var (latencies, hits) = await BenchDatabase.SearchAtEfAsync(pgConnection, queries, ef, options.Warmup);
                sweep.Add(new EfResult(ef, latencies, Measure.Recall(cases[0].ExactHits, hits)));
            }
            var plan = await BenchDatabase.FilteredPlanAsync(pgConnection, queries[0], "lab");
            results.Add(new SizeResult(dataset.Name, dataset.Description, size, embeddedIngest, pgIngest, loadTime, memory, fileSize, plan, cases, sweep));
        }
        embedded.Dispose();
    }
}
finally
{
    if (Directory.Exists(dataDirectory))
    {
        Directory.Delete(dataDirectory, recursive: true);
    }
}

Console.Out.Write(Report.Render(args, database.ServerVersion, results, started.Elapsed));
return 0;
