using System.Globalization;
using System.Text;

namespace CyberHub.Core.Users;

/// <summary>
/// The form in which usernames are compared for uniqueness: Unicode compatibility normalization and case folding
/// (NFKC_Casefold), then the confusable skeleton of UTS #39, so that names a reader cannot tell apart (Cyrillic
/// <c>а</c> for Latin <c>a</c>, full-width letters, <c>0</c> for <c>o</c>, <c>rn</c> for <c>m</c>, invisible
/// joiners) have one skeleton. Each code point is folded through a table made from ICU's data
/// (<c>Unicode/skeletons.txt</c>, see scripts/unicode-skeletons), then combining marks are put in canonical order.
/// </summary>
/// <remarks>
/// The services run with invariant globalization, where <see cref="string.Normalize()"/> leaves text outside ASCII
/// as it is; hence the table. Folding code point by code point equals folding the whole string except where
/// composition depends on neighbours, which the decomposed skeleton undoes anyway.
/// </remarks>
public static class UsernameSkeleton
{
    /// <summary>Longest stored skeleton (the column's size): a few characters fold into many.</summary>
    public const int MaxLength = 600;

    private static readonly Lazy<(Dictionary<int, string> Folds, Dictionary<int, byte> Classes)> Table = new(Load);

    public static string Of(string username)
    {
        var (folds, classes) = Table.Value;
        var runes = new List<Rune>(username.Length);
        foreach (var rune in username.EnumerateRunes())
        {
            if (folds.TryGetValue(rune.Value, out var folded))
            {
                runes.AddRange(folded.EnumerateRunes());
            }
            else
            {
                runes.Add(rune);
            }
        }
        // Canonical ordering: each run of combining marks sorted by class, stably.
        for (var start = 0; start < runes.Count; start++)
        {
            if (!classes.ContainsKey(runes[start].Value))
            {
                continue;
            }
            var end = start;
            while (end < runes.Count && classes.ContainsKey(runes[end].Value))
            {
                end++;
            }
            var run = runes.GetRange(start, end - start).OrderBy(r => classes[r.Value]).ToList();
            for (var i = 0; i < run.Count; i++)
            {
                runes[start + i] = run[i];
            }
            start = end;
        }
        var skeleton = new StringBuilder(runes.Count);
        foreach (var rune in runes)
        {
            skeleton.Append(rune.ToString());
        }
        return skeleton.ToString();
    }

    private static (Dictionary<int, string>, Dictionary<int, byte>) Load()
    {
        using var stream = typeof(UsernameSkeleton).Assembly.GetManifestResourceStream("CyberHub.Core.Users.Unicode.skeletons.txt")
            ?? throw new InvalidOperationException("The username skeleton table is not embedded in CyberHub.Core.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var folds = new Dictionary<int, string>(25_000);
        var classes = new Dictionary<int, byte>(1_000);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var fold = line.IndexOf('>', StringComparison.Ordinal);
            if (fold > 0)
            {
                var target = new StringBuilder();
                foreach (var hex in line[(fold + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    target.Append(char.ConvertFromUtf32(int.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
                }
                folds[int.Parse(line.AsSpan(0, fold), NumberStyles.HexNumber, CultureInfo.InvariantCulture)] = target.ToString();
                continue;
            }
            var mark = line.IndexOf('#', StringComparison.Ordinal);
            classes[int.Parse(line.AsSpan(0, mark), NumberStyles.HexNumber, CultureInfo.InvariantCulture)] =
                byte.Parse(line.AsSpan(mark + 1), CultureInfo.InvariantCulture);
        }
        return (folds, classes);
    }
}
