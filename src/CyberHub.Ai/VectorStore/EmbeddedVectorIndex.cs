using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using Cloud.Unum.USearch;
using Microsoft.Extensions.Logging;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// The embedded store's approximate nearest-neighbour index: an HNSW graph (USearch) over the item vectors quantised to
/// int8 (384 bytes an item instead of 1,536), keyed by each item's stable label. It only proposes candidates: the store
/// rescores them exactly with the stored float vectors, so scores stay exact and only the candidate set is approximate.
/// <para>
/// Persisted next to the SQLite file as <c>{file}.index-{seq}.usearch</c>, where <c>seq</c> is the last write of the
/// store's write log (<c>content_vector_log</c>) it contains: a restart loads it and replays the writes logged since
/// (a missing, unreadable or stale file is rebuilt in the background, during which searches scan exactly).
/// </para>
/// Searches hold a read lock and changes a write lock (the native index grows its capacity on add, which a concurrent
/// search must not see half done).
/// </summary>
internal sealed class EmbeddedVectorIndex : IDisposable
{
    /// <summary>Neighbours a node keeps per layer (USearch's connectivity, HNSW's M).</summary>
    public const int Connectivity = 16;

    /// <summary>The beam of an insert (HNSW's ef_construction).</summary>
    public const int ExpansionAdd = 128;

    /// <summary>The least beam of a search; a search asking for more candidates walks with a beam as wide.</summary>
    public const int ExpansionSearch = 64;

    private const string Suffix = ".usearch";

    // USearch's .NET binding grows the native index to exactly one more slot when an add finds it full, so every add
    // past the capacity reallocates the whole index (an index built one add at a time costs quadratic time: 180 adds/s
    // at 20,000 items). The index is grown here instead, by doubling, through the native library's own reserve call on
    // the binding's handle. Should a later binding rename its handle, adds still work, only slower.
    private static readonly FieldInfo? HandleField = typeof(USearchIndex).GetField("_index", BindingFlags.NonPublic | BindingFlags.Instance);

#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code enabled for the whole project.
    [DllImport("libusearch_c", EntryPoint = "usearch_reserve")]
    private static extern void NativeReserve(IntPtr index, UIntPtr capacity, out IntPtr error);
#pragma warning restore SYSLIB1054

    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly string _stem;
    private readonly ILogger _logger;
    private USearchIndex _index;
    private volatile bool _complete;
    private bool _disposed;

    private EmbeddedVectorIndex(string databasePath, USearchIndex index, bool complete, ILogger logger)
    {
        _stem = databasePath + ".index-";
        _index = index;
        _complete = complete;
        _logger = logger;
    }

    /// <summary>True once every item of the catalog is in the index (false while it is being built).</summary>
    public bool Complete => _complete;

    /// <summary>The write-log position of the file loaded or last saved.</summary>
    public long SavedSeq { get; private set; }

    public long Size
    {
        get
        {
            _lock.EnterReadLock();
            try { return (long)_index.Size(); }
            finally { _lock.ExitReadLock(); }
        }
    }

    /// <summary>An empty index, to be filled by <see cref="Build"/>.</summary>
    public static EmbeddedVectorIndex Empty(string databasePath, ILogger logger) =>
        new(databasePath, New(), complete: false, logger);

    /// <summary>
    /// The newest saved index beside <paramref name="databasePath"/>, or null when there is none or it cannot be read
    /// (logged; the caller rebuilds). Older files are deleted.
    /// </summary>
    public static EmbeddedVectorIndex? Load(string databasePath, ILogger logger)
    {
        var files = Saved(databasePath);
        foreach (var (seq, file) in files)
        {
            try
            {
                var index = new USearchIndex(file, false);
                var dimensions = index.Dimensions();
                if (dimensions != ContentVectors.Dimensions)
                {
                    index.Dispose();
                    throw new InvalidDataException($"the index holds {dimensions} dimensions, not {ContentVectors.Dimensions}");
                }
                return new EmbeddedVectorIndex(databasePath, index, complete: true, logger) { SavedSeq = seq };
            }
            catch (Exception e)
            {
                logger.LogWarning("Vector index {File} cannot be read ({Error}): it will be rebuilt", file, e.Message);
                TryDelete(file);
            }
        }
        return null;
    }

    /// <summary>Adds or replaces the item labelled <paramref name="label"/>.</summary>
    public void Upsert(long label, ReadOnlySpan<float> vector)
    {
        var copy = vector.ToArray();
        _lock.EnterWriteLock();
        try
        {
            var key = (ulong)label;
            if (_index.Contains(key))
            {
                _index.Remove(key);
            }
            EnsureCapacity(1);
            _index.Add(key, copy);
        }
        finally { _lock.ExitWriteLock(); }
    }

