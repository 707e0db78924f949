using CyberHub.Bench.Embeddings;

namespace CyberHub.Bench.Micro;

public enum TextLength
{
    /// <summary>About 18 tokens, [CLS] and [SEP] included: the embeddings bench's sentences.</summary>
    Short18,

    /// <summary>About 120 tokens: several of those sentences run together, like a catalog item's description.</summary>
    Long120,
}

/// <summary>Deterministic texts of a known token count, the same on every run.</summary>
internal static class Texts
{
    public const int Count = 64;

    private const int LongTokens = 118;

    private static readonly Lazy<string[]> ShortTexts = new(() => [.. SentenceCorpus.Create(Count)]);
    private static readonly Lazy<string[]> LongTexts = new(CreateLong);

    public static string[] Of(TextLength length) => length == TextLength.Short18 ? ShortTexts.Value : LongTexts.Value;

    public static double MeanTokens(TextLength length) => SentenceCorpus.MeanTokens(Of(length));

    /// <summary>Seven corpus sentences run together, then words of the next ones until the text has 118 tokens or more.</summary>
    private static string[] CreateLong()
    {
        var tokenizer = SentenceCorpus.CreateTokenizer();
        var pool = SentenceCorpus.Create(Count * 8);
        var words = pool.SelectMany(s => s.Split(' ')).ToArray();
        var texts = new string[Count];
        var nextWord = 0;
        for (var i = 0; i < Count; i++)
        {
            var text = string.Join(' ', pool.Skip(i * 7).Take(7));
            while (tokenizer.CountTokens(text) < LongTokens)
            {
                text += " " + words[nextWord++ % words.Length];
            }
            texts[i] = text;
        }
        return texts;
    }
}
