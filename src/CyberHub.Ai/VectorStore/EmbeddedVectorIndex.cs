using System.Globalization;
using Cloud.Unum.USearch;
using Microsoft.Extensions.Logging;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// The embedded store's approximate nearest-neighbour index: an HNSW graph (USearch) over the item vectors quantised to
/// int8 (384 bytes an item instead of 1,536), keyed by each item's stable label. It only proposes candidates: the store
/// rescores them exactly with the stored float vectors, so scores stay exact and only the candidate set is approximate.
/// <para>
/// Persisted next to the SQLite file as <c>{file}.index-{seq}.usearch</c>, where <c>seq</c> is the last write of the
/// store's write log (<c>content_vector_log</c>) it contains: a restart maps the file read-only (USearch's view: nothing
/// is read until searched, and its pages are the file's), and the first change after that reads it into memory; the
/// writes logged since the save are replayed (a missing, unreadable or stale file is rebuilt in the background, during
/// which searches scan exactly).
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

    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly string _stem;
    private readonly ILogger _logger;
    private NativeHnsw _index;
    private string? _viewed;
    private volatile bool _complete;
    private bool _disposed;

    private EmbeddedVectorIndex(string databasePath, NativeHnsw index, bool complete, ILogger logger)
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
            try { return (long)_index.Size; }
            finally { _lock.ExitReadLock(); }
        }
    }

    /// <summary>An empty index, to be filled by <see cref="Build"/>.</summary>
    public static EmbeddedVectorIndex Empty(string databasePath, ILogger logger) =>
        new(databasePath, New(), complete: false, logger);

    /// <summary>True while the index is the saved file mapped read-only (no change since the start).</summary>
    public bool Viewed => _viewed is not null;

    /// <summary>
    /// The newest saved index beside <paramref name="databasePath"/>, mapped read-only, or null when there is none or it
    /// cannot be read (logged; the caller rebuilds). Older files are deleted.
    /// </summary>
    public static EmbeddedVectorIndex? Load(string databasePath, ILogger logger)
    {
        var files = Saved(databasePath);
        foreach (var (seq, file) in files)
        {
            try
            {
                var index = NativeHnsw.View(file);
                var dimensions = index.Dimensions;
                if (dimensions != ContentVectors.Dimensions)
                {
                    index.Dispose();
                    throw new InvalidDataException($"the index holds {dimensions} dimensions, not {ContentVectors.Dimensions}");
                }
                return new EmbeddedVectorIndex(databasePath, index, complete: true, logger) { SavedSeq = seq, _viewed = file };
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
        _lock.EnterWriteLock();
        try
        {
            Writable();
            var key = (ulong)label;
            if (_index.Contains(key))
            {
                _index.Remove(key);
            }
            EnsureCapacity(1);
            _index.Add(key, vector);
        }
        finally { _lock.ExitWriteLock(); }
    }

    public void Remove(long label)
    {
        _lock.EnterWriteLock();
        try
        {
            Writable();
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
            Writable();
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
    /// batches), the batch's inserts spread over the processors (USearch inserts concurrently into reserved capacity),
    /// then marks the index complete. <paramref name="batchAdded"/>, if given, is called after each batch, outside the lock.
    /// </summary>
    public void Build(InMemoryCatalog catalog, CancellationToken cancellationToken, Action? batchAdded = null)
    {
        var labels = catalog.Labels();
        const int Batch = 1024;
        var workers = Math.Max(1, Environment.ProcessorCount);
        var buffers = new ThreadLocal<float[]>(() => new float[ContentVectors.Dimensions]);
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
                Writable();
                var end = Math.Min(labels.Length, start + Batch);
                EnsureCapacity(end - start);
                Parallel.For(start, end, new ParallelOptions { MaxDegreeOfParallelism = workers }, i =>
                {
                    var key = (ulong)labels[i];
                    var buffer = buffers.Value!;
                    if (!_index.Contains(key) && catalog.TryCopyVector(labels[i], buffer))
                    {
                        _index.Add(key, buffer);
                    }
                });
            }
            finally { _lock.ExitWriteLock(); }
            batchAdded?.Invoke();
        }
        buffers.Dispose();
        _complete = true;
    }

    /// <summary>The labels of up to <paramref name="count"/> items nearest <paramref name="unitQuery"/>, nearest first.</summary>
    public ulong[] Search(ReadOnlySpan<float> unitQuery, int count)
    {
        _lock.EnterReadLock();
        try
        {
            if (count <= 0 || _index.Size == 0)
            {
                return [];
            }
            var keys = new ulong[count];
            var found = _index.Search(unitQuery, keys, new float[count]);
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
            _viewed = null;
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>Makes room for <paramref name="more"/> items, doubling the capacity when it has to grow. Under the write lock.</summary>
    private void EnsureCapacity(int more)
    {
        var needed = _index.Size + (ulong)more;
        var capacity = _index.Capacity;
        if (capacity < needed)
        {
            _index.Reserve(Math.Max(needed, Math.Max(1024, 2 * capacity)));
        }
    }

    /// <summary>
    /// Reads a viewed index into memory before its first change (a view is read-only). Under the write lock. The file
    /// stays: it is what the next start finds until the next save.
    /// </summary>
    private void Writable()
    {
        if (_viewed is not { } file)
        {
            return;
        }
        var loaded = NativeHnsw.Load(file);
        _index.Dispose();
        _index = loaded;
        _viewed = null;
        _logger.LogInformation("Vector index {File} read into memory for its first change", file);
    }

    private static NativeHnsw New() =>
        NativeHnsw.Create(ContentVectors.Dimensions, ScalarKind.Int8, Connectivity, ExpansionAdd, ExpansionSearch);

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
