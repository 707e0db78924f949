using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// The embedded store's float item vectors outside the managed heap: row <c>label</c> holds the vector of the item
/// labelled so (<c>384 × 4</c> bytes), row 0 a header. Backed by a memory-mapped file beside the SQLite file
/// (<c>{file}.vectors</c>), whose pages the kernel reads in on demand and may drop again, or by native memory when there
/// is no file (a catalog built in memory). Rows of deleted items stay behind until a label is given again.
/// <para>
/// The file is a copy of the SQLite table <c>content_vectors</c> kept like the approximate index: the header names the
/// write-log position up to which the file was flushed to disk (<see cref="FlushedSeq"/>), and a start replays the writes
/// logged since; a file without a valid header is rewritten from SQLite. Not thread-safe: <see cref="InMemoryCatalog"/>
/// reads rows under its read lock and grows or writes them under its write lock.
/// </para>
/// </summary>
internal sealed unsafe class VectorFile : IDisposable
{
    private const int D = ContentVectors.Dimensions;
    private const int RowBytes = D * sizeof(float);
    private const ulong Magic = 0x3130304345564843; // "CHVEC001", little-endian
    private const long MinimumRows = 1024;

    private readonly string? _path;
    private FileStream? _stream;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private byte* _base;
    private long _rows;

    private VectorFile(string? path) => _path = path;

    /// <summary>The write-log position the file was last flushed at, or -1 when its content cannot be trusted.</summary>
    public long FlushedSeq { get; private set; } = -1;

    /// <summary>Rows the mapping holds now (labels below it can be read or written without growing).</summary>
    public long Rows => _rows;

    /// <summary>The file at <paramref name="path"/>, created empty when missing.</summary>
    public static VectorFile Open(string path)
    {
        var file = new VectorFile(path);
        try
        {
            file._stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            CyberHub.ServiceDefaults.DataDirectory.NarrowFile(path);
            var rows = file._stream.Length / RowBytes;
            var valid = file._stream.Length >= RowBytes && file._stream.Length % RowBytes == 0;
            file.Map(Math.Max(rows, MinimumRows));
            if (valid && BinaryPrimitives.ReadUInt64LittleEndian(file.Header()) == Magic
                && BinaryPrimitives.ReadInt32LittleEndian(file.Header()[8..]) == D)
            {
                file.FlushedSeq = BinaryPrimitives.ReadInt64LittleEndian(file.Header()[16..]);
            }
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Rows in native memory, for a catalog without a file.</summary>
    public static VectorFile InMemory()
    {
        var file = new VectorFile(null);
        file.Map(MinimumRows);
        return file;
    }

    /// <summary>The vector of <paramref name="label"/> (zeros when never written). The label must be below <see cref="Rows"/>.</summary>
    public Span<float> Row(long label)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(label);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(label, _rows);
        return new Span<float>(_base + label * RowBytes, D);
    }

    /// <summary>Stores <paramref name="vector"/> as the row of <paramref name="label"/>, growing the file when needed.</summary>
    public void Write(long label, ReadOnlySpan<float> vector)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(label);
        if (label >= _rows)
        {
            // Doubling: a catalog grown one item at a time remaps a logarithmic number of times.
            Map(Math.Max(label + 1, _rows * 2));
        }
        vector.CopyTo(Row(label));
    }

    /// <summary>Marks the content untrusted on disk, before it is rewritten from SQLite.</summary>
    public void Invalidate() => WriteHeader(-1);

    /// <summary>Writes every changed row to disk, then records <paramref name="seq"/> as the position they are good to.</summary>
    public void Flush(long seq)
    {
        if (_path is null)
        {
            FlushedSeq = seq;
            return;
        }
        _view!.Flush();
        _stream!.Flush(flushToDisk: true);
        WriteHeader(seq);
        _view.Flush();
        _stream.Flush(flushToDisk: true);
    }

    public void Dispose()
    {
        Unmap();
        _stream?.Dispose();
        _stream = null;
    }

    private Span<byte> Header() => new(_base, RowBytes);

    private void WriteHeader(long seq)
    {
        var header = Header();
        header.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], D);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], seq);
        FlushedSeq = seq;
    }

    private void Map(long rows)
    {
        var bytes = rows * RowBytes;
        if (_path is null)
        {
            var grown = (byte*)NativeMemory.AllocZeroed((nuint)bytes);
            if (_base is not null)
            {
                Buffer.MemoryCopy(_base, grown, bytes, _rows * RowBytes);
                NativeMemory.Free(_base);
            }
            _base = grown;
            _rows = rows;
            return;
        }
        Unmap();
        if (_stream!.Length < bytes)
        {
            // Sparse on the file systems that support it: rows never written take no disk.
            _stream.SetLength(bytes);
        }
        _map = MemoryMappedFile.CreateFromFile(_stream, null, bytes, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
        _view = _map.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + _view.PointerOffset;
        _rows = rows;
    }

    private void Unmap()
    {
        if (_path is null)
        {
            if (_base is not null)
            {
                NativeMemory.Free(_base);
            }
        }
        else if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _map!.Dispose();
            _view = null;
            _map = null;
        }
        _base = null;
        _rows = 0;
    }
}
