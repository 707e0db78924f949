using System.Diagnostics;
using System.Globalization;
using CyberHub.Ai.VectorStore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberHub.Bench.Micro;

/// <summary>
/// `memory` mode: the managed memory the embedded store retains for its items, as GC.GetTotalMemory after full
/// collections, with the store alive minus before it existed. Two readings: the bare in-memory catalog filled
/// directly, and <see cref="EmbeddedVectorStore"/> as the service has it after a restart: a new instance loading
/// an SQLite file of the items (written first by the same store, in a temporary directory deleted at the end).
/// </summary>
internal static class StoreMemory
{
    private const double Mib = 1024.0 * 1024.0;
    private const double TargetMib = 250 * 1_000_000 / Mib; // the issue's 250 MB

    public static async Task RunAsync(int items)
    {
        Console.WriteLine($"Embedded store managed memory, {items:N0} items of 384 floats (vectors alone: {items * 1536 / Mib:F1} MiB)");
        Console.WriteLine($"runtime {Environment.Version}, {Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}");
        Console.WriteLine();

        var catalogBytes = CatalogAlone(items);
        var (storeBytes, write, load) = await StoreAfterRestartAsync(items);

        Console.WriteLine("| what | items | managed memory | per item | vs 250 MB target | time |");
        Console.WriteLine("|---|---:|---:|---:|---|---:|");
        Row("InMemoryCatalog filled directly", items, catalogBytes, "-");
        Row("EmbeddedVectorStore after a restart (load from SQLite)", items, storeBytes,
            $"write {write.TotalSeconds:F1} s, load {load.TotalSeconds:F1} s");
    }

    private static long CatalogAlone(int items)
    {
        var before = Collected();
        var catalog = new InMemoryCatalog();
        var random = new Random(1);
        var vector = new float[ContentVectors.Dimensions];
        for (var i = 0; i < items; i++)
        {
            Fill(random, vector);
            catalog.Upsert(Record(i), vector, label: i + 1);
        }
        var after = Collected();
        GC.KeepAlive(catalog);
        catalog.Dispose();
        return after - before;
    }

    private static async Task<(long Bytes, TimeSpan Write, TimeSpan Load)> StoreAfterRestartAsync(int items)
    {
        var directory = Directory.CreateTempSubdirectory("cyberhub-bench-memory-");
        try
        {
            var path = Path.Combine(directory.FullName, "vectors.db");
            var clock = Stopwatch.StartNew();
            using (var writer = new EmbeddedVectorStore(path, NullLogger.Instance))
            {
                await writer.InitializeAsync();
                // A bulk load: the item graph is built once at the end, and the store after the restart holds it too.
                await writer.Graph.DeferAsync();
                var random = new Random(1);
                for (var i = 0; i < items; i++)
                {
                    var vector = new float[ContentVectors.Dimensions];
                    Fill(random, vector);
                    await writer.UpsertAsync(Record(i), [vector]);
                }
                await writer.Graph.RebuildAsync();
            }
            var write = clock.Elapsed;
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

            var before = Collected();
            clock.Restart();
            var store = new EmbeddedVectorStore(path, NullLogger.Instance);
            await store.InitializeAsync();
            var load = clock.Elapsed;
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            var after = Collected();
            if (await store.CountAsync() != items)
            {
                throw new InvalidOperationException("The store did not load every item.");
            }
            store.Dispose();
            return (after - before, write, load);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    /// <summary>An item as a catalog import makes it: a title, a sentence of description, metadata with topic, level and duration.</summary>
    private static ContentRecord Record(int i)
    {
        var type = i % 10 == 0 ? "lab" : "course";
        var at = new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(i);
        return new ContentRecord(type, $"item-{i:D7}", $"Defending web applications, part {i}",
            $"A hands-on introduction to item {i}: how attackers find the weakness and how defenders close it.",
            $$"""{"topic":"web security","level":"beginner","duration_minutes":{{i % 90 + 10}}}""", 1, at, at);
    }

    private static void Fill(Random random, float[] vector)
    {
        for (var d = 0; d < vector.Length; d++)
        {
            vector[d] = (random.NextSingle() * 2) - 1;
        }
        System.Numerics.Tensors.TensorPrimitives.Divide(vector, System.Numerics.Tensors.TensorPrimitives.Norm(vector), vector);
    }

    private static long Collected()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static void Row(string what, int items, long bytes, string time) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {what} | {items:N0} | {bytes / Mib:F1} MiB ({bytes / 1e6:F1} MB) | {(double)bytes / items:F0} B | {(bytes / Mib <= TargetMib ? "met" : "missed")} | {time} |"));
}
