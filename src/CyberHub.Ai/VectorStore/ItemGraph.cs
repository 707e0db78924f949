using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using CyberHub.Ai.Recommendations;
using Microsoft.Extensions.Logging;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// The item graph as its store keeps it: <see cref="IItemGraph"/> plus what bulk loads and upgrades need. The lists
/// are exact (each item's <see cref="ItemGraph.K"/> nearest other items by cosine of the item vectors) whenever
/// <see cref="IsBuiltAsync"/> is true; every upsert and delete keeps them so in its own transaction. While the graph is
/// deferred or being built, writes leave the lists alone and the lists read may be stale or missing.
/// </summary>
public interface IMaintainedItemGraph : IItemGraph
{
    /// <summary>True when the stored lists are complete and maintained with every write.</summary>
    Task<bool> IsBuiltAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Stops the upkeep for a bulk load: writes no longer touch the graph until <see cref="RebuildAsync"/> (or the next
    /// start, which builds a graph found unbuilt) computes it from scratch.
    /// </summary>
    Task DeferAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Computes every list from scratch (exact, all pairs) and resumes the upkeep. Writes go on meanwhile: the items
    /// they touch are brought up to date when the build is stored. Returns false if another instance was building
    /// already (PostgreSQL) or the graph was deferred again meanwhile.
    /// </summary>
    Task<bool> RebuildAsync(CancellationToken cancellationToken = default);

    /// <summary>The build started by this instance when it found the graph missing at start (completed if none).</summary>
    Task Building { get; }

    /// <summary>Whether <c>InitializeAsync</c> builds a missing graph in the background (default true). Set before it.</summary>
    bool BuildOnStart { get; set; }

    /// <summary>
    /// How long that background build waits after a failure before it tries again (default
    /// <see cref="RetrySchedule.Default"/>: 30 s, doubling with each further failure up to 15 min). Set before
    /// <c>InitializeAsync</c>.
    /// </summary>
    RetrySchedule BuildRetry { get; set; }
}

public static class ItemGraph
{
    /// <summary>Neighbours kept per item.</summary>
    public const int K = 10;

    /// <summary>
    /// Runs a store's start-up build of the graph off the start path, until it succeeds or the store stops: stopping
    /// cancels it quietly; a failure is logged with the attempt's number and the wait before the next, and the build is
    /// tried again as <paramref name="retry"/> goes (<see cref="BackgroundRetry"/>). The task never faults.
    /// </summary>
    internal static Task BuildInBackground(Func<CancellationToken, Task> build, ILogger logger, RetrySchedule retry, CancellationToken stopping) =>
        Task.Run(() => BackgroundRetry.UntilDoneAsync(build, retry, (attempt, e, delay) =>
            logger.LogError(e, "Building the item graph failed (attempt {Attempt}); next try in {RetrySeconds:F1} s", attempt, delay.TotalSeconds), stopping));

    /// <summary>The graph of a store of this project.</summary>
    public static IMaintainedItemGraph Of(IVectorStore store) =>
        TryOf(store) ?? throw new ArgumentException($"{store.GetType().Name} keeps no item graph.", nameof(store));

    /// <summary>The graph the store keeps, or null for a store that keeps none.</summary>
    public static IMaintainedItemGraph? TryOf(IVectorStore store) => store switch
    {
        EmbeddedVectorStore embedded => embedded.Graph,
        PgVectorStore pg => pg.Graph,
        _ => null,
    };

    /// <summary>The order of a list: most similar first, ties by (type, id) in code point order (PostgreSQL's "C").</summary>
    internal static int Compare(Neighbour a, Neighbour b)
    {
        var bySimilarity = b.Similarity.CompareTo(a.Similarity);
        if (bySimilarity != 0)
        {
            return bySimilarity;
        }
        var byType = CodePointComparer.Instance.Compare(a.Item.ContentType, b.Item.ContentType);
        return byType != 0 ? byType : CodePointComparer.Instance.Compare(a.Item.ContentId, b.Item.ContentId);
    }

    internal static readonly Comparison<Neighbour> Order = Compare;
}

/// <summary>A list being filled: the best <c>k</c> candidates offered, in <see cref="ItemGraph.Compare"/> order.</summary>
internal sealed class TopList(int k)
{
    private readonly Neighbour[] _items = new Neighbour[k];
    private int _count;

    public bool Full => _count == _items.Length;

