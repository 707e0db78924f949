using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using CyberHub.Ai.Recommendations;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// The embedded store's item graph: every item's <see cref="ItemGraph.K"/> nearest items in memory by label, with the
/// reverse map (which lists hold an item), and in the store's SQLite file (<c>item_lists</c>: one row per item, its
/// list packed by label, so a start reads one row an item rather than one an edge), written in the transaction of the
/// item write and applied to memory once it commits. Writes are serialised by the store, so each plans its changes
/// against a graph no one else changes:
/// <list type="bullet">
/// <item>an upsert with a new vector looks at the items nearest it: the item's own list is the top k, and the item
/// enters every list among them whose k-th neighbour it beats (or that has room);</item>
/// <item>a delete, or the old place of a changed vector, refills every list that held the item from the items nearest
/// the holder.</item>
/// </list>
/// "The items nearest" are the whole catalog, scanned exactly, while the store searches by exact scan (a catalog below
/// <c>VectorSearch:ExactScanBelow</c>, or while its index is built): lists are then exact after every write. Above
/// it they are the approximate index's candidates (<c>VectorSearch:Candidates</c> of them at least) rescored exactly:
/// every similarity is exact, the set is as good as the index's recall, and a write costs a few index searches instead
/// of one scan of every vector per list it touches. A build from scratch likewise searches the index once per item
/// (all processors) instead of comparing all pairs. A file without a built graph (from an earlier version, or after
/// <see cref="DeferAsync"/>) is built in the background at start, once the index is ready; writes meanwhile are noted
/// and brought up to date when the build is stored.
/// </summary>
public sealed class EmbeddedItemGraph : IMaintainedItemGraph, IDisposable
{
    internal const string Schema = """
        CREATE TABLE IF NOT EXISTS item_lists (
            label INTEGER NOT NULL PRIMARY KEY,
            neighbours BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS item_graph_state (
            id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            built INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS catalog_vector_sum (
            id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            total BLOB NOT NULL,
            items INTEGER NOT NULL
        );
        """;

    private const int K = ItemGraph.K;

    /// <summary>
    /// Bytes of one neighbour in <c>item_lists.neighbours</c>: its label (int64) and the similarity (float64), little-endian,
    /// most similar first.
    /// </summary>
    private const int EntryBytes = sizeof(long) + sizeof(double);

    private enum State { Stale, Building, Built }

    private readonly InMemoryCatalog _catalog;
    private readonly INeighbourIndex _index;
    private readonly SemaphoreSlim _writes;
    private readonly Func<CancellationToken, Task<SqliteConnection>> _open;
    private readonly ILogger _logger;
    private readonly Lock _sync = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<ContentKey> _pending = [];
    private LabelLists _lists = new(0);
    // No full list has a k-th similarity below this (it only ever decreases between builds): scores under it need no look-up.
    private double _floorBound = double.NegativeInfinity;
    private volatile State _state = State.Stale;
    private volatile CatalogVectorSum _sum = CatalogVectorSum.Empty;
    private readonly Lock _wordsSync = new();
    private Task<Dictionary<string, long>>? _wordCounts;
    // The counts once counted (written under _wordsSync), and while they are being counted the writes' changes to apply after.
    private Dictionary<string, long>? _counts;
    private List<Action<Dictionary<string, long>>>? _countingChanges;
    private long _wordItems;
    private int _generation;

    internal EmbeddedItemGraph(
        InMemoryCatalog catalog, INeighbourIndex index, SemaphoreSlim writes, Func<CancellationToken, Task<SqliteConnection>> open, ILogger logger)
    {
        _catalog = catalog;
        _index = index;
        _writes = writes;
        _open = open;
        _logger = logger;
    }

    public bool BuildOnStart { get; set; } = true;

    public RetrySchedule BuildRetry
    {
        get;
        set => field = value ?? throw new ArgumentNullException(nameof(value));
    } = RetrySchedule.Default;

    public Task Building { get; private set; } = Task.CompletedTask;

    /// <summary>How long the start took to read the stored lists into memory (zero when none were read).</summary>
    public TimeSpan LoadTime { get; private set; }

    /// <summary>Awaited by the word count once it has taken the texts and let writes go on (a test's seam: null in the service).</summary>
    internal Func<Task>? WordsSnapshotTaken { get; set; }

    /// <summary>How many distinct words the catalog's word counts hold (0 until the first recommendation counts them).</summary>
    internal int CountedWords
    {
        get
        {
            lock (_wordsSync)
            {
                return _counts?.Count ?? 0;
            }
        }
    }

    /// <summary>How the last build from scratch computed the lists: "index" or "exact" (null before one).</summary>
    public string? LastBuild { get; private set; }

    public Task<IReadOnlyDictionary<ContentKey, IReadOnlyList<Neighbour>>> NeighboursAsync(
        IReadOnlyCollection<ContentKey> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var found = new Dictionary<ContentKey, IReadOnlyList<Neighbour>>();
        lock (_sync)
        {
            foreach (var item in items)
            {
                if (_catalog.LabelOf(item) is { } label && ListOf(LabelNumber(label)) is { Length: > 0 } list)
                {
                    found[item] = list;
                }
            }
        }
        return Task.FromResult<IReadOnlyDictionary<ContentKey, IReadOnlyList<Neighbour>>>(found);
    }

