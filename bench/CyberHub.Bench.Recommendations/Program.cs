using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using CyberHub.Ai.Embeddings;
using CyberHub.Ai.Recommendations;
using CyberHub.Bench.Recommendations;

// The evaluation harness of recommendations and search (docs/recommendations.md): replays simulated progress logs
// against real catalogs in the embedded vector store with MiniLM vectors, and reports every strategy with 95% intervals.
var options = Options.Parse(args);
var cancellationToken = CancellationToken.None;
var clock = Stopwatch.StartNew();
var work = Path.Combine(Path.GetTempPath(), $"cyberhub-bench-recommendations-{Environment.ProcessId}");
Directory.CreateDirectory(work);
var report = new StringBuilder();
void Say(string line)
{
    Console.WriteLine(line);
    report.AppendLine(line);
}

try
{
    using var embeddings = new MiniLmEmbeddingGenerator();
    using var demo = await Datasets.DemoAsync(embeddings, work, cancellationToken);
    if (options.Only == "search")
    {
        // Search alone: the demo catalog and the search set, nothing of the recommendation part.
        Say($"- machine: {Environment.ProcessorCount} logical cores (`nproc`), {CpuModel()}, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");
        Say($"- command: `dotnet run -c Release --project bench/CyberHub.Bench.Recommendations -- {string.Join(' ', args)}`");
        Say($"- catalog: demo {demo.Items.Count} items, embedded with {embeddings.ModelName} in {clock.Elapsed.TotalSeconds:F1} s");
        Say(await SearchBench.RunAsync(embeddings, demo, [.. CatalogImporterTexts(demo)], SearchQuery.Load(Datasets.DataPath(Datasets.SearchFile)), work, cancellationToken));
        Say($"- took {clock.Elapsed.TotalSeconds:F0} s");
        Directory.CreateDirectory(options.Out);
        await File.WriteAllTextAsync(Path.Combine(options.Out, "search.md"), report.ToString(), cancellationToken);
        Console.WriteLine($"Written: {Path.GetFullPath(Path.Combine(options.Out, "search.md"))}");
        return;
    }
    using var content = options.Only == "served" || options.TuneServed ? null : await Datasets.ContentOnlyAsync(embeddings, work, cancellationToken);
    var starterQuery = (await embeddings.EmbedAsync([RecommendationCore.StarterQuery], cancellationToken))[0];
    var embedded = clock.Elapsed;

    Say($"- machine: {Environment.ProcessorCount} logical cores (`nproc`), {CpuModel()}, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");
    Say($"- command: `dotnet run -c Release --project bench/CyberHub.Bench.Recommendations{(args.Length > 0 ? " -- " + string.Join(' ', args) : "")}`");
    Say($"- catalogs: demo {demo.Items.Count} items{(content is null ? "" : $", content-only {content.Items.Count} items in {content.Items.Select(i => i.Track).Distinct().Count()} groups")}; embedded with {embeddings.ModelName} in {embedded.TotalSeconds:F1} s");

    var tables = new List<ResultTable>();
    var multiInterest = new List<MultiInterestTable>();

    // (a) The simulated population over the demo catalog.
    var simulator = new LearnerSimulator(demo.Items, new SimulationSettings { Seed = options.Seed, Learners = options.Learners });
    var population = simulator.Run();
    var oracle = new OracleRecommender(simulator, demo.Items, options.Hidden);
    var lengths = population.Select(l => l.Log.Count).OrderBy(n => n).ToArray();
    Say($"- simulated population: {population.Count} learners (seed {options.Seed}), {lengths.Sum()} completions, log length median {lengths[lengths.Length / 2]}, "
        + $"mean {lengths.Average():F1}, max {lengths[^1]}; {population.Count(l => l.Log.Count > options.Hidden)} have more than {options.Hidden} completions and are evaluated");
    var byKey = demo.Items.ToDictionary(i => i.Key);
    var hiddenItems = population.Where(l => l.Log.Count > options.Hidden).SelectMany(l =>
    {
        var (history, next) = l.SplitAt(options.Hidden);
        var topics = history.Select(c => byKey[c.Item].Track).ToHashSet();
        return next.Select(c => topics.Contains(byKey[c.Item].Track));
    }).ToList();
    Say($"- of the hidden completions, {100.0 * hiddenItems.Count(x => x) / hiddenItems.Count:F1}% are in a topic the learner's visible history already has");
    var demoContext = new EvaluationContext("simulated population", demo.Store, demo.Items,
        [.. population.Select(l => l.Log.Count > options.Hidden ? l.SplitAt(options.Hidden).History : l.Log)], starterQuery);
    if (options.Only == "bare")
    {
        // The content-only set without metadata and other learners, and the served ranking before and now on the simulated population.
        ArgumentNullException.ThrowIfNull(content);
        using var bare = await BareContent.StripAsync(content, work, cancellationToken);
        var bareContext = BareContent.Context(bare, starterQuery);
        var bareLearners = ContentLearners.TimeSplit(bare.Items, options.ContentLearners, options.Seed + 1);
        var bareProbes = ContentLearners.TopicPrecision(bare.Items, options.ProbesPerGroup, completed: 3, options.Seed + 2);
        if (options.TuneSpace)
        {
            await CatalogSpace.TuneAsync(bareContext, bareLearners, bareProbes, options.Seed + 2, options.Hidden, Say, cancellationToken);
        }
        else if (options.TuneLexical)
        {
            await LexicalFusionRecommender.TuneAsync(bareContext, bareLearners, bareProbes, options.Seed + 2, options.Hidden, Say, cancellationToken);
        }
        else if (options.TuneBare || options.TuneNearest)
        {
            await BareContent.TuneAsync(bareContext, bareLearners, bareProbes, options.Seed + 2, demoContext, population, options.Hidden,
                options.TuneNearest ? BareContent.NearestGrid : BareContent.WordsGrid, Say, cancellationToken);
        }
        else
        {
            foreach (var table in await BareContent.TablesAsync(bareContext, bareLearners, bareProbes, options.Splits, options.Hidden, options.Seed + 2, cancellationToken))
            {
                Say(Report.Markdown(table));
            }
            IRecommender[] servedDemo = [new MeanEmbeddingRecommender(demoContext), new ServedRecommender(demoContext, BareContent.ServedDiffusion, settings: BareContent.Before),
                new ServedRecommender(demoContext, BareContent.ServedWide, settings: BareContent.Wide), new ServedRecommender(demoContext, Strategies.Served)];
            foreach (var split in options.Splits)
            {
                Say(Report.Markdown(await Evaluation.TimeSplitAsync(demoContext, population, split, options.Hidden, servedDemo, cancellationToken)));
                Say(Report.Markdown(await Evaluation.TimeSplitAsync(demoContext, population, split, options.Hidden, servedDemo, cancellationToken, crossTopicOnly: true)));
                Say(Report.Markdown(await Evaluation.MultiInterestAsync(demoContext, population, split, options.Hidden, servedDemo, cancellationToken)));
            }
            Say($"- cost: {await BlendTuning.InterleavedCostAsync(servedDemo[1..], population, options.Hidden, 3, cancellationToken)}");
        }
        Say($"- took {clock.Elapsed.TotalSeconds:F0} s");
        Directory.CreateDirectory(options.Out);
        await File.WriteAllTextAsync(Path.Combine(options.Out, "bare.md"), report.ToString(), cancellationToken);
        return;
    }
    if (options.TuneBlend)
    {
        await BlendTuning.RunAsync(demoContext, population, options.Hidden, cancellationToken);
        return;
    }
    if (options.TuneServed)
    {
        await BlendTuning.TuneServedAsync(demoContext, population, options.Hidden, Say, cancellationToken, oracle);
        return;
    }
    if (options.Only == "served")
    {
        // The served ranking beside the baselines and every component, on the simulated population only (no learned blend fit).
        var names = new HashSet<string> { Strategies.MeanEmbedding, Strategies.Today, Strategies.Diffusion, Strategies.MultiInterest, Strategies.CoCompletion, Strategies.Path, Strategies.ServedBefore, Strategies.Served };
        var servedStrategies = Strategies.All.Where(s => names.Contains(s.Name)).Select(s => s.Create(demoContext))
            .Append(new ServedRecommender(demoContext, BareContent.ServedDiffusion, settings: BareContent.Before)).Append(oracle).ToList();
        foreach (var split in options.Splits)
        {
            Say(Report.Markdown(await Evaluation.TimeSplitAsync(demoContext, population, split, options.Hidden, servedStrategies, cancellationToken)));
            Say(Report.Markdown(await Evaluation.MultiInterestAsync(demoContext, population, split, options.Hidden, servedStrategies, cancellationToken)));
        }
        Say($"- cost: {await BlendTuning.InterleavedCostAsync([.. servedStrategies.Where(s => s.Name is Strategies.ServedBefore or Strategies.Served or BareContent.ServedDiffusion)], population, options.Hidden, 3, cancellationToken)}");
        Say($"- took {clock.Elapsed.TotalSeconds:F0} s");
        Directory.CreateDirectory(options.Out);
        await File.WriteAllTextAsync(Path.Combine(options.Out, "served.md"), report.ToString(), cancellationToken);
        return;
    }
    if (!options.TuneContent)
    {
        // The learned blend: fitted on the tuning split here, then every table uses it.
        var demoModel = await BlendTuning.FitAsync(demoContext, population, options.Hidden);
        (await BlendInputs.ForAsync(demoContext)).Model = demoModel;
        Say($"- learned blend, fitted on the tuning split of the simulated population: {BlendTuning.Describe(demoModel)}");
        var demoStrategies = Strategies.All.Select(s => s.Create(demoContext)).Append(oracle).ToList();
        foreach (var split in options.Splits)
        {
            tables.Add(await Evaluation.TimeSplitAsync(demoContext, population, split, options.Hidden, demoStrategies, cancellationToken));
        }
        foreach (var split in options.Splits)
        {
            multiInterest.Add(await Evaluation.MultiInterestAsync(demoContext, population, split, options.Hidden, demoStrategies, cancellationToken));
        }
        // The harder slice: learners whose next completions include a topic their history does not have.
        foreach (var split in options.Splits)
        {
            tables.Add(await Evaluation.TimeSplitAsync(demoContext, population, split, options.Hidden, demoStrategies, cancellationToken, crossTopicOnly: true));
        }
    }

    // (b) The content-only set: learners who stay in one rule group, and the topic-precision protocol.
    ArgumentNullException.ThrowIfNull(content);
    var contentLearners = ContentLearners.TimeSplit(content.Items, options.ContentLearners, options.Seed + 1);
    var contentContext = new EvaluationContext("content-only (SCAP rules)", content.Store, content.Items,
        [.. contentLearners.Select(l => l.Log.Count > options.Hidden ? l.SplitAt(options.Hidden).History : l.Log)], starterQuery);
    var probes = ContentLearners.TopicPrecision(content.Items, options.ProbesPerGroup, completed: 3, options.Seed + 2);
    if (options.TuneContent)
    {
        await BlendTuning.TuneContentAsync(contentContext, contentLearners, probes, options.Seed + 2, options.Hidden, cancellationToken);
        return;
    }
    var contentModel = await BlendTuning.FitAsync(contentContext, contentLearners, options.Hidden);
    (await BlendInputs.ForAsync(contentContext)).Model = contentModel;
    Say($"- learned blend, fitted on the tuning split of the content-only set: {BlendTuning.Describe(contentModel)}");
    var contentStrategies = Strategies.All.Select(s => s.Create(contentContext)).ToList();
    foreach (var split in options.Splits)
    {
        tables.Add(await Evaluation.TimeSplitAsync(contentContext, contentLearners, split, options.Hidden, contentStrategies, cancellationToken));
    }
    foreach (var split in options.Splits)
    {
        tables.Add(await Evaluation.TopicPrecisionAsync(contentContext, probes, split, options.Seed + 2, contentStrategies, cancellationToken));
    }
    using (var bare = await BareContent.StripAsync(content, work, cancellationToken))
    {
        tables.AddRange(await BareContent.TablesAsync(BareContent.Context(bare, starterQuery), ContentLearners.TimeSplit(bare.Items, options.ContentLearners, options.Seed + 1),
            ContentLearners.TopicPrecision(bare.Items, options.ProbesPerGroup, completed: 3, options.Seed + 2), options.Splits, options.Hidden, options.Seed + 2, cancellationToken));
    }

    // Search over the demo catalog.
    var queries = SearchQuery.Load(Datasets.DataPath(Datasets.SearchFile));
    ISearchStrategy[] searchStrategies =
    [
        new SemanticSearch(embeddings, demo.Store),
        new Bm25Search([.. CatalogImporterTexts(demo)]),
    ];
    var searchResults = new List<SearchResult>();
    // --only recommendations: both data sets, no search part.
    foreach (var strategy in options.Only == "recommendations" ? [] : searchStrategies)
    {
        searchResults.Add(await SearchEvaluation.RunAsync(strategy, queries, cancellationToken));
    }

    Say($"- cost per call (mean over the reporting learners of the time split, after the inputs are built, single thread): {await BlendTuning.CostAsync(demoContext, population, options.Hidden, cancellationToken)}; "
        + $"content-only: {await BlendTuning.CostAsync(contentContext, contentLearners, options.Hidden, cancellationToken)}");
    Say($"- took {clock.Elapsed.TotalSeconds:F0} s");
    Say("");
    foreach (var table in tables)
    {
        Say(Report.Markdown(table));
    }
    foreach (var table in multiInterest)
    {
        Say(Report.Markdown(table));
    }
    if (options.Only != "recommendations")
    {
        Say(Report.Markdown(searchResults, queries.Count(q => !q.Nonsense), queries.Count(q => q.Nonsense)));
        Say(await SearchBench.RunAsync(embeddings, demo, [.. CatalogImporterTexts(demo)], queries, work, cancellationToken));
    }

    Directory.CreateDirectory(options.Out);
    await File.WriteAllTextAsync(Path.Combine(options.Out, "recommendations.md"), report.ToString(), cancellationToken);
    await File.WriteAllTextAsync(Path.Combine(options.Out, "recommendations.json"), Report.Json(new
    {
        options.Seed,
        options.Learners,
        options.ContentLearners,
        options.ProbesPerGroup,
        options.Hidden,
        Tables = tables,
        MultiInterest = multiInterest,
        Search = searchResults.Select(r => new
        {
            r.Strategy, r.ScoreKind, r.Ndcg, r.Mrr, r.Queries, r.MedianTopScore, r.LowestTopScore,
            Nonsense = r.Nonsense.Select(n => new { n.Query, n.TopScore, n.TopItem }),
        }),
    }), cancellationToken);
    Console.WriteLine($"Written: {Path.GetFullPath(Path.Combine(options.Out, "recommendations.md"))} and recommendations.json");
}
finally
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    Directory.Delete(work, recursive: true);
}

