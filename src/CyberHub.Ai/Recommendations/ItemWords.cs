using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace CyberHub.Ai.Recommendations;

/// <summary>
/// An item's words as the content score counts them (<see cref="BlendSettings.Words"/>): the runs of letters and digits
/// of its title and description, lower-cased, from <see cref="MinLength"/> to <see cref="MaxLength"/> characters (longer
/// runs, such as hashes and paths, are left out), each with how often it occurs. Both stores count, for each word, how
/// many items hold it (<see cref="IItemGraph.TermItemsAsync"/>) by this same reading.
/// </summary>
public sealed class ItemWords
{
    public const int MinLength = 2;
    public const int MaxLength = 40;

    [ThreadStatic]
    private static Dictionary<string, int>? t_counting;

    private readonly string[] _words;
    private readonly int[] _counts;

    private ItemWords(string[] words, int[] counts) => (_words, _counts) = (words, counts);

    /// <summary>The distinct words, in the order they first occur.</summary>
    public IReadOnlyList<string> Words => _words;

    /// <summary>How often the item's text has each of <see cref="Words"/>.</summary>
    public IReadOnlyList<int> Counts => _counts;

    public static ItemWords Of(string title, string? description)
    {
        ArgumentNullException.ThrowIfNull(title);
        // One counting table per thread, emptied each time: a string is made once per distinct word.
        var counting = t_counting ??= new Dictionary<string, int>(StringComparer.Ordinal);
        counting.Clear();
        Count(title, counting);
        if (description is not null)
        {
            Count(description, counting);
        }
        var (words, counts) = Split(counting);
        return new ItemWords(words, counts);
    }

    /// <summary>The distinct words of an item's title and description (what a store counts the item under).</summary>
    public static IReadOnlyList<string> Distinct(string title, string? description) => Of(title, description)._words;

    /// <summary>Counts an item in <paramref name="holding"/> (for each word, how many items hold it) under each of its distinct words.</summary>
    public static void CountItem(Dictionary<string, long> holding, string title, string? description) =>
        Count(holding, Distinct(title, description), 1);

    /// <summary>
    /// Adds <paramref name="by"/> to each of <paramref name="words"/> in <paramref name="holding"/> (−1: an item that held
    /// them is gone); a word no item holds any longer leaves the table.
    /// </summary>
    public static void Count(Dictionary<string, long> holding, IEnumerable<string> words, int by)
    {
        foreach (var word in words)
        {
            ref var items = ref CollectionsMarshal.GetValueRefOrAddDefault(holding, word, out _);
            if ((items += by) <= 0)
            {
                holding.Remove(word);
            }
        }
    }

    /// <summary>
    /// An item's words as a unit vector without the catalog's weights: each word's 1 + ln count ("lnc" in the SMART
    /// notation). What a candidate is compared with the learner's weighed words by (<see cref="TermItems.Vector"/>). Made
    /// straight from the text: no string is made for a word.
    /// </summary>
    public static WordVector Vector(string title, string? description)
    {
        ArgumentNullException.ThrowIfNull(title);
        var counting = t_hashCounting ??= [];
        counting.Clear();
        var count = (WordAction)(word =>
        {
            var hash = WordVector.Hash(word);
            counting[hash] = counting.GetValueOrDefault(hash) + 1;
        });
        Scan(title, count);
        if (description is not null)
        {
            Scan(description, count);
        }
        var (hashes, counts) = Split(counting);
        var weights = new double[counts.Length];
        for (var i = 0; i < counts.Length; i++)
        {
            weights[i] = 1 + Math.Log(counts[i]);
        }
        return WordVector.Unit(hashes, weights);
    }

    /// <summary>A counting table's words and counts, as two arrays in the same order.</summary>
    private static (TWord[] Words, int[] Counts) Split<TWord>(Dictionary<TWord, int> counting) where TWord : notnull
    {
        var words = new TWord[counting.Count];
        var counts = new int[counting.Count];
        var i = 0;
        foreach (var (word, count) in counting)
        {
            (words[i], counts[i]) = (word, count);
            i++;
        }
        return (words, counts);
    }

    [ThreadStatic]
    private static Dictionary<int, int>? t_hashCounting;

    private delegate void WordAction(ReadOnlySpan<char> word);

    private static void Count(string text, Dictionary<string, int> counts)
    {
        // Looked up by span: a string is made only for a word not seen before.
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        Scan(text, word =>
        {
            if (lookup.TryGetValue(word, out var count))
            {
                lookup[word] = count + 1;
            }
            else
            {
                counts[word.ToString()] = 1;
            }
        });
    }

