using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using System.Text.Json;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.Embeddings;
using CyberHub.Ai.VectorStore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberHub.Bench.Vectors;

/// <summary>
/// The embedded store's approximate index against its exact scan, on sentence embeddings of real catalog text:
/// recall@10 against the exact top 10, latency (index and exact scan interleaved query by query), memory, restart
/// time with the saved index and the time to rebuild it. Markdown on stdout, progress on stderr.
/// <para>
/// The text: the demo catalog's items, the SCAP rules of bench/CyberHub.Bench.Recommendations (title + description,
/// and each description sentence on its own), embedded with the service's MiniLM. Beyond those few thousand real
/// embeddings, items are mixes of two of them plus a little noise (normalise(a + w·b + 0.1·noise), w in 0.2..1),
/// so the catalog keeps the real embeddings' shape. Queries: the judged search queries' texts, then fresh mixes.
/// </para>
/// </summary>
public static class IndexBench
{
    public const string Usage = """
        Usage: dotnet run -c Release --project bench/CyberHub.Bench.Vectors -- index [options]
          --size 100000          catalog size
          --queries 1000         measured searches per case (after 100 unmeasured ones)
          --candidates 50,100    VectorSearch:Candidates values to measure
          --bulk                 write the items straight into the SQLite file (as a version before the vector file
                                 left it: no index, no vector file) instead of upserting them one at a time; the first
                                 start then writes the vector file and builds the index (timed)
          --load-exact-below 0   VectorSearch:ExactScanBelow of the store the items are upserted into (0: the index is
                                 kept from the first write; the service's default 5000 keeps none below 5,000 items)
          --graph-lists          with --bulk: also write an item graph of the stored shape (10 neighbours per item, drawn at
                                 random: their similarity does not matter here) marked built, so the starts and the memory
                                 figures include loading the graph as the service does
          --keep DIR             build the store in DIR and keep it there (for `index-open`); default a temporary folder, deleted
          --graph 200            after the searches, build the item graph from scratch (through the index), time 20
                                 upserts that keep it, and check this many random lists against brute force (0: skip)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var size = 100_000;
        var queryCount = 1000;
        int[] candidateValues = [50, 100, 200];
        var bulk = false;
        var graphLists = false;
        var graphSamples = 0;
        string? keep = null;
        var loadExactBelow = 0;
        for (var i = 0; i < args.Length; i += 2)
        {
            if (args[i] is "--bulk" or "--graph-lists")
            {
                bulk |= args[i] == "--bulk";
                graphLists |= args[i] == "--graph-lists";
                i--;
                continue;
            }
            if (i + 1 >= args.Length)
            {
                Console.Error.WriteLine(Usage);
                return 2;
            }
            switch (args[i])
            {
                case "--load-exact-below": loadExactBelow = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--keep": keep = Path.GetFullPath(args[i + 1]); break;
                case "--graph": graphSamples = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--size": size = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--queries": queryCount = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--candidates": candidateValues = [.. args[i + 1].Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))]; break;
                default: Console.Error.WriteLine(Usage); return 2;
            }
        }
        if (graphLists && !bulk)
        {
            Console.Error.WriteLine("--graph-lists needs --bulk.");
            return 2;
        }
        const int Warmup = 100;
        var clock = Stopwatch.StartNew();
        var (bases, queryTexts) = await RealEmbeddingsAsync(clock);
        Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] {bases.Length:N0} real embeddings, {queryTexts.Length} query texts");

        var random = new Random(17);
        var vectors = new float[size][];
        for (var i = 0; i < size; i++)
        {
            vectors[i] = i < bases.Length ? bases[i] : Mix(bases, random);
        }
        var queries = new float[Warmup + queryCount][];
        for (var i = 0; i < queries.Length; i++)
        {
            queries[i] = i - Warmup is var q && q >= 0 && q < queryTexts.Length ? queryTexts[q] : Mix(bases, random);
        }

        var directory = keep ?? Path.Combine(Path.GetTempPath(), $"cyberhub-bench-index-{Guid.NewGuid():N}");
        if (keep is not null && Directory.Exists(keep) && Directory.EnumerateFileSystemEntries(keep).Any())
        {
            Console.Error.WriteLine($"--keep {keep}: the folder is not empty.");
            return 2;
        }
        var path = Path.Combine(directory, "vectors.db");
        var report = new StringBuilder();
        try
        {
            Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] loading {size:N0} items{(bulk ? " (bulk)" : "")}");
            var loadStarted = Stopwatch.GetTimestamp();
            using (var store = Open(path, loadExactBelow, 100))
            {
                await store.InitializeAsync();
                await store.Graph.DeferAsync();
                for (var i = 0; i < (bulk ? 0 : size); i++)
                {
                    await store.UpsertAsync(Measure.Item(Dataset.KeyOf(i)), [vectors[i]]);
                }
            }
            var loadSeconds = Stopwatch.GetElapsedTime(loadStarted).TotalSeconds;
            string? firstStart = null;
            if (bulk)
            {
                await BulkWriteAsync(path, vectors);
                if (graphLists)
                {
                    Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] item graph: {ItemGraph.K} random neighbours an item");
                    await BulkGraphAsync(path, size);
                }
                loadSeconds = Stopwatch.GetElapsedTime(loadStarted).TotalSeconds;
                foreach (var file in Directory.EnumerateFiles(directory, "vectors.db.*").Where(f => f.EndsWith(".usearch", StringComparison.Ordinal) || f.EndsWith(".vectors", StringComparison.Ordinal)))
                {
                    File.Delete(file);
                }
                Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] first start: vector file and index");
                var started = Stopwatch.GetTimestamp();
                using var first = Open(path, 0, 100);
                await first.InitializeAsync();
                var ready = Stopwatch.GetElapsedTime(started);
                await first.IndexBuilt;
                firstStart = $"- first start on the bulk-written file: ready in {ready.TotalSeconds:N1} s (vector file {first.VectorsStart} from SQLite), " +
                    $"index built in the background {Stopwatch.GetElapsedTime(started).TotalSeconds:N1} s after the start ({Environment.ProcessorCount} threads)";
            }

            Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] exact top 10 by brute force");
            var truth = new Dictionary<string, ContentKey[][]>
            {
                ["none"] = BruteForce(vectors, queries, Warmup, null),
                ["lab"] = BruteForce(vectors, queries, Warmup, "lab"),
            };

            var rssBefore = Rss();
            var memoryBefore = ProcessMemory();
            var heapBefore = Heap();
            var restart = Stopwatch.GetTimestamp();
            var indexed = Open(path, 0, candidateValues[0]);
            await indexed.InitializeAsync();
            var restartMs = Stopwatch.GetElapsedTime(restart).TotalMilliseconds;
            var rss = Rss() - rssBefore;
            var heap = Heap() - heapBefore;
            var memoryOpened = ProcessMemory();
            var indexStart = indexed.IndexStart;
            var indexFile = Directory.EnumerateFiles(directory, "*.usearch").Sum(f => new FileInfo(f).Length);
            using var exact = Open(path, int.MaxValue, 100);
            await exact.InitializeAsync();

            report.AppendLine(CultureInfo.InvariantCulture, $"Embedded store, approximate index vs exact scan: {size:N0} items ({bases.Length:N0} real MiniLM embeddings, the rest mixes of two), " +
                $"{queryCount} top-10 queries ({Math.Min(queryTexts.Length, queryCount)} real query texts, the rest mixes), {Environment.ProcessorCount} cores, load average {LoadAverage()}.");
            report.AppendLine();
            report.AppendLine(bulk
                ? string.Create(CultureInfo.InvariantCulture, $"- load: {size / loadSeconds:N0} rows/s written straight into SQLite")
                : string.Create(CultureInfo.InvariantCulture, $"- load: {size / loadSeconds:N0} upserts/s (one at a time, index kept on every write)"));
            if (firstStart is not null)
            {
                report.AppendLine(firstStart);
            }
            if (graphLists)
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"- the file holds an item graph of {size:N0} lists of {ItemGraph.K} (neighbours drawn at random), read by every start below");
            }
            report.AppendLine(CultureInfo.InvariantCulture, $"- restart with the saved index ({indexStart}, vector file {indexed.VectorsStart}): {restartMs:N0} ms, of which the index {indexed.IndexOpenTime.TotalMilliseconds:N0} ms (the rest: the SQLite rows into memory); index file {indexFile / 1048576.0:N1} MB");
            report.AppendLine(CultureInfo.InvariantCulture, $"- memory of the opened store: {rss / 1048576.0:N0} MB resident ({heap / 1048576.0:N0} MB managed); {Delta(memoryBefore, memoryOpened)}");
            report.AppendLine();
            report.AppendLine("| candidates | filter | recall@10 | index p50 ms | index p99 ms | exact scan p50 ms | exact scan p99 ms |");
            report.AppendLine("|---:|---|---:|---:|---:|---:|---:|");
            foreach (var candidates in candidateValues)
            {
                if (candidates != candidateValues[0])
                {
                    indexed.Dispose();
                    indexed = Open(path, 0, candidates);
                    await indexed.InitializeAsync();
                }
                foreach (var filter in new[] { null, "lab" })
                {
                    Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] candidates {candidates}, filter {filter ?? "none"}");
                    var (indexMs, exactMs, hits) = await InterleavedAsync(indexed, exact, queries, Warmup, filter);
                    var recall = Measure.Recall(truth[filter ?? "none"], hits);
                    report.AppendLine(CultureInfo.InvariantCulture,
                        $"| {candidates} | {filter ?? "none"} | {recall:F3} | {Measure.Percentile(indexMs, 50):F3} | {Measure.Percentile(indexMs, 99):F3} | {Measure.Percentile(exactMs, 50):F3} | {Measure.Percentile(exactMs, 99):F3} |");
                }
            }
            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"- memory after the searches: {Delta(memoryBefore, ProcessMemory())}");
            if (graphSamples > 0)
            {
                await GraphAsync(indexed, vectors, graphSamples, report, clock);
                report.AppendLine(CultureInfo.InvariantCulture, $"- memory with the graph built: {Delta(memoryBefore, ProcessMemory())}");
            }
            indexed.Dispose();
            if (bulk)
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"- run: {clock.Elapsed.TotalMinutes:N1} min, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
                Console.Out.Write(report.ToString());
                return 0;
            }

            Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] rebuild from scratch");
            foreach (var file in Directory.EnumerateFiles(directory, "*.usearch"))
            {
                File.Delete(file);
            }
            var rebuild = Stopwatch.GetTimestamp();
            using (var rebuilt = Open(path, 0, 100))
            {
                await rebuilt.InitializeAsync();
                report.AppendLine();
                report.AppendLine(CultureInfo.InvariantCulture, $"- index missing at start: store ready in {Stopwatch.GetElapsedTime(rebuild).TotalMilliseconds:N0} ms (searching exactly meanwhile)");
                await rebuilt.IndexBuilt;
                report.AppendLine(CultureInfo.InvariantCulture, $"- and the index rebuilt in the background {Stopwatch.GetElapsedTime(rebuild).TotalSeconds:N1} s after the start (one thread)");
            }
        }
        finally
        {
            if (keep is null && Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        report.AppendLine(CultureInfo.InvariantCulture, $"- run: {clock.Elapsed.TotalMinutes:N1} min, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.Out.Write(report.ToString());
        return 0;
    }

    public const string OpenUsage = """
        Usage: dotnet run -c Release --project bench/CyberHub.Bench.Vectors -- index-open --path DIR/vectors.db [--times 3] [--words]
          Opens a kept store (`index --keep DIR`) as the service does, item graph included, and reports each start's time
          to ready and the memory the opened store holds. Changes nothing in the files (no write is made).
          --words   then also counts the catalog's words as the first recommendation after a start does: the time (and
                    how long of it the write lock was held), the distinct words, and the memory the counts hold
        """;

    /// <summary>Starts of a kept store: time to ready (the index's share apart) and the memory the opened store holds.</summary>
    public static async Task<int> OpenAsync(string[] args)
    {
        string? path = null;
        var times = 3;
        var words = args.Contains("--words");
        args = [.. args.Where(a => a != "--words")];
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--path": path = args[i + 1]; break;
                case "--times": times = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine(OpenUsage); return 2;
            }
        }
        if (path is null || !File.Exists(path) || times is < 1 or > 20)
        {
            Console.Error.WriteLine(OpenUsage);
            return 2;
        }
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Starts of {path} ({new FileInfo(path).Length / 1048576.0:N0} MB), {Environment.ProcessorCount} cores, load average {LoadAverage()}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC."));
        Console.Out.WriteLine();
        Console.Out.WriteLine("| start | items | ready ms | of which the index ms | the item graph ms | index | vector file | managed MB | process RSS |"
            + (words ? " words counted ms (of which the write lock held) | distinct words | counts' managed MB | process RSS after |" : ""));
        Console.Out.WriteLine("|---:|---:|---:|---:|---:|---|---|---:|---|" + (words ? "---:|---:|---:|---|" : ""));
        for (var t = 1; t <= times; t++)
        {
            var memoryBefore = ProcessMemory();
            var heapBefore = Heap();
            var started = Stopwatch.GetTimestamp();
            using var store = new EmbeddedVectorStore(path, NullLogger.Instance);
            store.Graph.BuildOnStart = false;
            await store.InitializeAsync();
            var ready = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var heap = Heap() - heapBefore;
            var count = await store.CountAsync();
            var row = string.Create(CultureInfo.InvariantCulture,
                $"| {t} | {count:N0} | {ready:N0} | {store.IndexOpenTime.TotalMilliseconds:N0} | {store.Graph.LoadTime.TotalMilliseconds:N0} | {store.IndexStart} | {store.VectorsStart} | {heap / 1048576.0:N0} | {Delta(memoryBefore, ProcessMemory())} |");
            if (words)
            {
                var heapOpened = Heap();
                var counting = Stopwatch.GetTimestamp();
                // Until the count has its texts it holds the write lock; it counts them without it.
                var locked = 0.0;
                store.Graph.WordsSnapshotTaken = () =>
                {
                    locked = Stopwatch.GetElapsedTime(counting).TotalMilliseconds;
                    return Task.CompletedTask;
                };
                // One word of every synthetic title: the first call counts every item's words, then answers from the counts.
                var counted = await store.Graph.TermItemsAsync(["title"]);
                var countingMs = Stopwatch.GetElapsedTime(counting).TotalMilliseconds;
                row += string.Create(CultureInfo.InvariantCulture,
                    $" {countingMs:N0} (write lock {locked:N1}) | {store.Graph.CountedWords:N0} (\"title\" in {counted.PerWord.GetValueOrDefault("title"):N0} of {counted.Items:N0}) | {(Heap() - heapOpened) / 1048576.0:N0} | {Delta(memoryBefore, ProcessMemory())} |");
            }
            Console.Out.WriteLine(row);
        }
        return 0;
    }

    /// <summary>
    /// The items written straight into the store's SQLite file, the record in <c>content_items</c> and the vector in
    /// <c>content_vectors</c>, 10,000 items a transaction (no chunk rows: no search reads them).
    /// </summary>
    private static async Task BulkWriteAsync(string path, float[][] vectors)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        var blob = new byte[ContentVectors.Dimensions * sizeof(float)];
        for (var start = 0; start < vectors.Length; start += 10_000)
        {
            await using var transaction = connection.BeginTransaction();
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO content_items (content_type, content_id, title, description, metadata, chunk_count, created_at, updated_at, created_by, label)
                VALUES ($type, $id, $title, $description, $metadata, 1, $at, $at, NULL, $label);
                INSERT INTO content_vectors (label, embedding) VALUES ($label, $embedding);
                """;
            var type = insert.Parameters.Add("$type", Microsoft.Data.Sqlite.SqliteType.Text);
            var id = insert.Parameters.Add("$id", Microsoft.Data.Sqlite.SqliteType.Text);
            var title = insert.Parameters.Add("$title", Microsoft.Data.Sqlite.SqliteType.Text);
            var description = insert.Parameters.Add("$description", Microsoft.Data.Sqlite.SqliteType.Text);
            var metadata = insert.Parameters.Add("$metadata", Microsoft.Data.Sqlite.SqliteType.Text);
            insert.Parameters.AddWithValue("$at", Measure.Now.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
            var embedding = insert.Parameters.Add("$embedding", Microsoft.Data.Sqlite.SqliteType.Blob);
            var label = insert.Parameters.Add("$label", Microsoft.Data.Sqlite.SqliteType.Integer);
            insert.Prepare();
            for (var i = start; i < Math.Min(vectors.Length, start + 10_000); i++)
            {
                var record = Measure.Item(Dataset.KeyOf(i));
                type.Value = record.ContentType;
                id.Value = record.ContentId;
                title.Value = record.Title;
                description.Value = record.Description;
                metadata.Value = record.Metadata;
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(vectors[i].AsSpan()).CopyTo(blob);
                embedding.Value = blob;
                label.Value = i + 1;
                await insert.ExecuteNonQueryAsync();
            }
            await transaction.CommitAsync();
        }
        // The store's sum of the item vectors no longer holds them: its next start computes it again from content_vectors.
        await using var forget = connection.CreateCommand();
        forget.CommandText = "DROP TABLE IF EXISTS catalog_vector_sum";
        await forget.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// An item graph of the stored shape written straight into the SQLite file and marked built: <see cref="ItemGraph.K"/>
    /// distinct other items per item, drawn at random, with descending similarities. What a start reads and holds of a
    /// graph depends on its shape, not on which items are neighbours; building a real one at a million items through the
    /// index takes hours on two cores.
    /// </summary>
    private static async Task BulkGraphAsync(string path, int size)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        var random = new Random(31);
        var picked = new HashSet<int>();
        var packed = new byte[ItemGraph.K * 16];
        for (var start = 0; start < size; start += 20_000)
        {
            await using var transaction = connection.BeginTransaction();
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            // The store's format: one row a list, the item's label and its neighbours as (label int64, similarity float64).
            insert.CommandText = "INSERT INTO item_lists (label, neighbours) VALUES ($label, $neighbours)";
            var label = insert.Parameters.Add("$label", Microsoft.Data.Sqlite.SqliteType.Integer);
            var neighbours = insert.Parameters.Add("$neighbours", Microsoft.Data.Sqlite.SqliteType.Blob);
            insert.Prepare();
            for (var i = start; i < Math.Min(size, start + 20_000); i++)
            {
                picked.Clear();
                var score = 0.95;
                while (picked.Count < ItemGraph.K)
                {
                    var other = random.Next(size);
                    if (other == i || !picked.Add(other))
                    {
                        continue;
                    }
                    score -= random.NextDouble() * 0.04;
                    var at = (picked.Count - 1) * 16;
                    System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(packed.AsSpan(at), other + 1);
                    System.Buffers.Binary.BinaryPrimitives.WriteDoubleLittleEndian(packed.AsSpan(at + 8), score);
                }
                label.Value = i + 1;
                neighbours.Value = packed;
                await insert.ExecuteNonQueryAsync();
            }
            await transaction.CommitAsync();
        }
        await using var built = connection.CreateCommand();
        built.CommandText = "INSERT OR REPLACE INTO item_graph_state (id, built) VALUES (1, 1)";
        await built.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// The item graph built from scratch (through the index), 20 upserts of new items that keep it, and the share of the
    /// exact top 10 that <paramref name="samples"/> random lists hold (brute force over every vector).
    /// </summary>
    private static async Task GraphAsync(EmbeddedVectorStore store, float[][] vectors, int samples, StringBuilder report, Stopwatch clock)
    {
        Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] item graph from scratch");
        var started = Stopwatch.GetTimestamp();
        await store.Graph.RebuildAsync();
        var build = Stopwatch.GetElapsedTime(started);
        var random = new Random(29);
        var writes = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            var vector = vectors[random.Next(vectors.Length)].ToArray();
            vector[random.Next(vector.Length)] += 0.05f;
            var write = Stopwatch.GetTimestamp();
            await store.UpsertAsync(Measure.Item(new ContentKey("course", $"graph-write-{i:D2}")), [vector]);
            writes.Add(Stopwatch.GetElapsedTime(write).TotalMilliseconds);
        }
        Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] item graph against brute force");
        var picked = Enumerable.Range(0, samples).Select(_ => random.Next(vectors.Length)).Distinct().ToArray();
        var lists = await store.Graph.NeighboursAsync([.. picked.Select(Dataset.KeyOf)]);
        var found = 0;
        var expected = 0;
        foreach (var row in picked)
        {
            var heap = new PriorityQueue<int, float>();
            for (var j = 0; j < vectors.Length; j++)
            {
                if (j == row)
                {
                    continue;
                }
                var score = TensorPrimitives.Dot(vectors[j], vectors[row]);
                if (heap.Count < 10)
                {
                    heap.Enqueue(j, score);
                }
                else if (heap.TryPeek(out _, out var floor) && score > floor)
                {
                    heap.DequeueEnqueue(j, score);
                }
            }
            var truth = heap.UnorderedItems.Select(e => Dataset.KeyOf(e.Element)).ToHashSet();
            expected += truth.Count;
            if (lists.TryGetValue(Dataset.KeyOf(row), out var list))
            {
                found += list.Count(n => truth.Contains(n.Item));
            }
        }
        writes.Sort();
        report.AppendLine(CultureInfo.InvariantCulture,
            $"- item graph: built through the index ({store.Graph.LastBuild}) in {build.TotalSeconds:N1} s; {picked.Length} lists hold {(double)found / expected:F3} of the exact top 10 " +
            $"(the 20 upserts' graph writes aside); an upsert that keeps the graph: p50 {Measure.Percentile([.. writes], 50):F1} ms, max {writes[^1]:F1} ms");
    }

    /// <summary>VmRSS, RssAnon (heap and native allocations) and RssFile (mapped files' resident pages), in bytes.</summary>
    private static (long Rss, long Anon, long File) ProcessMemory()
    {
        Heap();
        long Field(string[] lines, string name) =>
            lines.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal)) is { } line
                ? long.Parse(line[name.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024 : 0;
        var status = File.Exists("/proc/self/status") ? File.ReadAllLines("/proc/self/status") : [];
        return (Field(status, "VmRSS:"), Field(status, "RssAnon:"), Field(status, "RssFile:"));
    }

    private static string Delta((long Rss, long Anon, long File) before, (long Rss, long Anon, long File) after) =>
        string.Create(CultureInfo.InvariantCulture,
            $"process RSS +{(after.Rss - before.Rss) / 1048576.0:N0} MB (anonymous +{(after.Anon - before.Anon) / 1048576.0:N0} MB, mapped files +{(after.File - before.File) / 1048576.0:N0} MB)");

    private static EmbeddedVectorStore Open(string path, int exactScanBelow, int candidates)
    {
        var store = new EmbeddedVectorStore(path, NullLogger.Instance) { ExactScanBelow = exactScanBelow, Candidates = candidates };
        store.Graph.BuildOnStart = false;
        return store;
    }

    private static async Task<(double[] Index, double[] Exact, ContentKey[][] Hits)> InterleavedAsync(
        EmbeddedVectorStore indexed, EmbeddedVectorStore exact, float[][] queries, int warmup, string? filter)
    {
        var indexMs = new double[queries.Length - warmup];
        var exactMs = new double[queries.Length - warmup];
        var hits = new ContentKey[queries.Length - warmup][];
        for (var i = 0; i < queries.Length; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var found = await indexed.SearchAsync(queries[i], 10, filter);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            started = Stopwatch.GetTimestamp();
            await exact.SearchAsync(queries[i], 10, filter);
            var exactElapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (i >= warmup)
            {
                indexMs[i - warmup] = elapsed;
                exactMs[i - warmup] = exactElapsed;
                hits[i - warmup] = [.. found.Select(h => new ContentKey(h.Content.ContentType, h.Content.ContentId))];
            }
        }
        return (indexMs, exactMs, hits);
    }

    private static ContentKey[][] BruteForce(float[][] vectors, float[][] queries, int warmup, string? filter)
    {
        var truth = new ContentKey[queries.Length - warmup][];
        Parallel.For(warmup, queries.Length, q =>
        {
            var heap = new PriorityQueue<int, float>();
            for (var i = 0; i < vectors.Length; i++)
            {
                if (filter is not null && Dataset.KeyOf(i).ContentType != filter)
                {
                    continue;
                }
                var score = TensorPrimitives.Dot(vectors[i], queries[q]);
                if (heap.Count < 10)
                {
                    heap.Enqueue(i, score);
                }
                else if (heap.TryPeek(out _, out var floor) && score > floor)
                {
                    heap.DequeueEnqueue(i, score);
                }
            }
            truth[q - warmup] = [.. heap.UnorderedItems.Select(e => Dataset.KeyOf(e.Element))];
        });
        return truth;
    }

    internal static float[] Mix(float[][] bases, Random random)
    {
        var a = bases[random.Next(bases.Length)];
        var b = bases[random.Next(bases.Length)];
        var w = 0.2f + 0.8f * (float)random.NextDouble();
        var vector = new float[ContentVectors.Dimensions];
        for (var i = 0; i < vector.Length; i++)
        {
            var noise = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
            vector[i] = a[i] + w * b[i] + 0.1f * noise / MathF.Sqrt(ContentVectors.Dimensions) * 4;
        }
        TensorPrimitives.Divide(vector, MathF.Sqrt(TensorPrimitives.SumOfSquares<float>(vector)), vector);
        return vector;
    }

    /// <summary>The real embeddings, cached in the temp directory (embedding them takes minutes on this machine).</summary>
    internal static async Task<(float[][] Bases, float[][] Queries)> RealEmbeddingsAsync(Stopwatch clock)
    {
        var texts = new List<string>();
        foreach (var entry in CatalogImporter.DemoCatalog())
        {
            texts.Add(entry.Title + ". " + entry.Description);
        }
        var data = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "CyberHub.Bench.Recommendations", "Data");
        using (var scap = JsonDocument.Parse(File.ReadAllText(Path.Combine(data, "scap-rules.json"))))
        {
            foreach (var item in scap.RootElement.GetProperty("items").EnumerateArray())
            {
                var title = item.GetProperty("title").GetString()!;
                var description = item.GetProperty("description").GetString()!;
                texts.Add(title + ". " + description);
                texts.Add(title);
                texts.AddRange(description.Split(". ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(s => s.Length >= 40));
            }
        }
        texts = [.. texts.Distinct()];
        var queryTexts = new List<string>();
        using (var judged = JsonDocument.Parse(File.ReadAllText(Path.Combine(data, "search-queries.json"))))
        {
            queryTexts.AddRange(judged.RootElement.GetProperty("queries").EnumerateArray().Select(q => q.GetProperty("query").GetString()!));
        }
        var cache = Path.Combine(Path.GetTempPath(), $"cyberhub-bench-index-embeddings-{texts.Count}-{queryTexts.Count}.bin");
        if (File.Exists(cache))
        {
            var all = ReadVectors(cache);
            return (all[..texts.Count], all[texts.Count..]);
        }
        Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] embedding {texts.Count + queryTexts.Count:N0} texts with MiniLM");
        using var generator = new MiniLmEmbeddingGenerator();
        var vectors = new List<float[]>();
        foreach (var batch in texts.Concat(queryTexts).Chunk(MiniLmEmbeddingGenerator.MaxBatchSize))
        {
            vectors.AddRange(await generator.EmbedAsync(batch));
        }
        WriteVectors(cache, vectors);
        return ([.. vectors.Take(texts.Count)], [.. vectors.Skip(texts.Count)]);
    }

    private static void WriteVectors(string path, List<float[]> vectors)
    {
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(vectors.Count);
        foreach (var vector in vectors)
        {
            foreach (var value in vector)
            {
                writer.Write(value);
            }
        }
    }

    private static float[][] ReadVectors(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        var vectors = new float[reader.ReadInt32()][];
        for (var i = 0; i < vectors.Length; i++)
        {
            vectors[i] = new float[ContentVectors.Dimensions];
            for (var j = 0; j < ContentVectors.Dimensions; j++)
            {
                vectors[i][j] = reader.ReadSingle();
            }
        }
        return vectors;
    }

    private static long Rss()
    {
        Heap();
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
