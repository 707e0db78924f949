using System.Buffers.Binary;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// The sum of every stored item's vector and how many items it holds: what the stores keep, in each catalog write's own
/// transaction, so the catalog's mean (<see cref="Recommendations.IItemGraph.CatalogMeanAsync"/>) is one row away. The
/// sum is in double precision, so millions of writes adding and taking out float vectors leave it exact to far below
/// what a float can tell. Immutable: a write makes a new one (<see cref="Changed"/>).
/// </summary>
public sealed class CatalogVectorSum
{
    private readonly double[] _total;

    public CatalogVectorSum(double[] total, long items)
    {
        ArgumentNullException.ThrowIfNull(total);
        if (total.Length != ContentVectors.Dimensions)
        {
            throw new ArgumentException($"A vector sum has {ContentVectors.Dimensions} dimensions, not {total.Length}.", nameof(total));
        }
        ArgumentOutOfRangeException.ThrowIfNegative(items);
        _total = total;
        Items = items;
    }

    public static CatalogVectorSum Empty { get; } = new(new double[ContentVectors.Dimensions], 0);

    /// <summary>How many items the sum holds.</summary>
    public long Items { get; }

    /// <summary>The sum, dimension by dimension.</summary>
    public ReadOnlySpan<double> Total => _total;

    /// <summary>The sum after an item's vector went from <paramref name="before"/> to <paramref name="after"/> (null: absent).</summary>
    public CatalogVectorSum Changed(float[]? before, float[]? after)
    {
        var total = (double[])_total.Clone();
        var items = Items;
        if (before is not null)
        {
            for (var d = 0; d < total.Length; d++)
            {
                total[d] -= before[d];
            }
            items--;
        }
        if (after is not null)
        {
            for (var d = 0; d < total.Length; d++)
            {
                total[d] += after[d];
            }
            items++;
        }
        // Every item gone: exactly zero again, whatever rounding the adds and removals left.
        return items <= 0 ? Empty : new CatalogVectorSum(total, items);
    }

    /// <summary>The mean vector (not normalised), or null when the sum holds no item.</summary>
    public float[]? Mean()
    {
        if (Items == 0)
        {
            return null;
        }
        var mean = new float[_total.Length];
        for (var d = 0; d < mean.Length; d++)
        {
            mean[d] = (float)(_total[d] / Items);
        }
        return mean;
    }

    /// <summary>The sum as stored in SQLite: float64 little-endian, dimension by dimension.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[_total.Length * sizeof(double)];
        for (var d = 0; d < _total.Length; d++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(d * sizeof(double)), _total[d]);
        }
        return bytes;
    }

    /// <summary>A sum read back from <see cref="ToBytes"/>.</summary>
    public static CatalogVectorSum FromBytes(ReadOnlySpan<byte> bytes, long items)
    {
        if (bytes.Length != ContentVectors.Dimensions * sizeof(double))
        {
            throw new InvalidDataException($"A stored vector sum has {bytes.Length} bytes, not {ContentVectors.Dimensions * sizeof(double)}.");
        }
        var total = new double[ContentVectors.Dimensions];
        for (var d = 0; d < total.Length; d++)
        {
            total[d] = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(d * sizeof(double))..]);
        }
        return new CatalogVectorSum(total, items);
    }
}
