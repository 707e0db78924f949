using System.Globalization;
using CyberHub.Contracts;

namespace CyberHub.Web.Features.Catalog;

/// <summary>
/// How the progress form shows percentages, and which items take a score. What it accepts is
/// <see cref="FieldRules.Percentage(string?, string, bool, out double?)"/> and <see cref="FieldRules.TimeSpentMinutes"/>.
/// </summary>
public static class ProgressInput
{
    /// <summary>Content that ends in a result: these take a score in the progress form.</summary>
    public static readonly IReadOnlySet<string> ScoredTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        ContentTypes.Quiz, ContentTypes.Lab, ContentTypes.Challenge,
    };

    public static bool TakesScore(string contentType) => ScoredTypes.Contains(contentType);

    /// <summary>A stored percentage as stored: 50.5 reads "50.5%", not "50%" or "51%".</summary>
    public static string Percent(double value) => value.ToString("0.##", CultureInfo.InvariantCulture) + "%";

    /// <summary>The form's text for a stored value, in the same notation the form accepts.</summary>
    public static string Text(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
