using BenchmarkDotNet.Attributes;
using System.Numerics.Tensors;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Micro;

/// <summary>
/// The embedded store's exact scan (<see cref="InMemoryCatalog.Search"/>, top 10) against the memory-bandwidth bound
/// in the same run: one pass summing the same N × 384 floats (N × 1,536 bytes) that a full scan reads. The ratio
/// says how far the scan is from reading its data once.
/// </summary>
[MemoryDiagnoser]
public class VectorScanBenchmarks
{
    private ScanData _data = null!;
    private int _next;

    [Params(10_000, 100_000, 1_000_000)]
    public int Items { get; set; }

    [GlobalSetup]
    public void Setup() => _data = ScanData.For(Items);

    [Benchmark(Baseline = true, Description = "sum N x 384 floats (bandwidth bound)")]
    public float SumAllFloats() => _data.SumAllFloats();

    [Benchmark(Description = "Search top 10, no filter")]
    public int Search() => _data.Catalog.Search(NextQuery(), 10, null, null).Count;

    [Benchmark(Description = "Search top 10, type 'lab' (1 in 10)")]
    public int SearchFiltered() => _data.Catalog.Search(NextQuery(), 10, ScanData.FilterType, null).Count;

    private float[] NextQuery() => _data.Queries[_next++ & 15];
}
