using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace CyberHub.Bench.Vectors;

public static class Report
{
    public static string Render(string[] args, string serverVersion, IReadOnlyList<SizeResult> results, TimeSpan elapsed)
    {
        var md = new StringBuilder();
        var command = "dotnet run -c Release --project bench/CyberHub.Bench.Vectors" + (args.Length > 0 ? " -- " + string.Join(' ', args) : "");
        Line(md, "## Vector search (bench/CyberHub.Bench.Vectors)");
        Line(md);
        Line(md, $"Measured {DateTime.UtcNow:yyyy-MM-dd} on {Environment.ProcessorCount} processors ({CpuModel()}), " +
            $"{RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}; {serverVersion} on loopback " +
            "(scripts/test-services.sh: fsync off).");
        Line(md);
        Line(md, $"Command: `{command}` (took {elapsed.TotalMinutes:F1} min).");
        Line(md);
        Line(md, "Top-10 searches issued one at a time through `IVectorStore.SearchAsync`; one item in ten has content type " +
            "`lab`, the filtered rows ask for that type. Recall@10 is pgvector's share of the embedded store's exact top 10 " +
            "for the same query and filter. pgvector searches run with `hnsw.iterative_scan = relaxed_order` and `hnsw.ef_search` " +
            $"{CyberHub.Ai.VectorStore.PgVectorStore.DefaultEfSearch} (at least 100 when filtered; a top 10 re-ranks the index's 40 nearest by half-precision distance); the last column of the second table is the plan PostgreSQL picks for the filtered search.");
        foreach (var dataset in results.GroupBy(r => r.Dataset))
        {
            Line(md);
            Line(md, $"**{dataset.Key}**: {dataset.First().Description}.");
            Line(md);
            Line(md, "| items | filter | embedded p50 | embedded p99 | pgvector p50 | pgvector p99 | pgvector recall@10 |");
            Line(md, "|---:|---|---:|---:|---:|---:|---:|");
            foreach (var size in dataset)
            {
                foreach (var c in size.Cases)
                {
                    Line(md, $"| {size.Items:N0} | {c.Filter ?? "none"} | {Ms(c.EmbeddedMs, 50)} | {Ms(c.EmbeddedMs, 99)} | " +
                        $"{Ms(c.PgMs, 50)} | {Ms(c.PgMs, 99)} | {c.Recall:F3} |");
                }
            }
        }
        if (results.Any(r => r.EfSweep.Count > 0))
        {
            Line(md);
            Line(md, "pgvector's unfiltered top 10 at other `hnsw.ef_search` values (the store uses 40 for a top 10; " +
                "a recommendation's 150 candidates get 300 or more): the same queries as above, issued as plain SQL.");
            Line(md);
            Line(md, "| dataset | items | ef_search | p50 | p99 | recall@10 |");
            Line(md, "|---|---:|---:|---:|---:|---:|");
            foreach (var r in results)
            {
                foreach (var ef in r.EfSweep)
                {
                    Line(md, $"| {r.Dataset} | {r.Items:N0} | {ef.EfSearch} | {Ms(ef.LatenciesMs, 50)} | {Ms(ef.LatenciesMs, 99)} | {ef.Recall:F3} |");
                }
            }
        }
        Line(md);
        Line(md, "Loading and memory. Items are single-chunk (embedded: one writer upserting; pgvector: concurrent upserts into " +
            "the live HNSW index, or with `--pg-load copy` a binary COPY of the new rows followed by building the index over " +
            "the whole table). Load is a new embedded instance reading the SQLite file into memory; managed memory is " +
            "`GC.GetTotalMemory` after a full collection, with the store minus without it.");
        Line(md);
        Line(md, "| dataset | items | embedded upserts/s | pgvector load | embedded load | embedded managed memory | SQLite file | pgvector plan, filtered |");
        Line(md, "|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in results)
        {
            var pgLoad = r.PgLoad.IndexBuild is { } build
                ? $"{r.PgLoad.RowsPerSecond:N0} rows/s copied, index built in {build.TotalSeconds:N0} s"
                : $"{r.PgLoad.RowsPerSecond:N0} upserts/s";
            Line(md, $"| {r.Dataset} | {r.Items:N0} | {r.EmbeddedUpsertsPerSecond:N0} | {pgLoad} | " +
                $"{r.EmbeddedLoad.TotalMilliseconds:N0} ms | {Mib(r.EmbeddedManagedBytes)} | {Mib(r.SqliteBytes)} | {r.PgFilteredPlan} |");
        }
        return md.ToString();
    }

    private static string Ms(double[] values, double percentile) =>
        Measure.Percentile(values, percentile).ToString("F2", CultureInfo.InvariantCulture) + " ms";

    private static string Mib(long bytes) => (bytes / 1024.0 / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " MiB";

    private static string CpuModel()
    {
        const string cpuinfo = "/proc/cpuinfo";
        var model = File.Exists(cpuinfo)
            ? File.ReadLines(cpuinfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        return model ?? RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static void Line(StringBuilder md, string text = "") => md.Append(text).Append('\n');
}
