using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Recommendations;

/// <summary>
/// How the co-completion model counts. <see cref="Window"/>: a completion pairs with this many of the learner's
/// completions before it ("completed A, then B"). <see cref="HalfLifeDays"/>: a count loses half its weight in this
/// time. <see cref="MinSupport"/>: a pair counts only when its decayed count reaches this (a learner adds at most 1 to
/// a pair, so a floor of 3 means at least three learners recently), so one learner's pair means nothing.
/// </summary>
public sealed record CoCompletionSettings(int Window = 3, double HalfLifeDays = 180, double MinSupport = 3)
{
    public static CoCompletionSettings Default { get; } = new();
}

/// <summary>How many learners completed <see cref="From"/> and then <see cref="To"/>, decayed to <see cref="At"/>.</summary>
public sealed record PairCount(ContentKey From, ContentKey To, double Count, DateTime At);

/// <summary>How many learners completed <see cref="Item"/>, decayed to <see cref="At"/>.</summary>
public sealed record ItemCount(ContentKey Item, double Count, DateTime At);

/// <summary>
/// The whole state of a <see cref="CoCompletionModel"/>, as a store keeps it: ordered pair counts, item counts and the
/// time of the latest event. Each count carries the time it was last brought up to date, so an event touches only its
/// own rows (the decay of the others is applied when they are read).
/// </summary>
public sealed record CoCompletionState(IReadOnlyList<PairCount> Pairs, IReadOnlyList<ItemCount> Items, DateTime LastUpdate);

/// <summary>A co-completion score for a candidate, and the learner's item that contributed most to it.</summary>
public readonly record struct Signal(double Score, ContentKey? Driver);

/// <summary>
/// Item-to-item co-completion learned from every learner's completions, incrementally: <see cref="Add"/> one completion
/// with the learner's earlier completions, and the ordered pair counts ("completed A, then B") and item counts update.
/// Counts decay exponentially with time; pairs below the support floor are ignored. Not thread-safe: one writer.
/// </summary>
public sealed class CoCompletionModel
{
    private readonly Dictionary<ContentKey, Dictionary<ContentKey, Decayed>> _next = [];
    private readonly Dictionary<ContentKey, Decayed> _items = [];

    public CoCompletionModel(CoCompletionSettings? settings = null)
    {
        Settings = settings ?? CoCompletionSettings.Default;
        if (Settings.Window < 1 || !(Settings.HalfLifeDays > 0) || !(Settings.MinSupport >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(settings), "Window must be at least 1, the half-life positive and the support floor not negative.");
        }
    }

    public CoCompletionSettings Settings { get; }

    /// <summary>The time of the latest event: the "now" counts are read at.</summary>
    public DateTime LastUpdate { get; private set; } = DateTime.MinValue;