    public Task<IReadOnlyDictionary<ContentKey, double>> HubnessAsync(
        IReadOnlyCollection<ContentKey> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var found = new Dictionary<ContentKey, double>();
        lock (_sync)
        {
            foreach (var item in items)
            {
                if (_catalog.LabelOf(item) is { } label && _lists.MeanSimilarity(LabelNumber(label)) is { } hub)
                {
                    found[item] = hub;
                }
            }
        }
        return Task.FromResult<IReadOnlyDictionary<ContentKey, double>>(found);
    }

    public Task<float[]?> CatalogMeanAsync(CancellationToken cancellationToken = default) => Task.FromResult(_sum.Mean());

    public async Task<TermItems> TermItemsAsync(IReadOnlyCollection<string> words, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(words);
        var counts = await WordCountsAsync().WaitAsync(cancellationToken);
        var found = new Dictionary<string, long>(StringComparer.Ordinal);
        lock (_wordsSync)
        {
            foreach (var word in words)
            {
                if (counts.TryGetValue(word, out var items))
                {
                    found[word] = items;
                }
            }
            return new TermItems(_wordItems, found);
        }
    }

    /// <summary>
    /// How many items hold each word: counted from the catalog in memory on first use, then kept by every write. The
    /// write lock is held only to take the texts as they stand (references to the rows' packed texts, which a write
    /// replaces and never changes); the counting runs without it, and the writes that commit meanwhile queue what they
    /// change, applied once the count is done. Nothing is stored: a start does not pay for it, and the count is exact
    /// from the texts the catalog holds. A count that fails is tried again by the next call.
    /// </summary>
    private Task<Dictionary<string, long>> WordCountsAsync()
    {
        lock (_wordsSync)
        {
            return _wordCounts ??= Task.Run(async () =>
            {
                byte[][] texts;
                await _writes.WaitAsync(_stopping.Token);
                try
                {
                    texts = _catalog.TextSnapshot();
                    lock (_wordsSync)
                    {
                        _countingChanges = [];
                    }
                }
                finally
                {
                    _writes.Release();
                }
                try
                {
                    if (WordsSnapshotTaken is { } taken)
                    {
                        await taken();
                    }
                    var counts = new Dictionary<string, long>(StringComparer.Ordinal);
                    foreach (var packed in texts)
                    {
                        var (title, description) = InMemoryCatalog.TextOf(packed);
                        ItemWords.CountItem(counts, title, description);
                    }
                    lock (_wordsSync)
                    {
                        _wordItems = texts.Length;
                        foreach (var change in _countingChanges!)
                        {
                            change(counts);
                        }
                        _countingChanges = null;
                        _counts = counts;
                    }
                    return counts;
                }
                catch
                {
                    lock (_wordsSync)
                    {
                        _countingChanges = null;
                        _wordCounts = null;
                    }
                    throw;
                }
            });
        }
    }

    /// <summary>
    /// What a write changes in the word counts, applied to them once it commits: at once when they are counted, queued
    /// while they are being counted, nothing before the first count starts (it will read the write's texts). Writes hold
    /// the write lock, as the count's start does, so each write is either in the texts counted or after them.
    /// </summary>
    private Action WordsWriting(ContentKey key, ContentRecord? record)
    {
        if (_wordCounts is null)
        {
            return static () => { };
        }
        var old = _catalog.TextOf(key);
        var before = old is not { } text ? [] : ItemWords.Distinct(text.Title, text.Description);
        var after = record is null ? [] : ItemWords.Distinct(record.Title, record.Description);
        var items = (record is null ? 0 : 1) - (old is null ? 0 : 1);
        var removed = before.Except(after, StringComparer.Ordinal).ToArray();
        var added = after.Except(before, StringComparer.Ordinal).ToArray();
        void Change(Dictionary<string, long> counts)
        {
            _wordItems += items;
            ItemWords.Count(counts, removed, -1);
            ItemWords.Count(counts, added, 1);
        }
        return () =>
        {
            lock (_wordsSync)
            {
                if (_counts is { } counts)
                {
                    Change(counts);
                }
                else
                {
                    _countingChanges?.Add(Change);
                }
            }
        };
    }

    public Task<bool> IsBuiltAsync(CancellationToken cancellationToken = default) => Task.FromResult(_state == State.Built);