    /// <summary>Each word of <paramref name="text"/>, lower-cased into one buffer.</summary>
    private static void Scan(string text, WordAction action)
    {
        Span<char> lower = stackalloc char[MaxLength];
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && char.IsLetterOrDigit(text[i]))
            {
                if (start < 0)
                {
                    start = i;
                }
                continue;
            }
            if (start >= 0 && i - start is >= MinLength and <= MaxLength)
            {
                action(lower[..text.AsSpan(start, i - start).ToLowerInvariant(lower)]);
            }
            start = -1;
        }
    }
}

/// <summary>
/// A unit-length vector over words, each word held as its hash (<see cref="Hash"/>: the same in every vector of the
/// process, so a miss compares hundreds of candidates without making a string for their words).
/// </summary>
public sealed class WordVector
{
    private readonly int[] _hashes;
    private readonly double[] _weights;

    private WordVector(int[] hashes, double[] weights) => (_hashes, _weights) = (hashes, weights);

    /// <summary>How many distinct words the vector has.</summary>
    public int Count => _hashes.Length;

    /// <summary>A word's hash, as vectors hold it.</summary>
    public static int Hash(ReadOnlySpan<char> word) => string.GetHashCode(word);

    /// <summary>The words (by <see cref="Hash"/>) with <paramref name="weights"/> scaled to unit length in place (all zeros stay).</summary>
    public static WordVector Unit(int[] hashes, double[] weights)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        ArgumentNullException.ThrowIfNull(weights);
        var norm = TensorPrimitives.Norm<double>(weights);
        if (norm > 0)
        {
            TensorPrimitives.Divide(weights, norm, weights);
        }
        return new WordVector(hashes, weights);
    }

    /// <summary>
    /// The weighted sum of <paramref name="vectors"/> (a null one, an item without words, adds nothing), scaled to unit
    /// length (<see cref="Unit"/>), as a lookup by word hash for <see cref="Dot"/>. Empty when the vectors have no words.
    /// </summary>
    public static Dictionary<int, double> UnitSum(IEnumerable<(WordVector? Vector, double Weight)> vectors)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        var sum = new Dictionary<int, double>();
        foreach (var (vector, weight) in vectors)
        {
            vector?.AddTo(sum, weight);
        }
        var hashes = sum.Keys.ToArray();
        var unit = Unit(hashes, [.. sum.Values]);
        for (var i = 0; i < hashes.Length; i++)
        {
            sum[hashes[i]] = unit._weights[i];
        }
        return sum;
    }

    /// <summary>The weight of <paramref name="word"/> (0 when the vector does not have it).</summary>
    public double WeightOf(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        var hash = Hash(word);
        var at = Array.IndexOf(_hashes, hash);
        return at < 0 ? 0 : _weights[at];
    }

    /// <summary>Adds <paramref name="scale"/> × this vector into <paramref name="sum"/> (by word hash).</summary>
    public void AddTo(Dictionary<int, double> sum, double scale)
    {
        ArgumentNullException.ThrowIfNull(sum);
        for (var i = 0; i < _hashes.Length; i++)
        {
            sum[_hashes[i]] = sum.GetValueOrDefault(_hashes[i]) + scale * _weights[i];
        }
    }

    /// <summary>The dot product with <paramref name="other"/>, a sparse vector by word hash.</summary>
    public double Dot(Dictionary<int, double> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var dot = 0.0;
        for (var i = 0; i < _hashes.Length; i++)
        {
            if (other.TryGetValue(_hashes[i], out var value))
            {
                dot += _weights[i] * value;
            }
        }
        return dot;
    }
}

/// <summary>
/// How many items the catalog has (<paramref name="Items"/>) and how many of them hold each of some words
/// (<paramref name="PerWord"/>; a word absent there is held by none): what a word's inverse document frequency needs.
/// </summary>
public sealed record TermItems(long Items, IReadOnlyDictionary<string, long> PerWord)
{
    public static TermItems None { get; } = new(0, new Dictionary<string, long>());

    /// <summary>ln((n + 1) / (items holding the word + 1)) + 1: rare words weigh most, a word every item has weighs 1.</summary>
    public double Idf(string word) => Math.Log((Items + 1.0) / (PerWord.GetValueOrDefault(word) + 1.0)) + 1;

    /// <summary>
    /// The item's TF-IDF vector, unit length: each word's (1 + ln count) × <see cref="Idf"/> ("ltc"). The learner's words
    /// are weighed so; candidates are not (<see cref="ItemWords.Vector"/>): the scheme lnc.ltc, which needs how many
    /// items hold a word only for the learner's own words.
    /// </summary>
    public WordVector Vector(ItemWords words)
    {
        ArgumentNullException.ThrowIfNull(words);
        var hashes = new int[words.Words.Count];
        var weights = new double[hashes.Length];
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = WordVector.Hash(words.Words[i]);
            weights[i] = (1 + Math.Log(words.Counts[i])) * Idf(words.Words[i]);
        }
        return WordVector.Unit(hashes, weights);
    }
}
