using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Text;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// The embedded store's in-memory copy of the catalog: records, type ids and labels in parallel arrays by row, sorted
/// ids per type for listing, and the float item vectors outside the managed heap in a <see cref="VectorFile"/> by label
/// (memory-mapped from the store's <c>.vectors</c> file: a million items' 1.5 GB of vectors are not read at start and
/// only the rows a search rescores are paged in). A row's record is held compact: its type as a number, its id as the
/// key's string, its texts as one UTF-8 array, its times as values; a <see cref="ContentRecord"/> is made when one is
/// read (a million items' records take about 300 MB rather than 500). Searches hold a read lock and writes a write lock,
/// so a reader never sees half an update.
/// </summary>
internal sealed class InMemoryCatalog : IDisposable
{
    private const int D = ContentVectors.Dimensions;

    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<ContentKey, int> _rows = [];
    private readonly Dictionary<string, int> _typeIds = new(StringComparer.Ordinal);
    private readonly List<string> _typeNames = [];
    private readonly SortedDictionary<string, SortedSet<string>> _idsByType = new(CodePointComparer.Instance);
    private VectorFile _vectors;
    // By row: the record's parts (see RecordAt), its label, and its type's number.
    private string[] _ids = [];
    private byte[][] _texts = [];
    private DateTime[] _created = [];
    private DateTime[] _updated = [];
    private int[] _chunks = [];
    private int[] _rowTypes = [];
    private long[] _labels = [];
    // By label: the row + 1 (0: no item has the label).
    private int[] _rowOfLabel = [];
    private int _count;

    /// <summary>An item as a start reads it: its texts already packed (<see cref="PackTexts(ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte}, byte[])"/>).</summary>
    public readonly record struct StoredItem(
        string ContentType, string ContentId, byte[] Texts, int ChunkCount, DateTime CreatedAt, DateTime UpdatedAt, long Label);

    /// <summary>A catalog whose vectors are kept in native memory.</summary>
    public InMemoryCatalog() : this(VectorFile.InMemory())
    {
    }

    /// <summary>A catalog whose vectors are the rows of <paramref name="vectors"/> (it takes ownership).</summary>
    public InMemoryCatalog(VectorFile vectors) => _vectors = vectors;

    /// <summary>The write-log position the vector rows were last flushed at (-1: not to be trusted).</summary>
    public long VectorsFlushedSeq => _vectors.FlushedSeq;

    /// <summary>The highest label the vector rows can hold without growing.</summary>
    public long VectorRows => _vectors.Rows;