    public void Remove(long label)
    {
        _lock.EnterWriteLock();
        try
        {
            var key = (ulong)label;
            if (_index.Contains(key))
            {
                _index.Remove(key);
            }
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>
    /// Brings the item labelled <paramref name="label"/> in line with the catalog: the catalog's vector when it has the
    /// item, else nothing. Reads the catalog while holding the index's lock, so a write that changes the catalog and then
    /// the index cannot be overtaken by a stale copy.
    /// </summary>
    public void Refresh(long label, InMemoryCatalog catalog, float[] buffer)
    {
        _lock.EnterWriteLock();
        try
        {
            var key = (ulong)label;
            if (_index.Contains(key))
            {
                _index.Remove(key);
            }
            if (catalog.TryCopyVector(label, buffer))
            {
                EnsureCapacity(1);
                _index.Add(key, buffer);
            }
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>
    /// Adds every catalog item the index lacks, a batch under the lock at a time (searches and writes go on between
    /// batches), then marks the index complete.
    /// </summary>
    public void Build(InMemoryCatalog catalog, CancellationToken cancellationToken)
    {
        var labels = catalog.Labels();
        var buffer = new float[ContentVectors.Dimensions];
        const int Batch = 256;
        for (var start = 0; start < labels.Length; start += Batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _lock.EnterWriteLock();
            try
            {
                if (_disposed)
                {
                    return;
                }
                EnsureCapacity(Batch);
                for (var i = start; i < Math.Min(labels.Length, start + Batch); i++)
                {
                    var key = (ulong)labels[i];
                    if (!_index.Contains(key) && catalog.TryCopyVector(labels[i], buffer))
                    {
                        _index.Add(key, buffer);
                    }
                }
            }
            finally { _lock.ExitWriteLock(); }
        }
        _complete = true;
    }

    /// <summary>The labels of up to <paramref name="count"/> items nearest <paramref name="unitQuery"/>, nearest first.</summary>
    public ulong[] Search(float[] unitQuery, int count)
    {
        _lock.EnterReadLock();
        try
        {
            if (_index.Size() == 0 || count <= 0)
            {
                return [];
            }
            var found = _index.Search(unitQuery, count, out ulong[] keys, out float[] _);
            return found == keys.Length ? keys : keys[..found];
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>
    /// Writes the index as of write-log position <paramref name="seq"/> (to a temporary file, then renamed), and deletes
    /// older files. The caller holds the store's write lock, so no change comes in meanwhile.
    /// </summary>
    public void Save(long seq)
    {
        var file = _stem + seq.ToString("D19", CultureInfo.InvariantCulture) + Suffix;
        var temporary = file + ".tmp";
        _lock.EnterReadLock();
        try
        {
            _index.Save(temporary);
        }
        finally { _lock.ExitReadLock(); }
        // The data directory's files are its user's alone, as the SQLite files are.
        CyberHub.ServiceDefaults.DataDirectory.NarrowFile(temporary);
        File.Move(temporary, file, overwrite: true);
        SavedSeq = seq;
        foreach (var (older, path) in Saved(_stem[..^".index-".Length]))
        {
            if (older < seq)
            {
                TryDelete(path);
            }
        }
    }

    /// <summary>Deletes every saved index beside <paramref name="databasePath"/> (used when one is found stale).</summary>
    public static void DeleteSaved(string databasePath)
    {
        foreach (var (_, path) in Saved(databasePath))
        {
            TryDelete(path);
        }
    }

    public void Dispose()
    {
        _lock.EnterWriteLock();
        try
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _index.Dispose();
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>Makes room for <paramref name="more"/> items, doubling the capacity when it has to grow. Under the write lock.</summary>
    private void EnsureCapacity(int more)
    {
        var needed = _index.Size() + (ulong)more;
        var capacity = _index.Capacity();
        if (capacity >= needed || HandleField?.GetValue(_index) is not IntPtr handle || handle == IntPtr.Zero)
        {
            return;
        }
        NativeReserve(handle, (UIntPtr)Math.Max(needed, Math.Max(1024, 2 * capacity)), out var error);
        if (error != IntPtr.Zero)
        {
            throw new USearchException("Vector index: " + Marshal.PtrToStringAnsi(error));
        }
    }

    private static USearchIndex New() =>
        new(MetricKind.Cos, ScalarKind.Int8, ContentVectors.Dimensions, Connectivity, ExpansionAdd, ExpansionSearch, false);

    /// <summary>The saved files, newest first.</summary>
    private static List<(long Seq, string Path)> Saved(string databasePath)
    {
        var directory = System.IO.Path.GetDirectoryName(databasePath)!;
        var prefix = System.IO.Path.GetFileName(databasePath) + ".index-";
        var files = new List<(long, string)>();
        if (!Directory.Exists(directory))
        {
            return files;
        }
        foreach (var path in Directory.EnumerateFiles(directory, prefix + "*"))
        {
            var name = System.IO.Path.GetFileName(path);
            if (name.EndsWith(Suffix + ".tmp", StringComparison.Ordinal))
            {
                TryDelete(path);
                continue;
            }
            if (name.EndsWith(Suffix, StringComparison.Ordinal)
                && long.TryParse(name.AsSpan(prefix.Length, name.Length - prefix.Length - Suffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            {
                files.Add((seq, path));
            }
        }
        files.Sort((a, b) => b.Item1.CompareTo(a.Item1));
        return files;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
