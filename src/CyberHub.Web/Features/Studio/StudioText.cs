using System.Text.RegularExpressions;

namespace CyberHub.Web.Features.Studio;

/// <summary>How an item's body becomes the texts the AI service embeds.</summary>
public static partial class StudioText
{
    /// <summary>Paragraphs (split on blank lines), or the title and description as one text when there is no body.</summary>
    public static IReadOnlyList<string> Texts(string body, string title, string description)
    {
        var chunks = BlankLines().Split(body.Replace("\r\n", "\n", StringComparison.Ordinal))
            .Select(c => c.Trim())
            .Where(c => c.Length > 0)
            .ToList();
        return chunks.Count > 0 ? chunks : [Summary(title, description)];
    }

    /// <summary>The one text of an item without a body, as <c>cyberhub import</c> builds it.</summary>
    public static string Summary(string title, string description) =>
        description.Trim().Length == 0 ? title.Trim() : $"{title.Trim()}. {description.Trim()}";

    [GeneratedRegex(@"\n[ \t]*\n")]
    private static partial Regex BlankLines();
}
