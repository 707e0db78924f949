using System.Globalization;

namespace CyberHub.ServiceDefaults.Caching;

/// <summary>Tags shared by writers and readers of cached entries, so an event can drop everything derived from it.</summary>
public static class CacheTags
{
    /// <summary>Everything cached about one learner: their progress, recommendations and analysis.</summary>
    public static string User(long userId) => "user:" + userId.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A learner's last personality analysis: a record of an analysis made, dropped when their progress
    /// changes, but unlike derived results never again a few seconds later (see <see cref="CacheInvalidator"/>).
    /// </summary>
    public static string Analysis(long userId) => "analysis:user:" + userId.ToString(CultureInfo.InvariantCulture);

    /// <summary>Everything computed from the content catalog as a whole.</summary>
    public const string Catalog = "catalog";
}
