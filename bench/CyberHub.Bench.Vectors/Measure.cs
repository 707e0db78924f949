using System.Diagnostics;
using CyberHub.Ai.VectorStore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberHub.Bench.Vectors;

public sealed record CaseResult(string? Filter, double[] EmbeddedMs, double[] PgMs, double Recall, ContentKey[][] ExactHits);

/// <summary>Unfiltered top-10 searches at one <c>hnsw.ef_search</c>, with recall against the exact top 10.</summary>
public sealed record EfResult(int EfSearch, double[] LatenciesMs, double Recall);

/// <summary>How the pgvector rows went in: per-item upserts into the live index, or a bulk copy and one index build.</summary>
public sealed record PgLoad(double RowsPerSecond, TimeSpan? IndexBuild);

public sealed record SizeResult(
    string Dataset,
    string Description,
    int Items,
    double EmbeddedUpsertsPerSecond,
    PgLoad PgLoad,
    TimeSpan EmbeddedLoad,
    long EmbeddedManagedBytes,
    long SqliteBytes,
    string PgFilteredPlan,
    IReadOnlyList<CaseResult> Cases,
    IReadOnlyList<EfResult> EfSweep);

public static class Measure
{
    public static readonly DateTime Now = DateTime.UtcNow;

    /// <summary>Upserts single-chunk items; returns upserts per second.</summary>
    public static async Task<double> LoadAsync(IVectorStore store, (ContentKey Key, float[] Vector)[] items, int parallelism)
    {
        var started = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (item, ct) =>
            await store.UpsertAsync(Item(item.Key), [item.Vector], ct));
        return items.Length / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>The single-chunk catalog item every load path writes for a key.</summary>
    public static ContentRecord Item(ContentKey key) =>
        new(key.ContentType, key.ContentId, $"Title of {key.ContentId}", "A synthetic catalog item.", """{"level":"beginner"}""", 1, Now, Now);

    /// <summary>Opens a new embedded store on the file: its load time and the managed memory it holds.</summary>
    public static async Task<(EmbeddedVectorStore Store, TimeSpan Load, long ManagedBytes)> ReopenAsync(string path)
    {
        var before = CollectedHeap();
        var started = Stopwatch.GetTimestamp();
        var store = new EmbeddedVectorStore(path, NullLogger.Instance);
        store.Graph.BuildOnStart = false;
        await store.InitializeAsync();
        var load = Stopwatch.GetElapsedTime(started);
        return (store, load, CollectedHeap() - before);
    }

    /// <summary>Top-10 searches one after another; latencies and hits of all but the warm-up ones.</summary>
    public static async Task<(double[] LatenciesMs, ContentKey[][] Hits)> SearchAsync(IVectorStore store, float[][] queries, string? filter, int warmup)
    {
        var latencies = new double[queries.Length - warmup];
        var hits = new ContentKey[queries.Length - warmup][];
        for (var i = 0; i < queries.Length; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var found = await store.SearchAsync(queries[i], 10, filter);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (i >= warmup)
            {
                latencies[i - warmup] = elapsed;
                hits[i - warmup] = found.Select(h => new ContentKey(h.Content.ContentType, h.Content.ContentId)).ToArray();
            }
        }
        return (latencies, hits);
    }

    /// <summary>Mean share of the exact top-k that the approximate search also returned.</summary>
    public static double Recall(ContentKey[][] exact, ContentKey[][] approximate) =>
        exact.Zip(approximate, (truth, found) => truth.Length == 0 ? 1 : (double)found.Intersect(truth).Count() / truth.Length).Average();

    public static double Percentile(double[] values, double percentile)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    public static long FileSize(string path) =>
        new[] { path, path + "-wal" }.Where(File.Exists).Sum(p => new FileInfo(p).Length);

    private static long CollectedHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