// The text the importer embeds for an item, for the lexical baseline to index the same words.
static IEnumerable<(CyberHub.Ai.VectorStore.ContentKey, string)> CatalogImporterTexts(LoadedCatalog catalog) =>
    CyberHub.Ai.Catalog.CatalogImporter.DemoCatalog().Select(e => (new CyberHub.Ai.VectorStore.ContentKey(e.ContentType, e.ContentId), $"{e.Title}. {e.Description}"))
        .Where(d => catalog.Items.Any(i => i.Key == d.Item1));

static string CpuModel()
{
    const string cpuInfo = "/proc/cpuinfo";
    var line = File.Exists(cpuInfo) ? File.ReadLines(cpuInfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) : null;
    return line?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();
}

internal sealed record Options(int Seed, int Learners, int ContentLearners, int ProbesPerGroup, int Hidden, string Out, IReadOnlyList<string> Splits, bool TuneBlend = false, bool TuneContent = false, string? Only = null, bool TuneServed = false, bool TuneBare = false, bool TuneLexical = false, bool TuneSpace = false, bool TuneNearest = false)
{
    public static Options Parse(string[] args)
    {
        var options = new Options(20261205, 4000, 2000, 60, 3, Path.Combine("artifacts", "recommendations"), [Learner.Tuning, Learner.Reporting]);
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Number() => int.Parse(Next(), CultureInfo.InvariantCulture);
            options = args[i] switch
            {
                "--seed" => options with { Seed = Number() },
                "--learners" => options with { Learners = Number() },
                "--content-learners" => options with { ContentLearners = Number() },
                "--probes-per-group" => options with { ProbesPerGroup = Number() },
                "--hidden" => options with { Hidden = Number() },
                "--out" => options with { Out = Next() },
                "--split" => options with { Splits = [Next()] },
                "--tune-blend" => options with { TuneBlend = true },
                "--tune-content" => options with { TuneContent = true },
                "--tune-served" => options with { TuneServed = true },
                "--tune-bare" => options with { TuneBare = true, Only = "bare" },
                "--tune-nearest" => options with { TuneNearest = true, Only = "bare" },
                "--tune-lexical" => options with { TuneLexical = true, Only = "bare" },
                "--tune-space" => options with { TuneSpace = true, Only = "bare" },
                "--only" => options with { Only = Next() is var only && only is "search" or "served" or "recommendations" or "bare" ? only : throw new ArgumentException("--only takes: search, served, recommendations, bare") },
                _ => throw new ArgumentException(
                    $"Unknown option {args[i]}. Options: --seed N, --learners N, --content-learners N, --probes-per-group N, --hidden K, --out DIR, --split tuning|reporting, --tune-blend, --tune-content, --tune-served, --tune-bare, --tune-nearest, --tune-lexical, --tune-space, --only search|served|recommendations|bare"),
            };
        }
        return options;
    }
}
