using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Text.Json;

namespace CyberHub.Ai.VectorStore;

/// <summary>What both vector store backends agree on: vector size, chunk ids, item vectors and stored values.</summary>
public static class ContentVectors
{
    public const int Dimensions = 384;

    /// <summary>A vector as SQLite stores it: its floats, little-endian.</summary>
    public static byte[] ToBlob(ReadOnlySpan<float> vector)
    {
        var blob = new byte[vector.Length * sizeof(float)];
        for (var i = 0; i < vector.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(blob.AsSpan(i * sizeof(float)), vector[i]);
        }
        return blob;
    }

    /// <summary>Reads <paramref name="vector"/>'s length of floats back from a blob <see cref="ToBlob"/> wrote.</summary>
    public static void FromBlob(ReadOnlySpan<byte> blob, Span<float> vector)
    {
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = BinaryPrimitives.ReadSingleLittleEndian(blob[(i * sizeof(float))..]);
        }
    }

    public static string ChunkId(ContentKey key, int index) => $"{key.ContentType}:{key.ContentId}:{index}";

    public static ContentKey KeyOf(ContentRecord content) => new(content.ContentType, content.ContentId);

    /// <summary>The L2-normalised mean of the chunk vectors.</summary>
    public static float[] ItemVector(IReadOnlyList<float[]> chunkVectors)
    {
        var sum = new float[Dimensions];
        foreach (var chunk in chunkVectors)
        {
            TensorPrimitives.Add(sum, chunk, sum);
        }
        var norm = TensorPrimitives.Norm(sum);
        if (!float.IsFinite(norm) || norm < 1e-12f)
        {
            throw new ArgumentException("The chunk vectors cancel out: the item has no direction.", nameof(chunkVectors));
        }
        TensorPrimitives.Divide(sum, norm, sum);
        return sum;
    }

    /// <summary>A unit-length copy of <paramref name="vector"/>, of any length; all zeros when it has no direction.</summary>
    public static float[] UnitOrZero(float[] vector)
    {
        var norm = TensorPrimitives.Norm(vector);
        var result = new float[vector.Length];
        if (norm > 0)
        {
            TensorPrimitives.Divide(vector, norm, result);
        }
        return result;
    }

    /// <summary>A unit-length copy of <paramref name="query"/>.</summary>
    public static float[] UnitQuery(float[] query)
    {
        ArgumentNullException.ThrowIfNull(query);
        CheckVector(query, nameof(query));
        var norm = TensorPrimitives.Norm(query);
        if (norm < 1e-12f)
        {
            throw new ArgumentException("The query vector is zero.", nameof(query));
        }
        var unit = new float[Dimensions];
        TensorPrimitives.Divide(query, norm, unit);
        return unit;
    }

    /// <summary>
    /// Checks an upsert and returns the record as stored: chunk count from the vectors, timestamps in UTC at
    /// microsecond precision (what PostgreSQL keeps), empty metadata as an empty object.
    /// </summary>
    public static ContentRecord Normalise(ContentRecord content, IReadOnlyList<float[]> chunkVectors)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(chunkVectors);
        CheckText(content.ContentType, nameof(content.ContentType), allowEmpty: false);
        CheckText(content.ContentId, nameof(content.ContentId), allowEmpty: false);
        CheckText(content.Title, nameof(content.Title), allowEmpty: true);
        CheckText(content.Description, nameof(content.Description), allowEmpty: true);
        if (chunkVectors.Count == 0)
        {
            throw new ArgumentException("An item needs at least one chunk vector.", nameof(chunkVectors));
        }
        foreach (var chunk in chunkVectors)
        {
            ArgumentNullException.ThrowIfNull(chunk, nameof(chunkVectors));
            CheckVector(chunk, nameof(chunkVectors));
        }
        var metadata = string.IsNullOrWhiteSpace(content.Metadata) ? "{}" : content.Metadata;
        CheckText(metadata, nameof(content.Metadata), allowEmpty: false);
        try
        {
            using var _ = JsonDocument.Parse(metadata);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"Metadata is not valid JSON: {e.Message}", nameof(content), e);
        }
        return content with
        {
            Metadata = metadata,
            ChunkCount = chunkVectors.Count,
            CreatedAt = Timestamp(content.CreatedAt),
            UpdatedAt = Timestamp(content.UpdatedAt),
        };
    }

    /// <summary>UTC, truncated to whole microseconds; an unspecified kind is taken as UTC.</summary>
    public static DateTime Timestamp(DateTime value)
    {
        var utc = value.Kind switch
        {
            DateTimeKind.Local => value.ToUniversalTime(),
            DateTimeKind.Unspecified => DateTime.SpecifyKind(value, DateTimeKind.Utc),
            _ => value,
        };
        return new DateTime(utc.Ticks - utc.Ticks % 10, DateTimeKind.Utc);
    }

    private static void CheckVector(float[] vector, string parameter)
    {
        if (vector.Length != Dimensions)
        {
            throw new ArgumentException($"Vectors have {Dimensions} dimensions, not {vector.Length}.", parameter);
        }
        foreach (var value in vector)
        {
            if (!float.IsFinite(value))
            {
                throw new ArgumentException("Vectors must hold finite numbers only.", parameter);
            }
        }
    }

    // PostgreSQL text cannot hold NUL; refusing it in both backends keeps them interchangeable.
    private static void CheckText(string? value, string name, bool allowEmpty)
    {
        if (value is null || (!allowEmpty && value.Length == 0))
        {
            throw new ArgumentException($"{name} is required.", name);
        }
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"{name} must not contain NUL characters.", name);
        }
    }
}

/// <summary>
/// Orders strings by Unicode code point, which is how PostgreSQL's "C" collation and SQLite's BINARY collation
/// order UTF-8 text; plain ordinal comparison differs for characters outside the Basic Multilingual Plane.
/// </summary>
public sealed class CodePointComparer : IComparer<string>
{
    public static readonly CodePointComparer Instance = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }
        if (x is null || y is null)
        {
            return x is null ? -1 : 1;
        }
        var length = Math.Min(x.Length, y.Length);
        for (var i = 0; i < length; i++)
        {
            if (x[i] != y[i])
            {
                return Weight(x[i]) - Weight(y[i]);
            }
        }
        return x.Length - y.Length;
    }

    // Surrogates (U+D800..U+DFFF) encode code points above U+FFFF, so they must sort after U+E000..U+FFFF.
    private static int Weight(char c) => c >= '\uE000' ? c - 0x800 : c >= '\uD800' ? c + 0x2000 : c;
}
