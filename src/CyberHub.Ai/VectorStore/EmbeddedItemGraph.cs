using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using CyberHub.Ai.Recommendations;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// The embedded store's item graph: every item's <see cref="ItemGraph.K"/> nearest items in memory, with the reverse
/// map (which lists hold an item), and in the store's SQLite file (<c>item_lists</c>: one row per item, its list packed
/// by label, so a start reads one row an item rather than one an edge), written in the transaction of the item write
/// and applied to memory once it commits. Writes are serialised by the store, so each plans its
/// changes against a graph no one else changes:
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
    private Dictionary<ContentKey, Neighbour[]> _lists = [];
    // Which lists hold an item: small arrays, replaced on change (a million items' sets would take half a gigabyte).
    private Dictionary<ContentKey, ContentKey[]> _holders = [];
    // No full list has a k-th similarity below this (it only ever decreases between builds): scores under it need no look-up.
    private double _floorBound = double.NegativeInfinity;
    private volatile State _state = State.Stale;
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
                if (_lists.TryGetValue(item, out var list) && list.Length > 0)
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
                if (_lists.TryGetValue(item, out var list) && NeighbourGraph.MeanSimilarity(item, list) is { } hub)
                {
                    found[item] = hub;
                }
            }
        }
        return Task.FromResult<IReadOnlyDictionary<ContentKey, double>>(found);
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
        SqliteConnection connection, SqliteTransaction transaction, ContentKey key, long label, float[]? vector, CancellationToken cancellationToken)
    {
        switch (_state)
        {
            case State.Stale:
                return static () => { };
            case State.Building:
                return () => _pending.Add(key);
        }
        var old = _catalog.GetVector(key);
        if ((old is null && vector is null) || (old is not null && vector is not null && old.AsSpan().SequenceEqual(vector)))
        {
            return static () => { };
        }
        var changes = Plan(key, vector, old is not null);
        await SaveAsync(connection, transaction, changes, k => k == key ? label : _catalog.LabelOf(k), cancellationToken);
        return () => Apply(changes);
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
        var lists = throughIndex
            ? await Task.Run(() => BuildThroughIndex(keys, labels, cancellationToken), cancellationToken)
            : await Task.Run(() => BuildExact(keys, labels, cancellationToken), cancellationToken);
        var computed = Stopwatch.GetElapsedTime(started);

        await _writes.WaitAsync(cancellationToken);
        try
        {
            if (_generation != generation || _state != State.Building)
            {
                return false;
            }
            var holders = Holders(lists);
            lock (_sync)
            {
                _lists = lists;
                _holders = holders;
                _floorBound = FloorBound(lists.Values);
            }
            // Writes made after the snapshot: each item is taken out of the graph and put back as it is now.
            foreach (var key in _pending)
            {
                var vector = _catalog.GetVector(key);
                Apply(Plan(key, vector, held: true));
            }
            await using var connection = await _open(cancellationToken);
            await using var transaction = connection.BeginTransaction();
            await using (var clear = connection.CreateCommand())
            {
                clear.Transaction = transaction;
                clear.CommandText = "DELETE FROM item_lists";
                await clear.ExecuteNonQueryAsync(cancellationToken);
            }
            Dictionary<ContentKey, Neighbour[]> snapshot;
            lock (_sync)
            {
                snapshot = new Dictionary<ContentKey, Neighbour[]>(_lists);
            }
            await InsertAsync(connection, transaction, snapshot, _catalog.LabelOf, cancellationToken);
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
    private Dictionary<ContentKey, Neighbour[]> BuildExact(ContentKey[] keys, long[] labels, CancellationToken cancellationToken)
    {
        var vectors = new float[(long)keys.Length * ContentVectors.Dimensions];
        for (var row = 0; row < keys.Length; row++)
        {
            // An item deleted since the key list was taken keeps zeros: the pending writes take it out again.
            _catalog.TryCopyVector(labels[row], vectors.AsSpan(row * ContentVectors.Dimensions, ContentVectors.Dimensions));
        }
        var (rows, similarities) = ExactNeighbours.Build(vectors, keys.Length, K, cancellationToken);
        var lists = new Dictionary<ContentKey, Neighbour[]>(keys.Length);
        for (var row = 0; row < keys.Length; row++)
        {
            var list = new Neighbour[rows[row].Length];
            for (var i = 0; i < list.Length; i++)
            {
                list[i] = new Neighbour(keys[rows[row][i]], similarities[row][i]);
            }
            Array.Sort(list, ItemGraph.Order);
            lists[keys[row]] = list;
        }
        return lists;
    }

    /// <summary>Every list from one index search per item, on all processors.</summary>
    private Dictionary<ContentKey, Neighbour[]> BuildThroughIndex(ContentKey[] keys, long[] labels, CancellationToken cancellationToken)
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
        var lists = new Dictionary<ContentKey, Neighbour[]>(keys.Length);
        for (var row = 0; row < keys.Length; row++)
        {
            lists[keys[row]] = built[row] ?? [];
        }
        return lists;
    }

    /// <summary>
    /// The lists that change when <paramref name="key"/> takes <paramref name="vector"/> (null: leaves): null for a list
    /// that goes. <paramref name="held"/>: the item may sit in other lists (it existed before).
    /// </summary>
    private Dictionary<ContentKey, Neighbour[]?> Plan(ContentKey key, float[]? vector, bool held)
    {
        var changes = new Dictionary<ContentKey, Neighbour[]?>();
        if (held)
        {
            ContentKey[]? holders;
            lock (_sync)
            {
                holders = _holders.GetValueOrDefault(key);
            }
            foreach (var holder in holders ?? [])
            {
                changes[holder] = Refill(holder, key, vector);
            }
        }
        if (vector is null)
        {
            changes[key] = null;
            return changes;
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
            var list = changes.TryGetValue(other, out var changed) ? changed ?? [] : _lists.GetValueOrDefault(other) ?? [];
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
        return changes;
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

    private void Apply(Dictionary<ContentKey, Neighbour[]?> changes)
    {
        lock (_sync)
        {
            foreach (var (item, list) in changes)
            {
                var canonical = list is null ? item : _catalog.Canonical(item) ?? item;
                if (_lists.Remove(item, out var old))
                {
                    foreach (var n in old)
                    {
                        if (_holders.TryGetValue(n.Item, out var held) && Array.IndexOf(held, item) is var at and >= 0)
                        {
                            if (held.Length == 1)
                            {
                                _holders.Remove(n.Item);
                            }
                            else
                            {
                                _holders[n.Item] = [.. held.AsSpan(0, at), .. held.AsSpan(at + 1)];
                            }
                        }
                    }
                }
                if (list is null)
                {
                    continue;
                }
                _lists[canonical] = list;
                foreach (var n in list)
                {
                    var held = _holders.GetValueOrDefault(n.Item) ?? [];
                    if (Array.IndexOf(held, canonical) < 0)
                    {
                        _holders[n.Item] = [.. held, canonical];
                    }
                }
                _floorBound = Math.Min(_floorBound, list.Length == K ? list[K - 1].Similarity : double.NegativeInfinity);
            }
        }
    }

    private static Dictionary<ContentKey, ContentKey[]> Holders(Dictionary<ContentKey, Neighbour[]> lists)
    {
        // Counted first, so each array is allocated once at its size (a list never holds an item twice).
        var counts = new Dictionary<ContentKey, int>(lists.Count);
        foreach (var list in lists.Values)
        {
            foreach (var n in list)
            {
                counts[n.Item] = counts.GetValueOrDefault(n.Item) + 1;
            }
        }
        var holders = new Dictionary<ContentKey, ContentKey[]>(counts.Count);
        foreach (var (item, count) in counts)
        {
            holders[item] = new ContentKey[count];
        }
        foreach (var (item, list) in lists)
        {
            foreach (var n in list)
            {
                var held = holders[n.Item];
                held[--counts[n.Item]] = item;
            }
        }
        return holders;
    }

    private static double FloorBound(IEnumerable<Neighbour[]> lists)
    {
        var bound = double.PositiveInfinity;
        foreach (var list in lists)
        {
            bound = Math.Min(bound, list.Length == K ? list[K - 1].Similarity : double.NegativeInfinity);
        }
        return double.IsPositiveInfinity(bound) ? double.NegativeInfinity : bound;
    }

    private async Task ReadListsAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        // Everything by catalog row while reading (a label's row from an array, not a key's from a hash table): ten
        // million edges at a million items, and the keys are the catalog's own, so no string is read or hashed per edge.
        var (keys, labels) = _catalog.KeysAndLabels();
        var rowOfLabel = new int[labels.Length == 0 ? 1 : labels.Max() + 1];
        Array.Fill(rowOfLabel, -1);
        for (var row = 0; row < labels.Length; row++)
        {
            rowOfLabel[labels[row]] = row;
        }
        int RowOf(long label) => label > 0 && label < rowOfLabel.Length ? rowOfLabel[label] : -1;

        var listed = new Neighbour[keys.Length][];
        // Each list's neighbours by row, K slots a row (the list's own length says how many are used).
        var neighbourRows = new int[(long)keys.Length * K];
        var held = new int[keys.Length];
        await using (var select = connection.CreateCommand())
        {
            select.CommandText = "SELECT label, neighbours FROM item_lists";
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            var entries = new List<(Neighbour Neighbour, int Row)>(K);
            while (await reader.ReadAsync(cancellationToken))
            {
                var row = RowOf(reader.GetInt64(0));
                if (row < 0)
                {
                    continue;
                }
                // The blob as a value (GetBytes would open an incremental blob handle per call: a seek per list).
                var packed = reader.GetFieldValue<byte[]>(1);
                var length = packed.Length;
                if (length % EntryBytes != 0 || length > K * EntryBytes)
                {
                    throw new InvalidDataException($"The item graph's list of {keys[row].ContentType}:{keys[row].ContentId} is {length} bytes, not a list of at most {K}.");
                }
                entries.Clear();
                for (var at = 0; at < length; at += EntryBytes)
                {
                    var other = RowOf(BinaryPrimitives.ReadInt64LittleEndian(packed.AsSpan(at)));
                    if (other >= 0)
                    {
                        entries.Add((new Neighbour(keys[other], BinaryPrimitives.ReadDoubleLittleEndian(packed.AsSpan(at + sizeof(long)))), other));
                    }
                }
                entries.Sort(static (a, b) => ItemGraph.Order(a.Neighbour, b.Neighbour));
                var list = listed[row] = new Neighbour[entries.Count];
                for (var i = 0; i < entries.Count; i++)
                {
                    (list[i], var other) = entries[i];
                    neighbourRows[(long)row * K + i] = other;
                    held[other]++;
                }
            }
        }

        var lists = new Dictionary<ContentKey, Neighbour[]>(keys.Length);
        var holding = new ContentKey[keys.Length][];
        for (var row = 0; row < keys.Length; row++)
        {
            if (listed[row] is { } list)
            {
                lists[keys[row]] = list;
            }
            if (held[row] > 0)
            {
                holding[row] = new ContentKey[held[row]];
            }
        }
        for (var row = 0; row < keys.Length; row++)
        {
            for (var i = 0; i < (listed[row]?.Length ?? 0); i++)
            {
                var other = neighbourRows[(long)row * K + i];
                holding[other][--held[other]] = keys[row];
            }
        }
        var holders = new Dictionary<ContentKey, ContentKey[]>(keys.Length);
        for (var row = 0; row < keys.Length; row++)
        {
            if (holding[row] is { } by)
            {
                holders[keys[row]] = by;
            }
        }
        lock (_sync)
        {
            _lists = lists;
            _holders = holders;
            _floorBound = FloorBound(lists.Values);
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
        await InsertAsync(connection, transaction,
            lists.Select(p =>
            {
                p.Value.Sort(ItemGraph.Order);
                return KeyValuePair.Create(p.Key, p.Value.Take(K).ToArray());
            }), _catalog.LabelOf, cancellationToken);
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
        SqliteConnection connection, SqliteTransaction transaction, Dictionary<ContentKey, Neighbour[]?> changes, Func<ContentKey, long?> labelOf,
        CancellationToken cancellationToken)
    {
        await using (var clear = connection.CreateCommand())
        {
            clear.Transaction = transaction;
            clear.CommandText = "DELETE FROM item_lists WHERE label = $label";
            var label = clear.Parameters.Add("$label", SqliteType.Integer);
            foreach (var (item, list) in changes)
            {
                // A list that goes with an item the catalog no longer holds was never stored apart from a build's.
                if (list is null && labelOf(item) is { } gone)
                {
                    label.Value = gone;
                    await clear.ExecuteNonQueryAsync(cancellationToken);
                }
            }
        }
        await InsertAsync(connection, transaction, changes.Where(c => c.Value is not null).Select(c => KeyValuePair.Create(c.Key, c.Value!)), labelOf, cancellationToken);
    }

    /// <summary>Writes (or replaces) each list as one row: the item's label and its neighbours packed by label.</summary>
    private static async Task InsertAsync(
        SqliteConnection connection, SqliteTransaction transaction, IEnumerable<KeyValuePair<ContentKey, Neighbour[]>> lists, Func<ContentKey, long?> labelOf,
        CancellationToken cancellationToken)
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
                BinaryPrimitives.WriteInt64LittleEndian(packed.AsSpan(i * EntryBytes), LabelOf(list[i].Item));
                BinaryPrimitives.WriteDoubleLittleEndian(packed.AsSpan(i * EntryBytes + sizeof(long)), list[i].Similarity);
            }
            label.Value = LabelOf(item);
            neighbours.Value = packed;
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        long LabelOf(ContentKey key) => labelOf(key)
            ?? throw new InvalidOperationException($"The item graph refers to {key.ContentType}:{key.ContentId}, which the catalog does not hold.");
    }

    private static async Task SetBuiltAsync(SqliteConnection connection, SqliteTransaction? transaction, bool built, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO item_graph_state (id, built) VALUES (1, $built) ON CONFLICT (id) DO UPDATE SET built = excluded.built";
        command.Parameters.AddWithValue("$built", built ? 1 : 0);
        await command.ExecuteNonQueryAsync(cancellationToken);
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