    public async Task DeferAsync(CancellationToken cancellationToken = default)
    {
        await _writes.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await _open(cancellationToken);
            await SetBuiltAsync(connection, null, false, cancellationToken);
            _state = State.Stale;
            _generation++;
            _pending.Clear();
        }
        finally
        {
            _writes.Release();
        }
    }

    public Task<bool> RebuildAsync(CancellationToken cancellationToken = default) => BuildAsync(force: true, cancellationToken);

    /// <summary>Creates the tables and loads the graph; called by the store's start, which holds the write lock.</summary>
    internal async Task LoadAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using (var schema = connection.CreateCommand())
        {
            schema.CommandText = Schema;
            await schema.ExecuteNonQueryAsync(cancellationToken);
        }
        await UpgradeAsync(connection, cancellationToken);
        _sum = await ReadSumAsync(connection, cancellationToken);
        bool built;
        await using (var state = connection.CreateCommand())
        {
            state.CommandText = "SELECT built FROM item_graph_state WHERE id = 1";
            built = await state.ExecuteScalarAsync(cancellationToken) is long flag && flag != 0;
        }
        if (built)
        {
            var started = Stopwatch.GetTimestamp();
            await ReadListsAsync(connection, cancellationToken);
            LoadTime = Stopwatch.GetElapsedTime(started);
            _state = State.Built;
            return;
        }
        if (_catalog.Count == 0)
        {
            await using var transaction = connection.BeginTransaction();
            await using (var clear = connection.CreateCommand())
            {
                clear.Transaction = transaction;
                clear.CommandText = "DELETE FROM item_lists";
                await clear.ExecuteNonQueryAsync(cancellationToken);
            }
            await SetBuiltAsync(connection, transaction, true, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            _state = State.Built;
            return;
        }
        _state = State.Stale;
        if (BuildOnStart)
        {
            _logger.LogInformation("Item graph missing for {Count} items: building it in the background", _catalog.Count);
            Building = ItemGraph.BuildInBackground(ct => BuildAsync(force: false, ct), _logger, BuildRetry, _stopping.Token);
        }
    }

    /// <summary>
    /// Plans and stores, in the write's transaction, what an upsert of <paramref name="key"/> to <paramref name="vector"/>
    /// (null: a delete) changes in the graph; the returned action applies it to memory once the transaction commits.
    /// Called with the store's write lock held, before the catalog in memory changes.
    /// </summary>
    /// <paramref name="label"/> is the item's label in the store (a new item's is not in the catalog yet).
    internal async Task<Action> WritingAsync(
        SqliteConnection connection, SqliteTransaction transaction, ContentKey key, long label, ContentRecord? record, float[]? vector,
        CancellationToken cancellationToken)
    {
        // The word counts follow every write, whatever the graph's state and whether or not the vector changed.
        var words = WordsWriting(key, record);
        var old = _catalog.GetVector(key);
        if ((old is null && vector is null) || (old is not null && vector is not null && old.AsSpan().SequenceEqual(vector)))
        {
            return words;
        }
        // The catalog's vector sum follows every write, whatever the graph's state.
        var sum = _sum.Changed(old, vector);
        await SaveSumAsync(connection, transaction, sum, cancellationToken);
        switch (_state)
        {
            case State.Stale:
                return () =>
                {
                    _sum = sum;
                    words();
                };
            case State.Building:
                return () =>
                {
                    _sum = sum;
                    words();
                    _pending.Add(key);
                };
        }
        var changes = Plan(key, vector, old is not null, k => k == key ? label : _catalog.LabelOf(k));
        await SaveAsync(connection, transaction, changes, cancellationToken);
        return () =>
        {
            _sum = sum;
            words();
            Apply(changes);
        };
    }

    /// <summary>
    /// The stored sum of the item vectors; a file from before it (no row) gets it from <c>content_vectors</c> once, in
    /// one pass over the vectors as SQLite stores them (not the mapped file, which a start leaves unread).
    /// </summary>
    private static async Task<CatalogVectorSum> ReadSumAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT total, items FROM catalog_vector_sum WHERE id = 1";
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                return CatalogVectorSum.FromBytes(reader.GetFieldValue<byte[]>(0), reader.GetInt64(1));
            }
        }
        var total = new double[ContentVectors.Dimensions];
        var vector = new float[ContentVectors.Dimensions];
        long items = 0;
        await using (var vectors = connection.CreateCommand())
        {
            vectors.CommandText = "SELECT embedding FROM content_vectors";
            await using var reader = await vectors.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var blob = reader.GetFieldValue<byte[]>(0);
                if (blob.Length != ContentVectors.Dimensions * sizeof(float))
                {
                    throw new InvalidDataException($"A vector in content_vectors has {blob.Length} bytes, not {ContentVectors.Dimensions * sizeof(float)}.");
                }
                ContentVectors.FromBlob(blob, vector);
                for (var d = 0; d < total.Length; d++)
                {
                    total[d] += vector[d];
                }
                items++;
            }
        }
        var sum = items == 0 ? CatalogVectorSum.Empty : new CatalogVectorSum(total, items);
        await using var transaction = connection.BeginTransaction();
        await SaveSumAsync(connection, transaction, sum, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return sum;
    }

    private static async Task SaveSumAsync(SqliteConnection connection, SqliteTransaction transaction, CatalogVectorSum sum, CancellationToken cancellationToken)
    {
        await using var save = connection.CreateCommand();
        save.Transaction = transaction;
        save.CommandText = """
            INSERT INTO catalog_vector_sum (id, total, items) VALUES (1, $total, $items)
            ON CONFLICT (id) DO UPDATE SET total = excluded.total, items = excluded.items
            """;
        save.Parameters.AddWithValue("$total", sum.ToBytes());
        save.Parameters.AddWithValue("$items", sum.Items);
        await save.ExecuteNonQueryAsync(cancellationToken);
    }

    public void Dispose()
    {
        _stopping.Cancel();
        try
        {
            Building.Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task<bool> BuildAsync(bool force, CancellationToken cancellationToken)
    {
        // A start builds the index in the background too: the graph is built through it once it is there.
        await _index.Ready.WaitAsync(cancellationToken);
        int generation;
        ContentKey[] keys;
        long[] labels;
        bool throughIndex;
        await _writes.WaitAsync(cancellationToken);
        try
        {
            if (!force && _state == State.Built)
            {
                return false;
            }
            _state = State.Building;
            _pending.Clear();
            generation = ++_generation;
            (keys, labels) = _catalog.KeysAndLabels();
            throughIndex = _index.Usable;
        }
        finally
        {
            _writes.Release();
        }

        var started = Stopwatch.GetTimestamp();
        // The label each key had at the snapshot: for the build through the index, and for items deleted meanwhile.
        Dictionary<ContentKey, long>? snapshot = throughIndex ? Snapshot(keys, labels) : null;
        var (lists, incomplete) = throughIndex
            ? await Task.Run(() => BuildThroughIndex(keys, labels, snapshot!, cancellationToken), cancellationToken)
            : (await Task.Run(() => BuildExact(keys, labels, cancellationToken), cancellationToken), []);
        var computed = Stopwatch.GetElapsedTime(started);

        await _writes.WaitAsync(cancellationToken);
        try
        {
            if (_generation != generation || _state != State.Building)
            {
                return false;
            }
            lock (_sync)
            {
                _lists = lists;
                _floorBound = lists.FloorBound();
            }
            // Writes made after the snapshot, and the items whose lists lost a neighbour written and deleted since:
            // each is taken out of the graph and put back as it is now. Deletes go first (an item deleted meanwhile is
            // found by the label it had in the snapshot): until then lists may hold items the catalog no longer has,
            // and a list read to plan a change leaves those out.
            long? LabelOf(ContentKey key) => _catalog.LabelOf(key)
                ?? ((snapshot ??= Snapshot(keys, labels)).TryGetValue(key, out var label) ? label : null);
            foreach (var key in _pending.Union(incomplete).OrderBy(key => _catalog.LabelOf(key) is null ? 0 : 1))
            {
                var vector = _catalog.GetVector(key);
                Apply(Plan(key, vector, held: true, LabelOf));
            }
            await using var connection = await _open(cancellationToken);
            await using var transaction = connection.BeginTransaction();
            await using (var clear = connection.CreateCommand())
            {
                clear.Transaction = transaction;
                clear.CommandText = "DELETE FROM item_lists";
                await clear.ExecuteNonQueryAsync(cancellationToken);
            }
            // The write lock is held: nothing changes the lists while they are stored.
            await InsertAsync(connection, transaction, lists.Labels().Select(label => (label, lists.Entries(label))), cancellationToken);
            await SetBuiltAsync(connection, transaction, true, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            _state = State.Built;
            _pending.Clear();
            LastBuild = throughIndex ? "index" : "exact";
            _logger.LogInformation("Item graph built for {Count} items ({How}): {Computed:F1} s computing, {Total:F1} s in all",
                keys.Length, throughIndex ? "through the index" : "exact", computed.TotalSeconds, Stopwatch.GetElapsedTime(started).TotalSeconds);
            return true;
        }
        catch
        {
            // Memory may hold part of the build: the graph counts as unbuilt until a build is stored.
            _state = State.Stale;
            throw;
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>Every list, exact: all pairs compared (<see cref="ExactNeighbours"/>).</summary>
    private LabelLists BuildExact(ContentKey[] keys, long[] labels, CancellationToken cancellationToken)
    {
        var vectors = new float[(long)keys.Length * ContentVectors.Dimensions];
        for (var row = 0; row < keys.Length; row++)
        {
            // An item deleted since the key list was taken keeps zeros: the pending writes take it out again.
            _catalog.TryCopyVector(labels[row], vectors.AsSpan(row * ContentVectors.Dimensions, ContentVectors.Dimensions));
        }
        var (rows, similarities) = ExactNeighbours.Build(vectors, keys.Length, K, cancellationToken);
        var lists = new LabelLists(MaxLabel(labels));
        var list = new (Neighbour Neighbour, int Label)[K];
        for (var row = 0; row < keys.Length; row++)
        {
            var length = rows[row].Length;
            for (var i = 0; i < length; i++)
            {
                var other = rows[row][i];
                list[i] = (new Neighbour(keys[other], similarities[row][i]), LabelNumber(labels[other]));
            }
            list.AsSpan(0, length).Sort(static (a, b) => ItemGraph.Compare(a.Neighbour, b.Neighbour));
            var entries = new Entry[length];
            for (var i = 0; i < length; i++)
            {
                entries[i] = new Entry(list[i].Label, (float)list[i].Neighbour.Similarity);
            }
            lists.Fill(LabelNumber(labels[row]), entries);
        }
        lists.CountHolders();
        return lists;
    }

    /// <summary>
    /// Every list from one index search per item, on all processors; with the items whose list left out a neighbour
    /// written and deleted since the snapshot (no label is known for it: the item is put back in place afterwards).
    /// </summary>
    private (LabelLists Lists, List<ContentKey> Incomplete) BuildThroughIndex(
        ContentKey[] keys, long[] labels, Dictionary<ContentKey, long> snapshot, CancellationToken cancellationToken)
    {
        var built = new Neighbour[keys.Length][];
        var options = new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount };
        Parallel.For(0, keys.Length, options, () => new float[ContentVectors.Dimensions], (row, _, vector) =>
        {
            if (_catalog.TryCopyVector(labels[row], vector))
            {
                var list = new TopList(K);
                if (_index.Nearest(vector, K + 1) is { } nearest)
                {
                    foreach (var (other, similarity) in nearest)
                    {
                        if (other != keys[row])
                        {
                            list.Offer(new Neighbour(other, similarity));
                        }
                    }
                }
                else
                {
                    // Deletes took the catalog below the threshold meanwhile: this list by an exact scan.
                    var (all, scores) = _catalog.ScoreAll(vector);
                    for (var i = 0; i < all.Length; i++)
                    {
                        if (all[i] != keys[row])
                        {
                            list.Offer(new Neighbour(all[i], scores[i]));
                        }
                    }
                }
                built[row] = list.ToArray();
            }
            return vector;
        }, static _ => { });
        // A neighbour written since the snapshot is found in the catalog, one deleted since by its snapshot label (its
        // pending delete refills the lists that hold it).
        var lists = new LabelLists(MaxLabel(labels));
        var incomplete = new List<ContentKey>();
        for (var row = 0; row < keys.Length; row++)
        {
            var entries = new List<Entry>(K);
            foreach (var n in built[row] ?? [])
            {
                if ((snapshot.TryGetValue(n.Item, out var label) ? label : _catalog.LabelOf(n.Item)) is { } found)
                {
                    entries.Add(new Entry(LabelNumber(found), (float)n.Similarity));
                }
                else
                {
                    incomplete.Add(keys[row]);
                }
            }
            lists.Fill(LabelNumber(labels[row]), [.. entries]);
        }
        lists.CountHolders();
        return (lists, incomplete);
    }

    /// <summary>
    /// The lists that change when <paramref name="key"/> takes <paramref name="vector"/> (null: leaves), by label: null
    /// for a list that goes. <paramref name="held"/>: the item may sit in other lists (it existed before).
    /// <paramref name="labelOf"/> gives the label of any key involved (the written item's may not be in the catalog).
    /// </summary>
    private Dictionary<int, Entry[]?> Plan(ContentKey key, float[]? vector, bool held, Func<ContentKey, long?> labelOf)
    {
        var changes = new Dictionary<ContentKey, Neighbour[]?>();
        var gone = new List<int>();
        if (held && labelOf(key) is { } ownLabel)
        {
            foreach (var (holderLabel, holder) in HoldersOf(LabelNumber(ownLabel)))
            {
                if (holder is { } found)
                {
                    changes[found] = Refill(found, key, vector);
                }
                else
                {
                    // A list of an item deleted while a build ran (its own pending write takes it out): it goes.
                    gone.Add(holderLabel);
                }
            }
        }
        if (vector is null)
        {
            changes[key] = null;
            return InLabels(changes, gone, labelOf);
        }

        var own = new TopList(K);
        var bound = _floorBound;
        void Offer(ContentKey other, double similarity)
        {
            if (other == key)
            {
                return;
            }
            own.Offer(new Neighbour(other, similarity));
            if (similarity <= bound)
            {
                return;
            }
            var list = changes.TryGetValue(other, out var changed) ? changed ?? [] : ListOfKey(other) ?? [];
            if (list.Length == K && similarity <= list[K - 1].Similarity)
            {
                return;
            }
            if (Array.FindIndex(list, n => n.Item == key) >= 0)
            {
                return;
            }
            changes[other] = Insert(list, new Neighbour(key, similarity));
        }
        if (_index.Nearest(vector, K + 1) is { } nearest)
        {
            foreach (var (other, similarity) in nearest)
            {
                Offer(other, similarity);
            }
        }
        else
        {
            var (keys, scores) = _catalog.ScoreAll(vector);
            for (var row = 0; row < keys.Length; row++)
            {
                Offer(keys[row], scores[row]);
            }
        }
        changes[key] = own.ToArray();
        return InLabels(changes, gone, labelOf);
    }

    /// <summary>A plan's changes by label (a list that goes with an item no label is known for was never stored).</summary>
    private static Dictionary<int, Entry[]?> InLabels(Dictionary<ContentKey, Neighbour[]?> changes, List<int> gone, Func<ContentKey, long?> labelOf)
    {
        var byLabel = new Dictionary<int, Entry[]?>(changes.Count + gone.Count);
        foreach (var label in gone)
        {
            byLabel[label] = null;
        }
        foreach (var (item, list) in changes)
        {
            if (list is null)
            {
                if (labelOf(item) is { } label)
                {
                    byLabel[LabelNumber(label)] = null;
                }
                continue;
            }
            var entries = new Entry[list.Length];
            for (var i = 0; i < list.Length; i++)
            {
                entries[i] = new Entry(LabelNumber(Known(list[i].Item)), (float)list[i].Similarity);
            }
            byLabel[LabelNumber(Known(item))] = entries;
        }
        return byLabel;

        long Known(ContentKey key) => labelOf(key)
            ?? throw new InvalidOperationException($"The item graph refers to {key.ContentType}:{key.ContentId}, which the catalog does not hold.");
    }

    /// <summary>
    /// The list of <paramref name="holder"/> with <paramref name="moved"/> at <paramref name="vector"/> (null: gone); null
    /// when the holder itself is no longer in the catalog.
    /// </summary>
    private Neighbour[]? Refill(ContentKey holder, ContentKey moved, float[]? vector)
    {
        if (_catalog.GetVector(holder) is not { } own)
        {
            // Deleted while a build ran (its own pending write takes it out of the other lists): its list goes.
            return null;
        }
        var list = new TopList(K);
        if (_index.Nearest(own, K + 2) is { } nearest)
        {
            foreach (var (other, similarity) in nearest)
            {
                if (other != holder && other != moved)
                {
                    list.Offer(new Neighbour(other, similarity));
                }
            }
        }
        else
        {
            var (keys, scores) = _catalog.ScoreAll(own);
            for (var row = 0; row < keys.Length; row++)
            {
                if (keys[row] != holder && keys[row] != moved)
                {
                    list.Offer(new Neighbour(keys[row], scores[row]));
                }
            }
        }
        if (vector is not null)
        {
            list.Offer(new Neighbour(moved, TensorPrimitives.Dot(own, vector)));
        }
        return list.ToArray();
    }

    private static Neighbour[] Insert(Neighbour[] list, Neighbour entry)
    {
        var grown = new Neighbour[Math.Min(K, list.Length + 1)];
        var at = 0;
        var placed = false;
        foreach (var n in list)
        {
            if (!placed && ItemGraph.Compare(entry, n) < 0)
            {
                grown[at++] = entry;
                placed = true;
            }
            if (at == grown.Length)
            {
                break;
            }
            grown[at++] = n;
        }
        if (!placed && at < grown.Length)
        {
            grown[at] = entry;
        }
        return grown;
    }

    private void Apply(Dictionary<int, Entry[]?> changes)
    {
        lock (_sync)
        {
            foreach (var (label, list) in changes)
            {
                if (list is null)
                {
                    _lists.Remove(label);
                    continue;
                }
                _lists.Set(label, list);
                _floorBound = Math.Min(_floorBound, list.Length == K ? list[K - 1].Similarity : double.NegativeInfinity);
            }
        }
    }

    /// <summary>The list of the item labelled <paramref name="label"/> with its neighbours' keys, or null when it has none.</summary>
    private Neighbour[]? ListOf(int label)
    {
        lock (_sync)
        {
            var length = _lists.Length(label);
            if (length < 0)
            {
                return null;
            }
            var keys = new ContentKey[length];
            var found = new bool[length];
            _catalog.KeysOf(_lists.Neighbours(label), keys, found);
            var similarities = _lists.Similarities(label);
            var list = new List<Neighbour>(length);
            for (var i = 0; i < length; i++)
            {
                if (found[i])
                {
                    list.Add(new Neighbour(keys[i], similarities[i]));
                }
            }
            return [.. list];
        }
    }

    private Neighbour[]? ListOfKey(ContentKey key) => _catalog.LabelOf(key) is { } label ? ListOf(LabelNumber(label)) : null;

    /// <summary>The labels of the lists that hold <paramref name="label"/>, each with its item's key (null: not in the catalog).</summary>
    private List<(int Label, ContentKey? Key)> HoldersOf(int label)
    {
        int[] holders;
        lock (_sync)
        {
            holders = _lists.Holders(label).ToArray();
        }
        var keys = new ContentKey[holders.Length];
        var found = new bool[holders.Length];
        _catalog.KeysOf(holders, keys, found);
        var result = new List<(int, ContentKey?)>(holders.Length);
        for (var i = 0; i < holders.Length; i++)
        {
            result.Add((holders[i], found[i] ? keys[i] : null));
        }
        return result;
    }

    private static Dictionary<ContentKey, long> Snapshot(ContentKey[] keys, long[] labels)
    {
        var snapshot = new Dictionary<ContentKey, long>(keys.Length);
        for (var row = 0; row < keys.Length; row++)
        {
            snapshot[keys[row]] = labels[row];
        }
        return snapshot;
    }

    private static int MaxLabel(long[] labels) => labels.Length == 0 ? 0 : LabelNumber(labels.Max());

    /// <summary>A label as the lists hold it (the vector file has a row per label, so a label stays far below this).</summary>
    private static int LabelNumber(long label) => label is > 0 and < int.MaxValue
        ? (int)label
        : throw new InvalidDataException($"The item graph cannot hold label {label}.");

    private async Task ReadListsAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        // By label throughout: a million lists are read into flat arrays without a key, a string or a hash per edge.
        var labels = _catalog.Labels();
        var maxLabel = MaxLabel(labels);
        var known = new bool[maxLabel + 1];
        foreach (var label in labels)
        {
            known[label] = true;
        }
        var lists = new LabelLists(maxLabel);
        await using (var select = connection.CreateCommand())
        {
            select.CommandText = "SELECT label, neighbours FROM item_lists";
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            var entries = new Entry[K];
            while (await reader.ReadAsync(cancellationToken))
            {
                var label = reader.GetInt64(0);
                if (label <= 0 || label > maxLabel || !known[label])
                {
                    continue;
                }
                // The blob as a value (GetBytes would open an incremental blob handle per call: a seek per list).
                var packed = reader.GetFieldValue<byte[]>(1);
                var length = packed.Length;
                if (length % EntryBytes != 0 || length > K * EntryBytes)
                {
                    throw new InvalidDataException($"The item graph's list of label {label} is {length} bytes, not a list of at most {K}.");
                }
                var count = 0;
                for (var at = 0; at < length; at += EntryBytes)
                {
                    var other = BinaryPrimitives.ReadInt64LittleEndian(packed.AsSpan(at));
                    if (other > 0 && other <= maxLabel && known[other])
                    {
                        entries[count++] = new Entry((int)other, (float)BinaryPrimitives.ReadDoubleLittleEndian(packed.AsSpan(at + sizeof(long))));
                    }
                }
                // Stored most similar first, ties in key order; a stable sort keeps that order and mends any other.
                InsertionSort(entries.AsSpan(0, count));
                lists.Fill((int)label, entries.AsSpan(0, count));
            }
        }
        lists.CountHolders();
        lock (_sync)
        {
            _lists = lists;
            _floorBound = lists.FloorBound();
        }
    }

    /// <summary>Most similar first, stable (a list is ten entries, already in order as stored).</summary>
    private static void InsertionSort(Span<Entry> entries)
    {
        for (var i = 1; i < entries.Length; i++)
        {
            var entry = entries[i];
            var at = i;
            while (at > 0 && entries[at - 1].Similarity < entry.Similarity)
            {
                entries[at] = entries[at - 1];
                at--;
            }
            entries[at] = entry;
        }
    }

    /// <summary>
    /// Brings a graph stored by an earlier version, one row per edge by key (<c>item_neighbours</c>), into
    /// <c>item_lists</c>, and drops the old table, in one transaction: the graph is not built again.
    /// </summary>
    private async Task UpgradeAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using (var exists = connection.CreateCommand())
        {
            exists.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'item_neighbours'";
            if (Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0)
            {
                return;
            }
        }
        var started = Stopwatch.GetTimestamp();
        var lists = new Dictionary<ContentKey, List<Neighbour>>();
        await using (var select = connection.CreateCommand())
        {
            select.CommandText = "SELECT content_type, content_id, neighbour_type, neighbour_id, similarity FROM item_neighbours";
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var item = new ContentKey(reader.GetString(0), reader.GetString(1));
                var neighbour = new ContentKey(reader.GetString(2), reader.GetString(3));
                if (_catalog.LabelOf(item) is null || _catalog.LabelOf(neighbour) is null)
                {
                    continue;
                }
                if (!lists.TryGetValue(item, out var list))
                {
                    lists[item] = list = new List<Neighbour>(K);
                }
                list.Add(new Neighbour(neighbour, reader.GetDouble(4)));
            }
        }
        await using var transaction = connection.BeginTransaction();
        long LabelOf(ContentKey key) => _catalog.LabelOf(key)!.Value;
        await InsertAsync(connection, transaction,
            lists.Select(p =>
            {
                p.Value.Sort(ItemGraph.Order);
                return (LabelNumber(LabelOf(p.Key)), p.Value.Take(K).Select(n => new Entry(LabelNumber(LabelOf(n.Item)), (float)n.Similarity)).ToArray());
            }), cancellationToken);
        await using (var drop = connection.CreateCommand())
        {
            drop.Transaction = transaction;
            drop.CommandText = "DROP TABLE item_neighbours";
            await drop.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        _logger.LogInformation("Item graph of {Count} lists moved to one row a list in {Elapsed:F0} ms",
            lists.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private static async Task SaveAsync(
        SqliteConnection connection, SqliteTransaction transaction, Dictionary<int, Entry[]?> changes, CancellationToken cancellationToken)
    {
        await using (var clear = connection.CreateCommand())
        {
            clear.Transaction = transaction;
            clear.CommandText = "DELETE FROM item_lists WHERE label = $label";
            var label = clear.Parameters.Add("$label", SqliteType.Integer);
            foreach (var (gone, list) in changes)
            {
                if (list is null)
                {
                    label.Value = gone;
                    await clear.ExecuteNonQueryAsync(cancellationToken);
                }
            }
        }
        await InsertAsync(connection, transaction, changes.Where(c => c.Value is not null).Select(c => (c.Key, c.Value!)), cancellationToken);
    }

    /// <summary>Writes (or replaces) each list as one row: the item's label and its neighbours packed by label.</summary>
    private static async Task InsertAsync(
        SqliteConnection connection, SqliteTransaction transaction, IEnumerable<(int Label, Entry[] List)> lists, CancellationToken cancellationToken)
    {
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT OR REPLACE INTO item_lists (label, neighbours) VALUES ($label, $neighbours)";
        var label = insert.Parameters.Add("$label", SqliteType.Integer);
        var neighbours = insert.Parameters.Add("$neighbours", SqliteType.Blob);
        insert.Prepare();
        foreach (var (item, list) in lists)
        {
            var packed = new byte[list.Length * EntryBytes];
            for (var i = 0; i < list.Length; i++)
            {
                BinaryPrimitives.WriteInt64LittleEndian(packed.AsSpan(i * EntryBytes), list[i].Label);
                BinaryPrimitives.WriteDoubleLittleEndian(packed.AsSpan(i * EntryBytes + sizeof(long)), list[i].Similarity);
            }
            label.Value = item;
            neighbours.Value = packed;
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static async Task SetBuiltAsync(SqliteConnection connection, SqliteTransaction? transaction, bool built, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO item_graph_state (id, built) VALUES (1, $built) ON CONFLICT (id) DO UPDATE SET built = excluded.built";
        command.Parameters.AddWithValue("$built", built ? 1 : 0);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A neighbour as memory holds it: its label and the similarity (every similarity is computed as a float).</summary>
    private readonly record struct Entry(int Label, float Similarity);

    /// <summary>
    /// The lists by label: <see cref="K"/> slots a label in two flat arrays (neighbour labels, similarities) with each
    /// list's length beside them, and which lists hold a label as a small array, replaced on change. No object a list
    /// and no key: a million items' lists take 80 MB (150 with their holders), and a start fills them without a string
    /// or a hash an edge. Keys are looked up in the catalog for the lists a caller reads only. The caller serialises
    /// changes.
    /// </summary>
    private sealed class LabelLists(int maxLabel)
    {
        private int[] _neighbours = new int[checked((maxLabel + 1) * K)];
        private float[] _similarities = new float[checked((maxLabel + 1) * K)];
        // 0: no list; otherwise the list's length + 1 (an item's list may be empty).
        private byte[] _lengths = new byte[maxLabel + 1];
        private int[]?[] _holders = new int[]?[maxLabel + 1];

        /// <summary>The length of the list of <paramref name="label"/>; -1 when it has none.</summary>
        public int Length(int label) => label > 0 && label < _lengths.Length ? _lengths[label] - 1 : -1;

        public ReadOnlySpan<int> Neighbours(int label) => Length(label) is var length and >= 0 ? _neighbours.AsSpan(label * K, length) : default;

        public ReadOnlySpan<float> Similarities(int label) => Length(label) is var length and >= 0 ? _similarities.AsSpan(label * K, length) : default;

        public ReadOnlySpan<int> Holders(int label) => label > 0 && label < _holders.Length ? _holders[label] : default;

        /// <summary>The labels that have a list, in order.</summary>
        public IEnumerable<int> Labels()
        {
            for (var label = 1; label < _lengths.Length; label++)
            {
                if (_lengths[label] != 0)
                {
                    yield return label;
                }
            }
        }

        public Entry[] Entries(int label)
        {
            var neighbours = Neighbours(label);
            var similarities = Similarities(label);
            var entries = new Entry[neighbours.Length];
            for (var i = 0; i < entries.Length; i++)
            {
                entries[i] = new Entry(neighbours[i], similarities[i]);
            }
            return entries;
        }

        /// <summary>The mean similarity of the list of <paramref name="label"/> (<see cref="NeighbourGraph.MeanSimilarity"/>); null when empty.</summary>
        public double? MeanSimilarity(int label)
        {
            var neighbours = Neighbours(label);
            var similarities = Similarities(label);
            var (sum, count) = (0.0, 0);
            for (var i = 0; i < neighbours.Length; i++)
            {
                if (neighbours[i] != label)
                {
                    (sum, count) = (sum + similarities[i], count + 1);
                }
            }
            return count > 0 ? sum / count : null;
        }

        /// <summary>The least k-th similarity of a full list; -infinity when a list is not full or there is none.</summary>
        public double FloorBound()
        {
            var bound = double.PositiveInfinity;
            for (var label = 1; label < _lengths.Length; label++)
            {
                var length = _lengths[label] - 1;
                if (length >= 0)
                {
                    bound = Math.Min(bound, length == K ? _similarities[label * K + K - 1] : double.NegativeInfinity);
                }
            }
            return double.IsPositiveInfinity(bound) ? double.NegativeInfinity : bound;
        }

        /// <summary>Puts a list in place while a start or a build fills the lists; <see cref="CountHolders"/> follows.</summary>
        public void Fill(int label, ReadOnlySpan<Entry> list) => Write(label, list);

        /// <summary>Which lists hold each label, from the lists as filled: counted first, so each array is allocated once at its size.</summary>
        public void CountHolders()
        {
            var counts = new int[_lengths.Length];
            for (var label = 1; label < _lengths.Length; label++)
            {
                foreach (var other in Neighbours(label))
                {
                    counts[other]++;
                }
            }
            for (var label = 1; label < _lengths.Length; label++)
            {
                _holders[label] = counts[label] > 0 ? new int[counts[label]] : null;
            }
            for (var label = 1; label < _lengths.Length; label++)
            {
                foreach (var other in Neighbours(label))
                {
                    _holders[other]![--counts[other]] = label;
                }
            }
        }

        /// <summary>Replaces the list of <paramref name="label"/> and keeps the holders in step.</summary>
        public void Set(int label, ReadOnlySpan<Entry> list)
        {
            Remove(label);
            Write(label, list);
            foreach (var entry in list)
            {
                var held = _holders[entry.Label] ?? [];
                if (Array.IndexOf(held, label) < 0)
                {
                    _holders[entry.Label] = [.. held, label];
                }
            }
        }

        /// <summary>Takes the list of <paramref name="label"/> away, and the label out of its neighbours' holders.</summary>
        public void Remove(int label)
        {
            foreach (var other in Neighbours(label))
            {
                if (_holders[other] is { } held && Array.IndexOf(held, label) is var at and >= 0)
                {
                    _holders[other] = held.Length == 1 ? null : [.. held.AsSpan(0, at), .. held.AsSpan(at + 1)];
                }
            }
            if (label > 0 && label < _lengths.Length)
            {
                _lengths[label] = 0;
            }
        }

        private void Write(int label, ReadOnlySpan<Entry> list)
        {
            if (list.Length > K)
            {
                throw new ArgumentException($"A list holds at most {K} neighbours.", nameof(list));
            }
            var highest = label;
            foreach (var entry in list)
            {
                highest = Math.Max(highest, entry.Label);
            }
            Ensure(highest);
            for (var i = 0; i < list.Length; i++)
            {
                _neighbours[label * K + i] = list[i].Label;
                _similarities[label * K + i] = list[i].Similarity;
            }
            _lengths[label] = (byte)(list.Length + 1);
        }

        private void Ensure(int label)
        {
            if (label < _lengths.Length)
            {
                return;
            }
            var slots = Math.Max(label + 1, Math.Max(64, _lengths.Length * 2));
            Array.Resize(ref _neighbours, checked(slots * K));
            Array.Resize(ref _similarities, checked(slots * K));
            Array.Resize(ref _lengths, slots);
            Array.Resize(ref _holders, slots);
        }
    }
}

/// <summary>What the item graph asks of the store's approximate index.</summary>
internal interface INeighbourIndex
{
    /// <summary>True when <see cref="Nearest"/> answers through the index (false: the graph scans exactly).</summary>
    bool Usable { get; }

    /// <summary>
    /// Completes when the index the store opens or builds at start is ready, or its build's first try failed (at once
    /// when there is none to build): a graph build then goes on by exact scans rather than wait for the tries after it.
    /// </summary>
    Task Ready { get; }

    /// <summary>
    /// The items the index proposes as nearest <paramref name="unitVector"/> (at least <paramref name="count"/> asked
    /// for), with their exact similarities, most similar first; null when the store searches by exact scan.
    /// </summary>
    List<(ContentKey Key, float Similarity)>? Nearest(float[] unitVector, int count);
}
