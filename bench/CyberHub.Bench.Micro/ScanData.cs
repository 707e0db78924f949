using System.Diagnostics;
using System.Numerics.Tensors;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Micro;

/// <summary>
/// An <see cref="InMemoryCatalog"/> (the embedded store's in-memory scan) filled with seeded random unit vectors,
/// one item in ten of type <c>lab</c>, the rest <c>course</c>. Built once per size and kept for every benchmark of
/// that size; building the next size drops the previous one, so at most one large set is alive.
/// </summary>
internal sealed class ScanData : IDisposable
{
    public const string FilterType = "lab";

    private static ScanData? _current;

    private ScanData(int items)
    {
        var started = Stopwatch.GetTimestamp();
        Items = items;
        Catalog = new InMemoryCatalog();
        Catalog.Reserve(items);
        var random = new Random(20261127);
        var vector = new float[ContentVectors.Dimensions];
        var now = new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc);
        // The bandwidth baseline sums a row-major copy of the same vectors in blocks of 1,024 rows, N × 384 floats (the
        // catalog itself keeps them outside the managed heap, by label).
        RowsPerBlock = 1024;
        var blocks = new List<float[]>();
        for (var i = 0; i < items; i++)
        {
            RandomUnit(random, vector);
            var type = i % 10 == 0 ? FilterType : "course";
            Catalog.Upsert(new ContentRecord(type, $"item-{i:D7}", "A synthetic catalog item", "", "{}", 1, now, now), vector, label: i + 1);
            if (i % RowsPerBlock == 0)
            {
                blocks.Add(new float[RowsPerBlock * ContentVectors.Dimensions]);
            }
            vector.CopyTo(blocks[^1].AsSpan(i % RowsPerBlock * ContentVectors.Dimensions));
        }
        Queries = [.. Enumerable.Range(0, 16).Select(_ => RandomUnit(random, new float[ContentVectors.Dimensions]))];
        Vectors = [.. blocks.Select((block, i) =>
            new ReadOnlyMemory<float>(block, 0, Math.Min(RowsPerBlock, items - i * RowsPerBlock) * ContentVectors.Dimensions))];
        Console.WriteLine($"// scan data: {items:N0} items built in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");
    }

    public int Items { get; }

    public InMemoryCatalog Catalog { get; }

    public float[][] Queries { get; }

    public ReadOnlyMemory<float>[] Vectors { get; }

    public int RowsPerBlock { get; }

    /// <summary>Row <paramref name="row"/>'s vector, where the catalog keeps it.</summary>
    public ReadOnlySpan<float> Row(int row) =>
        Vectors[row / RowsPerBlock].Span.Slice(row % RowsPerBlock * ContentVectors.Dimensions, ContentVectors.Dimensions);

    /// <summary>One pass summing every vector float: the read a full fp32 scan cannot beat on one core.</summary>
    public float SumAllFloats()
    {
        var sum = 0f;
        foreach (var block in Vectors)
        {
            sum += TensorPrimitives.Sum(block.Span);
        }
        return sum;
    }

    public static ScanData For(int items)
    {
        if (_current?.Items != items)
        {
            _current?.Dispose();
            _current = null;
            GC.Collect();
            _current = new ScanData(items);
        }
        return _current;
    }

    public void Dispose() => Catalog.Dispose();

    /// <summary>Uniform in [-1, 1) per coordinate, then normalised: cheap enough to make 1M vectors in seconds.</summary>
    private static float[] RandomUnit(Random random, float[] vector)
    {
        for (var d = 0; d < vector.Length; d++)
        {
            vector[d] = (random.NextSingle() * 2) - 1;
        }
        TensorPrimitives.Divide(vector, TensorPrimitives.Norm(vector), vector);
        return vector;
    }
}
