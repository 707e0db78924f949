using System.Globalization;
using CyberHub.Contracts;

namespace CyberHub.Web.Features.Catalog;

/// <summary>
/// What the progress form accepts, read as Core reads <c>completion_percentage</c> and <c>score</c>: a number from
/// 0 to 100, decimals allowed and kept to two places. Anything else is refused at the field, in plain words, and
/// nothing is sent.
/// </summary>
public static class ProgressInput
{
    /// <summary>Content that ends in a result: these take a score in the progress form.</summary>
    public static readonly IReadOnlySet<string> ScoredTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        ContentTypes.Quiz, ContentTypes.Lab, ContentTypes.Challenge,
    };

    public static bool TakesScore(string contentType) => ScoredTypes.Contains(contentType);

    /// <summary>
    /// A percentage typed by the learner: null with the message to show when it is not one. With
    /// <paramref name="required"/> false, an empty field is no value and no error.
    /// </summary>
    public static (double? Value, string? Error) Percentage(string? text, bool required, string what)
    {
        var trimmed = text?.Trim() ?? "";
        if (trimmed.Length == 0)
        {
            return required ? (null, $"Enter {what} as a number from 0 to 100.") : (null, null);
        }
        // Digits, a sign and one decimal point only: no exponent ("1e3"), thousands separator, "NaN" or "Infinity".
        if (!double.TryParse(trimmed, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return (null, trimmed.Contains(',') && !trimmed.Contains('.')
                ? "Use a point for decimals, as in 62.5."
                : $"“{Shorten(trimmed)}” is not a number. Enter {what} from 0 to 100, such as 40 or 62.5.");
        }
        if (value < 0)
        {
            return (null, $"Enter {what} from 0 to 100; it cannot be below 0.");
        }
        if (value > 100)
        {
            return (null, $"Enter {what} from 0 to 100; {Shorten(trimmed)} is more than 100.");
        }
        return (Math.Round(value, 2), null);
    }

    /// <summary>A stored percentage as stored: 50.5 reads "50.5%", not "50%" or "51%".</summary>
    public static string Percent(double value) => value.ToString("0.##", CultureInfo.InvariantCulture) + "%";

    /// <summary>The form's text for a stored value, in the same notation the form accepts.</summary>
    public static string Text(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Shorten(string text) => text.Length <= 12 ? text : text[..12] + "…";
}