    /// <summary>
    /// Records that a learner completed <paramref name="completed"/> at <paramref name="at"/>, after
    /// <paramref name="earlier"/> (the learner's earlier completions, oldest first). The last <see cref="CoCompletionSettings.Window"/>
    /// of them each form the ordered pair (earlier → completed) with weight 1. Repeats of an item in
    /// <paramref name="earlier"/>, and the item itself, count once and not at all.
    /// </summary>
    public void Add(IReadOnlyList<ContentKey> earlier, ContentKey completed, DateTime at)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        Bump(_items, completed, at);
        var seen = new HashSet<ContentKey> { completed };
        for (var i = earlier.Count - 1; i >= 0 && seen.Count <= Settings.Window; i--)
        {
            if (!seen.Add(earlier[i]))
            {
                continue;
            }
            if (!_next.TryGetValue(earlier[i], out var next))
            {
                _next[earlier[i]] = next = [];
            }
            Bump(next, completed, at);
        }
        if (at > LastUpdate)
        {
            LastUpdate = at;
        }
    }

    /// <summary>The decayed count of learners who completed <paramref name="item"/>, read at <see cref="LastUpdate"/>.</summary>
    public double ItemCount(ContentKey item) => _items.TryGetValue(item, out var c) ? Read(c) : 0;

    /// <summary>The decayed count of "completed <paramref name="from"/>, then <paramref name="to"/>", ignoring the floor.</summary>
    public double PairCount(ContentKey from, ContentKey to) =>
        _next.TryGetValue(from, out var next) && next.TryGetValue(to, out var c) ? Read(c) : 0;

    /// <summary>
    /// The items learners take after <paramref name="from"/>, with the share of <paramref name="from"/>'s learners who did
    /// (decayed pair count / decayed item count), only pairs at or above the support floor, best first.
    /// </summary>
    public IReadOnlyList<(ContentKey Item, double Share)> After(ContentKey from)
    {
        if (!_next.TryGetValue(from, out var next))
        {
            return [];
        }
        var total = ItemCount(from);
        return [.. next
            .Select(p => (Item: p.Key, Count: Read(p.Value)))
            .Where(p => p.Count >= Settings.MinSupport && p.Count > 0)
            .Select(p => (p.Item, Share: p.Count / Math.Max(total, p.Count)))
            .OrderByDescending(p => p.Share).ThenBy(p => p.Item.ContentType, StringComparer.Ordinal).ThenBy(p => p.Item.ContentId, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Scores what a learner may take next: for each item of <paramref name="history"/> (with its weight, e.g. higher for
    /// recent completions), the weighted share of its learners who took each successor, summed; the driver is the
    /// history item that contributed most. Items of the history are never scored. Reads only the history's own rows.
    /// </summary>
    public IReadOnlyDictionary<ContentKey, Signal> Score(IReadOnlyList<(ContentKey Item, double Weight)> history)
    {
        var done = history.Select(h => h.Item).ToHashSet();
        var scores = new Dictionary<ContentKey, (double Sum, double Best, ContentKey Driver)>();
        foreach (var (item, weight) in history)
        {
            if (weight <= 0)
            {
                continue;
            }
            foreach (var (next, share) in After(item))
            {
                if (done.Contains(next))
                {
                    continue;
                }
                var part = weight * share;
                var current = scores.GetValueOrDefault(next, (0, double.NegativeInfinity, item));
                scores[next] = (current.Sum + part, Math.Max(current.Best, part), part > current.Best ? item : current.Driver);
            }
        }
        return scores.ToDictionary(s => s.Key, s => new Signal(s.Value.Sum, s.Value.Driver));
    }

    /// <summary>The state to store: every count as last brought up to date, in a stable order.</summary>
    public CoCompletionState State() => new(
        [.. _next.SelectMany(f => f.Value.Select(t => new PairCount(f.Key, t.Key, t.Value.Count, t.Value.At)))
            .OrderBy(p => p.From.ContentType, StringComparer.Ordinal).ThenBy(p => p.From.ContentId, StringComparer.Ordinal)
            .ThenBy(p => p.To.ContentType, StringComparer.Ordinal).ThenBy(p => p.To.ContentId, StringComparer.Ordinal)],
        [.. _items.Select(i => new ItemCount(i.Key, i.Value.Count, i.Value.At))
            .OrderBy(i => i.Item.ContentType, StringComparer.Ordinal).ThenBy(i => i.Item.ContentId, StringComparer.Ordinal)],
        LastUpdate);

    /// <summary>A model with a stored state: it counts on from where the state left off.</summary>
    public static CoCompletionModel From(CoCompletionState state, CoCompletionSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var model = new CoCompletionModel(settings);
        foreach (var p in state.Pairs)
        {
            if (!model._next.TryGetValue(p.From, out var next))
            {
                model._next[p.From] = next = [];
            }
            next[p.To] = new Decayed(p.Count, p.At);
        }
        foreach (var i in state.Items)
        {
            model._items[i.Item] = new Decayed(i.Count, i.At);
        }
        model.LastUpdate = state.LastUpdate;
        return model;
    }

    private void Bump<TKey>(Dictionary<TKey, Decayed> counts, TKey key, DateTime at)
        where TKey : notnull
    {
        if (!counts.TryGetValue(key, out var c))
        {
            counts[key] = new Decayed(1, at);
        }
        else if (at >= c.At)
        {
            counts[key] = new Decayed(c.Count * Decay(at - c.At) + 1, at);
        }
        else
        {
            // An event older than the row (events may arrive out of order): it adds what is left of it by the row's time.
            counts[key] = new Decayed(c.Count + Decay(c.At - at), c.At);
        }
    }

    private double Read(Decayed c) => c.Count * Decay(LastUpdate > c.At ? LastUpdate - c.At : TimeSpan.Zero);

    private double Decay(TimeSpan age) => Math.Pow(0.5, age.TotalDays / Settings.HalfLifeDays);

    private readonly record struct Decayed(double Count, DateTime At);
}