    /// <summary>The least similarity a candidate must beat to enter, or -infinity while the list has room.</summary>
    public double Floor => Full ? _items[_count - 1].Similarity : double.NegativeInfinity;

    public void Offer(Neighbour candidate)
    {
        if (Full && ItemGraph.Compare(candidate, _items[_count - 1]) >= 0)
        {
            return;
        }
        var at = _count == _items.Length ? _count - 1 : _count++;
        while (at > 0 && ItemGraph.Compare(candidate, _items[at - 1]) < 0)
        {
            _items[at] = _items[at - 1];
            at--;
        }
        _items[at] = candidate;
    }

    public Neighbour[] ToArray() => _items.AsSpan(0, _count).ToArray();
}

/// <summary>
/// The exact k-nearest-neighbour lists of a set of unit vectors, all pairs: tiles of 64 × 64 rows, each pair scored
/// once and offered to both rows, several workers each with lists of their own, merged at the end. The dot products run
/// in a 2 × 4 register kernel (8 accumulators, 6 loads per 8 multiply-adds), several times the speed of one dot product
/// at a time. Quadratic by nature: 100,000 items are 5 × 10⁹ pairs.
/// </summary>
internal static class ExactNeighbours
{
    private const int D = ContentVectors.Dimensions;
    private const int Tile = 64;

    /// <summary>
    /// For each of the <paramref name="count"/> rows of <paramref name="vectors"/> (row-major, unit length): the rows of
    /// its <paramref name="k"/> nearest other rows and their similarities, <c>min(k, count - 1)</c> per row, best first.
    /// </summary>
    public static (int[][] Rows, float[][] Similarities) Build(float[] vectors, int count, int k, CancellationToken cancellationToken, int? workers = null)
    {
        var tiles = (count + Tile - 1) / Tile;
        var pairs = new List<(int, int)>(tiles * (tiles + 1) / 2);
        for (var i = 0; i < tiles; i++)
        {
            for (var j = i; j < tiles; j++)
            {
                pairs.Add((i, j));
            }
        }
        var workerCount = Math.Max(1, Math.Min(workers ?? Environment.ProcessorCount, Math.Max(1, pairs.Count)));
        var partial = new Candidates[workerCount];
        var next = -1;
        Parallel.For(0, workerCount, new ParallelOptions { MaxDegreeOfParallelism = workerCount, CancellationToken = cancellationToken }, worker =>
        {
            var candidates = partial[worker] = new Candidates(count, k);
            var scores = new float[Tile * Tile];
            int p;
            while ((p = Interlocked.Increment(ref next)) < pairs.Count)
            {
                if ((p & 63) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }
                var (ti, tj) = pairs[p];
                var i0 = ti * Tile;
                var j0 = tj * Tile;
                var rows = Math.Min(Tile, count - i0);
                var columns = Math.Min(Tile, count - j0);
                ScoreTile(vectors, i0, rows, j0, columns, scores);
                for (var a = 0; a < rows; a++)
                {
                    var from = ti == tj ? a + 1 : 0;
                    for (var b = from; b < columns; b++)
                    {
                        var score = scores[a * Tile + b];
                        candidates.Offer(i0 + a, j0 + b, score);
                        candidates.Offer(j0 + b, i0 + a, score);
                    }
                }
            }
        });

        var resultRows = new int[count][];
        var resultSimilarities = new float[count][];
        var size = Math.Min(k, Math.Max(0, count - 1));
        var merged = new (float Score, int Row)[workerCount * k];
        for (var row = 0; row < count; row++)
        {
            var n = 0;
            foreach (var candidates in partial)
            {
                n += candidates.CopyTo(row, merged.AsSpan(n));
            }
            var span = merged.AsSpan(0, n);
            span.Sort(static (x, y) => x.Score != y.Score ? y.Score.CompareTo(x.Score) : x.Row.CompareTo(y.Row));
            var take = Math.Min(size, n);
            resultRows[row] = new int[take];
            resultSimilarities[row] = new float[take];
            for (var i = 0; i < take; i++)
            {
                resultRows[row][i] = span[i].Row;
                resultSimilarities[row][i] = span[i].Score;
            }
        }
        return (resultRows, resultSimilarities);
    }

