using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Micro;

/// <summary>
/// Two ways to make the exact scan faster than one core reading fp32 rows, tried outside the store on the same
/// vectors: rows kept as Half (half the bytes, widened to float in registers), and the fp32 scan split over every
/// core. The fp32 kernel here is the store's (a dot product per row, best 10 kept) so the three compare like for like.
/// Bandwidth baselines: one pass summing the fp32 rows, and one summing the Half rows' bits.
/// </summary>
[MemoryDiagnoser]
public class ScanIdeasBenchmarks
{
    private const int Top = 10;
    private ScanData _data = null!;
    private ushort[] _halfRows = [];
    private int _next;

    [Params(100_000, 1_000_000)]
    public int Items { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = ScanData.For(Items);
        _halfRows = new ushort[Items * ContentVectors.Dimensions];
        var offset = 0;
        foreach (var block in _data.Vectors)
        {
            foreach (var value in block.Span)
            {
                _halfRows[offset++] = BitConverter.HalfToUInt16Bits((Half)value);
            }
        }
        ReportAgreement();
    }

    [Benchmark(Baseline = true, Description = "sum N x 384 floats (fp32 bandwidth bound)")]
    public float SumFloats() => _data.SumAllFloats();

    [Benchmark(Description = "fp32 rows, one core (the store's kernel)")]
    public float Fp32OneCore() => Fp32Scan(NextQuery(), 0, Items).Best;

    [Benchmark(Description = "fp32 rows, split over all cores")]
    public float Fp32AllCores()
    {
        var query = NextQuery();
        var parts = Environment.ProcessorCount;
        var results = new TopK[parts];
        Parallel.For(0, parts, part => results[part] = Fp32Scan(query, (int)((long)Items * part / parts), (int)((long)Items * (part + 1) / parts)));
        var merged = results[0];
        for (var p = 1; p < parts; p++)
        {
            merged.Merge(results[p]);
        }
        return merged.Best;
    }

    [Benchmark(Description = "sum N x 384 Half bits (Half bandwidth bound)")]
    public uint SumHalfBits()
    {
        var sum = Vector512<uint>.Zero;
        ref var row = ref MemoryMarshal.GetArrayDataReference(_halfRows);
        for (nuint i = 0; i < (nuint)_halfRows.Length; i += 32)
        {
            var bits = Vector512.LoadUnsafe(ref row, i);
            sum += Vector512.WidenLower(bits) + Vector512.WidenUpper(bits);
        }
        return Vector512.Sum(sum);
    }

    [Benchmark(Description = "Half rows, one core (widened in registers)")]
    public float HalfOneCore() => HalfScan(NextQuery(), 0, Items).Best;

    private float[] NextQuery() => _data.Queries[_next++ & 15];

    private ReadOnlySpan<ushort> HalfRow(int row) => _halfRows.AsSpan(row * ContentVectors.Dimensions, ContentVectors.Dimensions);

    private TopK Fp32Scan(float[] query, int from, int to)
    {
        var top = new TopK();
        for (var row = from; row < to; row++)
        {
            top.Offer(TensorPrimitives.Dot(_data.Row(row), query), row);
        }
        return top;
    }

    private TopK HalfScan(float[] query, int from, int to)
    {
        var top = new TopK();
        for (var row = from; row < to; row++)
        {
            top.Offer(DotHalf(HalfRow(row), query), row);
        }
        return top;
    }

    /// <summary>
    /// Dot product of Half bits and floats. A Half's bits shifted into a float's place and multiplied by 2^112 give
    /// the same value (normal and subnormal numbers alike; no NaN or infinity occurs in unit vectors), so each 16
    /// halves cost a widen, a mask, a shift, a multiply and an or before the fused multiply-add.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float DotHalf(ReadOnlySpan<ushort> row, ReadOnlySpan<float> query)
    {
        var scale = Vector512.Create(0x7780_0000u).AsSingle();
        var magnitude = Vector512.Create(0x7FFFu);
        var signBit = Vector512.Create(0x8000u);
        var sum0 = Vector512<float>.Zero;
        var sum1 = Vector512<float>.Zero;
        ref var r = ref MemoryMarshal.GetReference(row);
        ref var q = ref MemoryMarshal.GetReference(query);
        for (nuint i = 0; i < (nuint)row.Length; i += 32)
        {
            var bits = Vector512.LoadUnsafe(ref r, i);
            sum0 = Vector512.FusedMultiplyAdd(Widen(Vector512.WidenLower(bits)), Vector512.LoadUnsafe(ref q, i), sum0);
            sum1 = Vector512.FusedMultiplyAdd(Widen(Vector512.WidenUpper(bits)), Vector512.LoadUnsafe(ref q, i + 16), sum1);
        }
        return Vector512.Sum(sum0 + sum1);

        Vector512<float> Widen(Vector512<uint> h) =>
            ((h & magnitude) << 13).AsSingle() * scale | ((h & signBit) << 16).AsSingle();
    }

    /// <summary>How far Half rows move the scores and the top 10 from fp32, printed once per size.</summary>
    private void ReportAgreement()
    {
        var worst = 0f;
        var overlap = 0;
        foreach (var query in _data.Queries)
        {
            var exact = Fp32Scan(query, 0, Items);
            var half = HalfScan(query, 0, Items);
            overlap += exact.Rows().Intersect(half.Rows()).Count();
            for (var row = 0; row < Items; row += 997)
            {
                worst = Math.Max(worst, Math.Abs(TensorPrimitives.Dot(_data.Row(row), query) - DotHalf(HalfRow(row), query)));
            }
        }
        Console.WriteLine($"// Half rows at {Items:N0} items: top-10 overlap with fp32 {overlap / (16.0 * Top):F3}, largest score difference {worst:E2}");
    }

    /// <summary>The best 10 (score, row) so far, worst first in a small sorted array.</summary>
    private struct TopK()
    {
        private readonly float[] _scores = [.. Enumerable.Repeat(float.NegativeInfinity, Top)];
        private readonly int[] _rows = new int[Top];

        public readonly float Best => _scores[Top - 1];

        public readonly void Offer(float score, int row)
        {
            if (score <= _scores[0])
            {
                return;
            }
            var i = 1;
            for (; i < Top && _scores[i] < score; i++)
            {
                _scores[i - 1] = _scores[i];
                _rows[i - 1] = _rows[i];
            }
            _scores[i - 1] = score;
            _rows[i - 1] = row;
        }

        public readonly void Merge(TopK other)
        {
            for (var i = 0; i < Top; i++)
            {
                Offer(other._scores[i], other._rows[i]);
            }
        }

        public readonly IEnumerable<int> Rows() => _rows;
    }
}
