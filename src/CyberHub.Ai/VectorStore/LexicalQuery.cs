using System.Globalization;
using System.Text;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// A search query as the lexical index sees it: the words of the text, lower-cased, English stop words dropped, each
/// word once. A word is a run of letters and digits (any script); everything else separates words, so no character of
/// the query ever reaches an index's query syntax: the stores quote each word themselves (FTS5 phrases, one
/// <c>plainto_tsquery</c> per word). At most <see cref="MaxTerms"/> words of at most <see cref="MaxTermLength"/> characters.
/// </summary>
public sealed class LexicalQuery
{
    public const int MaxTerms = 32;
    public const int MaxTermLength = 64;

    // The usual English function words, plus the ones learners wrap questions in ("how do i ...", "what is ...").
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "before", "being", "both", "but",
        "by", "can", "could", "did", "do", "does", "doing", "during", "each", "for", "from", "further", "get", "had", "has", "have",
        "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me",
        "more", "most", "my", "myself", "no", "nor", "not", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "out",
        "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "then", "there",
        "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "vs", "was", "we", "were", "what",
        "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself",
    };

    private LexicalQuery(IReadOnlyList<string> terms) => Terms = terms;

    /// <summary>The query's words, in order of first appearance; empty when the text has none worth searching.</summary>
    public IReadOnlyList<string> Terms { get; }

    public bool IsEmpty => Terms.Count == 0;

    public static LexicalQuery Parse(string? text)
    {
        var terms = new List<string>();
        if (string.IsNullOrEmpty(text))
        {
            return new LexicalQuery(terms);
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var word = new StringBuilder();
        void Flush()
        {
            if (word.Length == 0)
            {
                return;
            }
            var term = word.ToString().ToLowerInvariant();
            word.Clear();
            if (term.Length > MaxTermLength)
            {
                term = term[..MaxTermLength];
                if (char.IsHighSurrogate(term[^1]))
                {
                    term = term[..^1];
                }
            }
            if (terms.Count < MaxTerms && !StopWords.Contains(term) && seen.Add(term))
            {
                terms.Add(term);
            }
        }
        // Composed forms, as the indexes store them; text with a lone surrogate cannot be normalised and is read as it is
        // (the surrogate separates words).
        var normalised = text;
        try
        {
            normalised = text.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
        }
        for (var i = 0; i < normalised.Length; i++)
        {
            var category = CharUnicodeInfo.GetUnicodeCategory(normalised, i);
            var length = char.IsSurrogatePair(normalised, i) ? 2 : 1;
            if (IsWordCharacter(category))
            {
                word.Append(normalised, i, length);
            }
            else
            {
                Flush();
            }
            i += length - 1;
        }
        Flush();
        return new LexicalQuery(terms);
    }

    /// <summary>
    /// An FTS5 query matching items with any of the words (<paramref name="all"/>: with every word), each word a quoted
    /// string so that nothing in it is read as FTS5 syntax; null when there is no word.
    /// </summary>
    public string? ToFts5(bool all = false) =>
        IsEmpty ? null : string.Join(all ? " AND " : " OR ", Terms.Select(t => "\"" + t.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""));

    // Letters, digits and the marks that belong to letters (accents, Indic vowel signs): what FTS5's unicode61
    // tokenizer and PostgreSQL's parser keep inside a word.
    private static bool IsWordCharacter(UnicodeCategory category) => category is
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter or
        UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber or
        UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber or UnicodeCategory.NonSpacingMark or
        UnicodeCategory.SpacingCombiningMark;
}
