using System.Globalization;

namespace CyberHub.ServiceDefaults.Caching;

/// <summary>Tags shared by writers and readers of cached entries, so an event can drop everything derived from it.</summary>
public static class CacheTags
{
    /// <summary>Everything cached about one learner: their progress, recommendations and analysis.</summary>
    public static string User(long userId) => "user:" + userId.ToString(CultureInfo.InvariantCulture);

    /// <summary>Everything computed from the content catalog as a whole.</summary>
    public const string Catalog = "catalog";
}
