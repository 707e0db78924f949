using System.Runtime.InteropServices;
using Cloud.Unum.USearch;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// An HNSW index of USearch's native library (<c>libusearch_c</c>, shipped by the Cloud.Unum.USearch package), called
/// through its public C API rather than the package's .NET class: the class grows the index one slot per add and keeps
/// reserve, view and zero-copy search private. Not thread-safe by itself: <see cref="EmbeddedVectorIndex"/> serialises
/// changes against searches (concurrent searches, and concurrent adds into reserved capacity, are safe natively).
/// </summary>
internal sealed partial class NativeHnsw : IDisposable
{
    private const string Library = "libusearch_c";

    /// <summary>
    /// USearch gives each index a fixed pool of thread contexts, one per processor of the machine, and a search or add
    /// that finds none free fails ("Reserve capacity ahead of searches!") instead of waiting. Requests search from any
    /// number of threads at once, so at most this many calls are in the native index at a time; the others wait their
    /// turn (a search takes about a millisecond).
    /// </summary>
    public static readonly int Slots = Math.Max(1, Environment.ProcessorCount);

    private readonly SemaphoreSlim _slots = new(Slots, Slots);
    private IntPtr _handle;

    private NativeHnsw(IntPtr handle, bool view)
    {
        _handle = handle;
        IsView = view;
    }

    /// <summary>True for an index mapped read-only from its file (<see cref="View"/>): it cannot change.</summary>
    public bool IsView { get; }

    /// <summary>A new empty index, cosine over <paramref name="dimensions"/> dimensions stored as <paramref name="quantization"/>.</summary>
    public static NativeHnsw Create(int dimensions, ScalarKind quantization, int connectivity, int expansionAdd, int expansionSearch) =>
        new(Init(new IndexOptions
        {
            metric_kind = MetricKind.Cos,
            quantization = quantization,
            dimensions = (ulong)dimensions,
            connectivity = (ulong)connectivity,
            expansion_add = (ulong)expansionAdd,
            expansion_search = (ulong)expansionSearch,
            multi = false,
        }), view: false);

    /// <summary>The index saved at <paramref name="path"/>, read into memory (it can change).</summary>
    public static NativeHnsw Load(string path) => Open(path, view: false);

    /// <summary>The index saved at <paramref name="path"/>, memory-mapped read-only: opens at once, its pages are the file's.</summary>
    public static NativeHnsw View(string path) => Open(path, view: true);

    public ulong Size => Call(static (h, out e) => (ulong)usearch_size(h, out e));

    public ulong Capacity => Call(static (h, out e) => (ulong)usearch_capacity(h, out e));

    public ulong Dimensions => Call(static (h, out e) => (ulong)usearch_dimensions(h, out e));

    /// <summary>Makes room for <paramref name="capacity"/> items in all.</summary>
    public void Reserve(ulong capacity)
    {
        usearch_reserve(Handle, (UIntPtr)capacity, out var error);
        Check(error);
    }

    /// <summary>Adds <paramref name="vector"/> under <paramref name="key"/>; the capacity must have room (<see cref="Reserve"/>).</summary>
    public void Add(ulong key, ReadOnlySpan<float> vector)
    {
        IntPtr error;
        _slots.Wait();
        try
        {
            usearch_add(Handle, key, ref MemoryMarshal.GetReference(vector), ScalarKind.Float32, out error);
        }
        finally { _slots.Release(); }
        Check(error);
    }

    public bool Contains(ulong key)
    {
        var found = usearch_contains(Handle, key, out var error);
        Check(error);
        return found;
    }

    public void Remove(ulong key)
    {
        usearch_remove(Handle, key, out var error);
        Check(error);
    }

    /// <summary>Fills <paramref name="keys"/> with the nearest keys to <paramref name="query"/>, nearest first; returns how many.</summary>
    public int Search(ReadOnlySpan<float> query, Span<ulong> keys, Span<float> distances)
    {
        if (keys.Length == 0)
        {
            return 0;
        }
        UIntPtr found;
        IntPtr error;
        _slots.Wait();
        try
        {
            found = usearch_search(Handle, ref MemoryMarshal.GetReference(query), ScalarKind.Float32, (UIntPtr)keys.Length,
                ref MemoryMarshal.GetReference(keys), ref MemoryMarshal.GetReference(distances), out error);
        }
        finally { _slots.Release(); }
        Check(error);
        return (int)found;
    }

    public void Save(string path)
    {
        usearch_save(Handle, path, out var error);
        Check(error);
    }

    public void Dispose()
    {
        var handle = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (handle != IntPtr.Zero)
        {
            usearch_free(handle, out _);
        }
    }

    private IntPtr Handle => _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException(nameof(NativeHnsw));

    private delegate ulong Getter(IntPtr handle, out IntPtr error);

    private ulong Call(Getter getter)
    {
        var value = getter(Handle, out var error);
        Check(error);
        return value;
    }

    private static NativeHnsw Open(string path, bool view)
    {
        var handle = Init(default);
        try
        {
            IntPtr error;
            if (view)
            {
                usearch_view(handle, path, out error);
            }
            else
            {
                usearch_load(handle, path, out error);
            }
            Check(error);
            return new NativeHnsw(handle, view);
        }
        catch
        {
            usearch_free(handle, out _);
            throw;
        }
    }

    private static IntPtr Init(IndexOptions options)
    {
        var handle = usearch_init(ref options, out var error);
        Check(error);
        return handle;
    }

    private static void Check(IntPtr error)
    {
        if (error != IntPtr.Zero)
        {
            throw new USearchException("Vector index: " + Marshal.PtrToStringUTF8(error));
        }
    }

    // The package's own options struct, marshalled as the package marshals it (it holds a bool: not blittable).
#pragma warning disable SYSLIB1054
    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    private static extern IntPtr usearch_init(ref IndexOptions options, out IntPtr error);
#pragma warning restore SYSLIB1054

    [LibraryImport(Library)]
    private static partial void usearch_free(IntPtr index, out IntPtr error);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial void usearch_save(IntPtr index, string path, out IntPtr error);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial void usearch_load(IntPtr index, string path, out IntPtr error);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial void usearch_view(IntPtr index, string path, out IntPtr error);

    [LibraryImport(Library)]
    private static partial UIntPtr usearch_size(IntPtr index, out IntPtr error);

    [LibraryImport(Library)]
    private static partial UIntPtr usearch_capacity(IntPtr index, out IntPtr error);

    [LibraryImport(Library)]
    private static partial UIntPtr usearch_dimensions(IntPtr index, out IntPtr error);

    [LibraryImport(Library)]
    private static partial void usearch_reserve(IntPtr index, UIntPtr capacity, out IntPtr error);

    [LibraryImport(Library)]
    private static partial void usearch_add(IntPtr index, ulong key, ref float vector, ScalarKind kind, out IntPtr error);

    [LibraryImport(Library)]
    [return: MarshalAs(UnmanagedType.U1)]
    private static partial bool usearch_contains(IntPtr index, ulong key, out IntPtr error);

    [LibraryImport(Library)]
    private static partial UIntPtr usearch_remove(IntPtr index, ulong key, out IntPtr error);

    [LibraryImport(Library)]
    private static partial UIntPtr usearch_search(
        IntPtr index, ref float query, ScalarKind kind, UIntPtr count, ref ulong keys, ref float distances, out IntPtr error);
}