    /// <summary>scores[a * Tile + b] = rows i0 + a and j0 + b, dot product.</summary>
    private static void ScoreTile(float[] vectors, int i0, int rows, int j0, int columns, float[] scores)
    {
        var a = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; a + 2 <= rows; a += 2)
            {
                var b = 0;
                for (; b + 4 <= columns; b += 4)
                {
                    Kernel2x4(vectors, i0 + a, j0 + b, scores, a * Tile + b);
                }
                for (; b < columns; b++)
                {
                    scores[a * Tile + b] = Dot(vectors, i0 + a, j0 + b);
                    scores[(a + 1) * Tile + b] = Dot(vectors, i0 + a + 1, j0 + b);
                }
            }
        }
        for (; a < rows; a++)
        {
            for (var b = 0; b < columns; b++)
            {
                scores[a * Tile + b] = Dot(vectors, i0 + a, j0 + b);
            }
        }
    }

    private static float Dot(float[] vectors, int x, int y) =>
        TensorPrimitives.Dot(vectors.AsSpan(x * D, D), vectors.AsSpan(y * D, D));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel2x4(float[] vectors, int row, int column, float[] scores, int at)
    {
        ref var v = ref MemoryMarshal.GetArrayDataReference(vectors);
        var a0 = (nuint)(row * D);
        var a1 = a0 + D;
        var b0 = (nuint)(column * D);
        var b1 = b0 + D;
        var b2 = b1 + D;
        var b3 = b2 + D;
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
        for (nuint d = 0; d < D; d += (nuint)Vector256<float>.Count)
        {
            var x0 = Vector256.LoadUnsafe(ref v, a0 + d);
            var x1 = Vector256.LoadUnsafe(ref v, a1 + d);
            var y = Vector256.LoadUnsafe(ref v, b0 + d);
            c00 = Vector256.FusedMultiplyAdd(x0, y, c00);
            c10 = Vector256.FusedMultiplyAdd(x1, y, c10);
            y = Vector256.LoadUnsafe(ref v, b1 + d);
            c01 = Vector256.FusedMultiplyAdd(x0, y, c01);
            c11 = Vector256.FusedMultiplyAdd(x1, y, c11);
            y = Vector256.LoadUnsafe(ref v, b2 + d);
            c02 = Vector256.FusedMultiplyAdd(x0, y, c02);
            c12 = Vector256.FusedMultiplyAdd(x1, y, c12);
            y = Vector256.LoadUnsafe(ref v, b3 + d);
            c03 = Vector256.FusedMultiplyAdd(x0, y, c03);
            c13 = Vector256.FusedMultiplyAdd(x1, y, c13);
        }
        scores[at] = Vector256.Sum(c00);
        scores[at + 1] = Vector256.Sum(c01);
        scores[at + 2] = Vector256.Sum(c02);
        scores[at + 3] = Vector256.Sum(c03);
        scores[at + Tile] = Vector256.Sum(c10);
        scores[at + Tile + 1] = Vector256.Sum(c11);
        scores[at + Tile + 2] = Vector256.Sum(c12);
        scores[at + Tile + 3] = Vector256.Sum(c13);
    }

    /// <summary>One worker's best k per row, unordered, with the weakest kept in view.</summary>
    private sealed class Candidates(int count, int k)
    {
        private readonly float[] _scores = new float[count * k];
        private readonly int[] _rows = new int[count * k];
        private readonly byte[] _filled = new byte[count];
        private readonly float[] _floor = new float[count];
        private readonly byte[] _weakest = new byte[count];

        public void Offer(int row, int candidate, float score)
        {
            var filled = _filled[row];
            var start = row * k;
            if (filled < k)
            {
                _scores[start + filled] = score;
                _rows[start + filled] = candidate;
                _filled[row] = ++filled;
                if (filled == k)
                {
                    FindWeakest(row, start);
                }
                return;
            }
            if (score <= _floor[row])
            {
                return;
            }
            var at = start + _weakest[row];
            _scores[at] = score;
            _rows[at] = candidate;
            FindWeakest(row, start);
        }

        public int CopyTo(int row, Span<(float, int)> destination)
        {
            var start = row * k;
            int filled = _filled[row];
            for (var i = 0; i < filled; i++)
            {
                destination[i] = (_scores[start + i], _rows[start + i]);
            }
            return filled;
        }

        private void FindWeakest(int row, int start)
        {
            var weakest = 0;
            for (var i = 1; i < k; i++)
            {
                if (_scores[start + i] < _scores[start + weakest])
                {
                    weakest = i;
                }
            }
            _weakest[row] = (byte)weakest;
            _floor[row] = _scores[start + weakest];
        }
    }
}