    /// <summary>Takes <paramref name="vectors"/> as the catalog's vector rows (at a start, before any item; takes ownership).</summary>
    public void UseVectors(VectorFile vectors)
    {
        _lock.EnterWriteLock();
        try
        {
            if (_count != 0)
            {
                throw new InvalidOperationException("The catalog already holds items.");
            }
            _vectors.Dispose();
            _vectors = vectors;
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>Writes the vector rows to disk and records them good up to write-log position <paramref name="seq"/>.</summary>
    public void FlushVectors(long seq)
    {
        _lock.EnterReadLock();
        try { _vectors.Flush(seq); }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Marks the vector rows untrusted on disk before they are rewritten.</summary>
    public void InvalidateVectors()
    {
        _lock.EnterWriteLock();
        try { _vectors.Invalidate(); }
        finally { _lock.ExitWriteLock(); }
    }

    public int Count
    {
        get
        {
            _lock.EnterReadLock();
            try { return _count; }
            finally { _lock.ExitReadLock(); }
        }
    }

    public void Reserve(int capacity)
    {
        _lock.EnterWriteLock();
        try { Grow(capacity); }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>
    /// Adds or replaces the item. <paramref name="label"/> is its stable number in the store (the approximate index's
    /// key and its row in the vector file), 1 or more.
    /// </summary>
    public void Upsert(ContentRecord record, ReadOnlySpan<float> vector, long label)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(label);
        _lock.EnterWriteLock();
        try
        {
            _vectors.Write(label, vector);
            Place(record, label);
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>
    /// Fills an empty catalog with the items a start read (each key once; the vector file already holds their rows): one
    /// pass under one lock, the ids of each type sorted once and their sets built from the sorted ids, rather than a
    /// million tree inserts.
    /// </summary>
    public void AttachAll(IReadOnlyList<StoredItem> items)
    {
        _lock.EnterWriteLock();
        try
        {
            if (_count != 0)
            {
                throw new InvalidOperationException("The catalog already holds items.");
            }
            Grow(items.Count);
            _rows.EnsureCapacity(items.Count);
            var idsByType = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var item in items)
            {
                var key = new ContentKey(item.ContentType, item.ContentId);
                if (item.Label <= 0 || item.Label >= _vectors.Rows)
                {
                    throw new InvalidDataException($"The vector file has no row for label {item.Label}.");
                }
                if (_rows.ContainsKey(key) || RowOf(item.Label) >= 0)
                {
                    throw new InvalidDataException($"{item.ContentType}:{item.ContentId} (label {item.Label}) is in the store twice.");
                }
                var row = AppendRow(key);
                _texts[row] = item.Texts;
                (_chunks[row], _created[row], _updated[row]) = (item.ChunkCount, item.CreatedAt, item.UpdatedAt);
                SetLabel(row, item.Label);
                var type = _typeNames[_rowTypes[row]];
                if (!idsByType.TryGetValue(type, out var ids))
                {
                    idsByType.Add(type, ids = []);
                }
                ids.Add(item.ContentId);
            }
            foreach (var (type, ids) in idsByType)
            {
                _idsByType.Add(type, new SortedSet<string>(ids, CodePointComparer.Instance));
            }
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>
    /// The texts of a record as a row holds them: the UTF-8 lengths of title, description, metadata and owner (-1: none)
    /// as four little-endian integers, then the four in UTF-8. A start passes the bytes SQLite holds, without a string.
    /// </summary>
    public static byte[] PackTexts(ReadOnlySpan<byte> title, ReadOnlySpan<byte> description, ReadOnlySpan<byte> metadata, byte[]? owner)
    {
        var packed = NewPacked(title.Length, description.Length, metadata.Length, owner?.Length ?? -1, out var span);
        title.CopyTo(span);
        description.CopyTo(span = span[title.Length..]);
        metadata.CopyTo(span = span[description.Length..]);
        owner.AsSpan().CopyTo(span[metadata.Length..]);
        return packed;
    }

    /// <summary>As the other <c>PackTexts</c>, encoding the record's strings straight into the packed array.</summary>
    private static byte[] PackTexts(ContentRecord record)
    {
        var utf8 = Encoding.UTF8;
        var packed = NewPacked(utf8.GetByteCount(record.Title), utf8.GetByteCount(record.Description), utf8.GetByteCount(record.Metadata),
            record.CreatedBy is null ? -1 : utf8.GetByteCount(record.CreatedBy), out var span);
        span = span[utf8.GetBytes(record.Title, span)..];
        span = span[utf8.GetBytes(record.Description, span)..];
        span = span[utf8.GetBytes(record.Metadata, span)..];
        if (record.CreatedBy is not null)
        {
            utf8.GetBytes(record.CreatedBy, span);
        }
        return packed;
    }

    /// <summary>A packed array for texts of these UTF-8 lengths (owner -1: none), its lengths written; <paramref name="texts"/> is where the texts go.</summary>
    private static byte[] NewPacked(int title, int description, int metadata, int owner, out Span<byte> texts)
    {
        var packed = new byte[4 * sizeof(int) + title + description + metadata + Math.Max(owner, 0)];
        BinaryPrimitives.WriteInt32LittleEndian(packed, title);
        BinaryPrimitives.WriteInt32LittleEndian(packed.AsSpan(4), description);
        BinaryPrimitives.WriteInt32LittleEndian(packed.AsSpan(8), metadata);
        BinaryPrimitives.WriteInt32LittleEndian(packed.AsSpan(12), owner);
        texts = packed.AsSpan(16);
        return packed;
    }

    /// <summary>Writes the vector of <paramref name="label"/> without changing the catalog (a start's replay of the log).</summary>
    public void WriteVector(long label, ReadOnlySpan<float> vector)
    {
        _lock.EnterWriteLock();
        try { _vectors.Write(label, vector); }
        finally { _lock.ExitWriteLock(); }
    }

    private void Place(ContentRecord record, long label)
    {
        var key = ContentVectors.KeyOf(record);
        if (!_rows.TryGetValue(key, out var row))
        {
            row = AppendRow(key);
            if (!_idsByType.TryGetValue(key.ContentType, out var ids))
            {
                _idsByType.Add(key.ContentType, ids = new SortedSet<string>(CodePointComparer.Instance));
            }
            ids.Add(key.ContentId);
        }
        SetRecord(row, record, label);
    }

    /// <summary>A new row for <paramref name="key"/>, which the catalog does not hold (its ids by type are the caller's).</summary>
    private int AppendRow(ContentKey key)
    {
        Grow(_count + 1);
        var row = _count++;
        var type = TypeId(key.ContentType);
        // The key as held shares the type's one string.
        _rows.Add(new ContentKey(_typeNames[type], key.ContentId), row);
        _rowTypes[row] = type;
        _ids[row] = key.ContentId;
        return row;
    }

    private void SetRecord(int row, ContentRecord record, long label)
    {
        _texts[row] = PackTexts(record);
        (_chunks[row], _created[row], _updated[row]) = (record.ChunkCount, record.CreatedAt, record.UpdatedAt);
        SetLabel(row, label);
    }

    private void SetLabel(int row, long label)
    {
        if (_labels[row] == label)
        {
            return;
        }
        if (_labels[row] != 0)
        {
            _rowOfLabel[_labels[row]] = 0;
        }
        _labels[row] = label;
        if (label >= _rowOfLabel.Length)
        {
            Array.Resize(ref _rowOfLabel, (int)Math.Max(label + 1, Math.Min(Array.MaxLength, Math.Max(64L, _rowOfLabel.Length * 2L))));
        }
        _rowOfLabel[label] = row + 1;
    }

    /// <summary>The row of the item labelled <paramref name="label"/>, or -1.</summary>
    private int RowOf(long label) => label > 0 && label < _rowOfLabel.Length ? _rowOfLabel[label] - 1 : -1;

    /// <summary>The record of <paramref name="row"/>, made from its parts.</summary>
    private ContentRecord RecordAt(int row)
    {
        var texts = _texts[row].AsSpan();
        var title = BinaryPrimitives.ReadInt32LittleEndian(texts);
        var description = BinaryPrimitives.ReadInt32LittleEndian(texts[4..]);
        var metadata = BinaryPrimitives.ReadInt32LittleEndian(texts[8..]);
        var owner = BinaryPrimitives.ReadInt32LittleEndian(texts[12..]);
        texts = texts[16..];
        return new ContentRecord(_typeNames[_rowTypes[row]], _ids[row],
            Encoding.UTF8.GetString(texts[..title]),
            Encoding.UTF8.GetString(texts.Slice(title, description)),
            Encoding.UTF8.GetString(texts.Slice(title + description, metadata)),
            _chunks[row], _created[row], _updated[row],
            owner < 0 ? null : Encoding.UTF8.GetString(texts.Slice(title + description + metadata, owner)));
    }

    /// <summary>
    /// Every item's packed texts as they stand (<see cref="TextOf(byte[])"/> reads the title and description of one): a
    /// copy of the references, taken under the read lock. A write replaces a row's texts and never changes them, so the
    /// copy stays what it was while writes go on.
    /// </summary>
    public byte[][] TextSnapshot()
    {
        _lock.EnterReadLock();
        try { return _texts[.._count]; }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>The item's title and description (null when the catalog does not hold it); nothing else of it is decoded.</summary>
    public (string Title, string Description)? TextOf(ContentKey key)
    {
        _lock.EnterReadLock();
        try { return _rows.TryGetValue(key, out var row) ? TextOf(_texts[row]) : null; }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>The title and description of a row's packed texts (<see cref="TextSnapshot"/>).</summary>
    public static (string Title, string Description) TextOf(byte[] packed)
    {
        var texts = packed.AsSpan();
        var title = BinaryPrimitives.ReadInt32LittleEndian(texts);
        var description = BinaryPrimitives.ReadInt32LittleEndian(texts[4..]);
        return (Encoding.UTF8.GetString(texts.Slice(16, title)), Encoding.UTF8.GetString(texts.Slice(16 + title, description)));
    }

    private ContentKey KeyAt(int row) => new(_typeNames[_rowTypes[row]], _ids[row]);

    public bool Remove(ContentKey key)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_rows.Remove(key, out var row))
            {
                return false;
            }
            var ids = _idsByType[key.ContentType];
            ids.Remove(key.ContentId);
            if (ids.Count == 0)
            {
                _idsByType.Remove(key.ContentType);
            }
            _rowOfLabel[_labels[row]] = 0;
            var last = --_count;
            if (row != last)
            {
                _ids[row] = _ids[last];
                _texts[row] = _texts[last];
                (_chunks[row], _created[row], _updated[row]) = (_chunks[last], _created[last], _updated[last]);
                _rowTypes[row] = _rowTypes[last];
                _labels[row] = _labels[last];
                _rows[KeyAt(row)] = row;
                _rowOfLabel[_labels[row]] = row + 1;
            }
            _ids[last] = null!;
            _texts[last] = null!;
            _labels[last] = 0;
            return true;
        }
        finally { _lock.ExitWriteLock(); }
    }

    public ContentRecord? Get(ContentKey key)
    {
        _lock.EnterReadLock();
        try { return _rows.TryGetValue(key, out var row) ? RecordAt(row) : null; }
        finally { _lock.ExitReadLock(); }
    }

    public float[]? GetVector(ContentKey key)
    {
        _lock.EnterReadLock();
        try { return _rows.TryGetValue(key, out var row) ? Vector(row).ToArray() : null; }
        finally { _lock.ExitReadLock(); }
    }

    public IReadOnlyList<ContentVector> GetMany(IReadOnlyCollection<ContentKey> keys)
    {
        var found = new List<ContentVector>(keys.Count);
        _lock.EnterReadLock();
        try
        {
            foreach (var key in keys)
            {
                if (_rows.TryGetValue(key, out var row))
                {
                    found.Add(new ContentVector(RecordAt(row), Vector(row).ToArray()));
                }
            }
        }
        finally { _lock.ExitReadLock(); }
        return found;
    }

    /// <summary>Every record, as of now.</summary>
    public IReadOnlyList<ContentRecord> Records()
    {
        _lock.EnterReadLock();
        try { return [.. _rows.Values.Select(RecordAt)]; }
        finally { _lock.ExitReadLock(); }
    }

    public (int Count, IReadOnlyList<ContentRecord> Items) List(string? contentType, int skip, int take)
    {
        _lock.EnterReadLock();
        try
        {
            var page = new List<ContentRecord>(Math.Min(take, 1024));
            if (contentType is not null)
            {
                if (!_idsByType.TryGetValue(contentType, out var ids))
                {
                    return (0, page);
                }
                Collect(contentType, ids, skip, take, page);
                return (ids.Count, page);
            }
            foreach (var (type, ids) in _idsByType)
            {
                if (page.Count == take)
                {
                    break;
                }
                if (skip >= ids.Count)
                {
                    skip -= ids.Count;
                    continue;
                }
                Collect(type, ids, skip, take - page.Count, page);
                skip = 0;
            }
            return (_count, page);
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Exact top-k by dot product (vectors and query are unit length), best first.</summary>
    public IReadOnlyList<SearchHit> Search(float[] unitQuery, int limit, string? contentType, IReadOnlySet<ContentKey>? exclude)
    {
        _lock.EnterReadLock();
        try
        {
            var typeFilter = -1;
            if (contentType is not null && !_typeIds.TryGetValue(contentType, out typeFilter))
            {
                return [];
            }
            var k = Math.Min(limit, _count);
            if (k <= 0)
            {
                return [];
            }
            HashSet<int>? excluded = null;
            if (exclude is not null)
            {
                foreach (var key in exclude)
                {
                    if (_rows.TryGetValue(key, out var row))
                    {
                        (excluded ??= []).Add(row);
                    }
                }
            }

            var top = new TopRows(k);
            for (var row = 0; row < _count; row++)
            {
                if (typeFilter >= 0 && _rowTypes[row] != typeFilter)
                {
                    continue;
                }
                var score = TensorPrimitives.Dot(Vector(row), unitQuery);
                if (top.Admits(score) && (excluded is null || !excluded.Contains(row)))
                {
                    top.Add(row, score);
                }
            }
            return top.Hits(RecordAt);
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>
    /// The exact top <paramref name="limit"/> among the items labelled <paramref name="labels"/> (the approximate
    /// index's candidates), rescored with their stored vectors, of <paramref name="contentType"/> when given, never any
    /// in <paramref name="exclude"/>; best first. Labels no longer in the catalog are skipped.
    /// </summary>
    public IReadOnlyList<SearchHit> Rescore(ReadOnlySpan<ulong> labels, float[] unitQuery, int limit, string? contentType, IReadOnlySet<ContentKey>? exclude)
    {
        _lock.EnterReadLock();
        try
        {
            var typeFilter = -1;
            if ((contentType is not null && !_typeIds.TryGetValue(contentType, out typeFilter)) || limit <= 0)
            {
                return [];
            }
            var top = new TopRows(limit);
            foreach (var label in labels)
            {
                var row = RowOf((long)label);
                if (row < 0 || (typeFilter >= 0 && _rowTypes[row] != typeFilter))
                {
                    continue;
                }
                var score = TensorPrimitives.Dot(Vector(row), unitQuery);
                if (top.Admits(score) && (exclude is null || !exclude.Contains(KeyAt(row))))
                {
                    top.Add(row, score);
                }
            }
            return top.Hits(RecordAt);
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Copies the vector of the item labelled <paramref name="label"/> into <paramref name="into"/>; false when there is none.</summary>
    public bool TryCopyVector(long label, Span<float> into)
    {
        _lock.EnterReadLock();
        try
        {
            var row = RowOf(label);
            if (row < 0)
            {
                return false;
            }
            Vector(row).CopyTo(into);
            return true;
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>The labels of every item, in row order.</summary>
    public long[] Labels()
    {
        _lock.EnterReadLock();
        try
        {
            return _labels.AsSpan(0, _count).ToArray();
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>
    /// The catalog's keys and exact similarities to <paramref name="unitQuery"/> of the items labelled
    /// <paramref name="labels"/> (the index's candidates), in the order given; labels no longer in the catalog are skipped.
    /// </summary>
    public List<(ContentKey Key, float Similarity)> Score(ReadOnlySpan<ulong> labels, ReadOnlySpan<float> unitQuery)
    {
        var scored = new List<(ContentKey, float)>(labels.Length);
        _lock.EnterReadLock();
        try
        {
            foreach (var label in labels)
            {
                if (RowOf((long)label) is var row and >= 0)
                {
                    scored.Add((KeyAt(row), TensorPrimitives.Dot(Vector(row), unitQuery)));
                }
            }
        }
        finally { _lock.ExitReadLock(); }
        return scored;
    }

    /// <summary>Every item's key and label, in row order.</summary>
    public (ContentKey[] Keys, long[] Labels) KeysAndLabels()
    {
        _lock.EnterReadLock();
        try
        {
            var keys = new ContentKey[_count];
            for (var row = 0; row < _count; row++)
            {
                keys[row] = KeyAt(row);
            }
            return (keys, _labels.AsSpan(0, _count).ToArray());
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Whether an item is labelled <paramref name="label"/>.</summary>
    public bool HasLabel(long label)
    {
        _lock.EnterReadLock();
        try { return RowOf(label) >= 0; }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>The number of items of <paramref name="contentType"/>.</summary>
    public int CountOf(string contentType)
    {
        _lock.EnterReadLock();
        try { return _idsByType.TryGetValue(contentType, out var ids) ? ids.Count : 0; }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Every item and its dot product with <paramref name="unitQuery"/>, in row order (the item graph's scan).</summary>
    public (ContentKey[] Keys, float[] Scores) ScoreAll(ReadOnlySpan<float> unitQuery)
    {
        _lock.EnterReadLock();
        try
        {
            var keys = new ContentKey[_count];
            var scores = new float[_count];
            for (var row = 0; row < _count; row++)
            {
                keys[row] = KeyAt(row);
                scores[row] = TensorPrimitives.Dot(Vector(row), unitQuery);
            }
            return (keys, scores);
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>The label of the item <paramref name="key"/>, or null when unknown.</summary>
    public long? LabelOf(ContentKey key)
    {
        _lock.EnterReadLock();
        try { return _rows.TryGetValue(key, out var row) ? _labels[row] : null; }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>
    /// The keys of the items labelled <paramref name="labels"/> into <paramref name="keys"/>, under one lock; false
    /// (and a default key) for a label no item has.
    /// </summary>
    public void KeysOf(ReadOnlySpan<int> labels, Span<ContentKey> keys, Span<bool> found)
    {
        _lock.EnterReadLock();
        try
        {
            for (var i = 0; i < labels.Length; i++)
            {
                var row = RowOf(labels[i]);
                found[i] = row >= 0;
                keys[i] = found[i] ? KeyAt(row) : default;
            }
        }
        finally { _lock.ExitReadLock(); }
    }

    public void Dispose()
    {
        _lock.EnterWriteLock();
        try { _vectors.Dispose(); }
        finally { _lock.ExitWriteLock(); }
        _lock.Dispose();
    }

    private void Collect(string type, SortedSet<string> ids, int skip, int take, List<ContentRecord> page)
    {
        foreach (var id in ids.Skip(skip).Take(take))
        {
            page.Add(RecordAt(_rows[new ContentKey(type, id)]));
        }
    }

    private int TypeId(string contentType)
    {
        if (!_typeIds.TryGetValue(contentType, out var id))
        {
            _typeIds.Add(contentType, id = _typeIds.Count);
            _typeNames.Add(contentType);
        }
        return id;
    }

    private Span<float> Vector(int row) => _vectors.Row(_labels[row]);

    private void Grow(int needed)
    {
        if (needed > _labels.Length)
        {
            // About 50 bytes a row: doubling these costs little.
            var capacity = Math.Max(needed, Math.Max(64, _labels.Length * 2));
            Array.Resize(ref _ids, capacity);
            Array.Resize(ref _texts, capacity);
            Array.Resize(ref _created, capacity);
            Array.Resize(ref _updated, capacity);
            Array.Resize(ref _chunks, capacity);
            Array.Resize(ref _rowTypes, capacity);
            Array.Resize(ref _labels, capacity);
        }
    }

    /// <summary>The best <c>k</c> rows seen so far: a min-heap whose root is the score a newcomer must beat once it is full.</summary>
    private sealed class TopRows(int k)
    {
        private readonly PriorityQueue<int, float> _heap = new(k);
        private float _floor = float.NegativeInfinity;

        public bool Admits(float score) => _heap.Count < k || score > _floor;

        public void Add(int row, float score)
        {
            if (_heap.Count == k)
            {
                _heap.DequeueEnqueue(row, score);
            }
            else
            {
                _heap.Enqueue(row, score);
            }
            if (_heap.Count == k)
            {
                _heap.TryPeek(out _, out _floor);
            }
        }

        /// <summary>Empties the heap into hits, best first.</summary>
        public SearchHit[] Hits(Func<int, ContentRecord> recordAt)
        {
            var hits = new SearchHit[_heap.Count];
            for (var i = hits.Length - 1; i >= 0; i--)
            {
                _heap.TryDequeue(out var row, out var score);
                hits[i] = new SearchHit(recordAt(row), score);
            }
            return hits;
        }
    }
}
