using Microsoft.Extensions.Configuration;

namespace CyberHub.ServiceDefaults;

/// <summary>How one service finds the other: an explicit API address, else the other's own listen address.</summary>
public static class ServiceUrls
{
    /// <summary>
    /// <paramref name="apiKey"/> (e.g. <c>CYBERHUB_CORE_API_URL</c>) when set; else the first address of
    /// <paramref name="listenKey"/> (e.g. <c>CYBERHUB_CORE_URL</c>) with wildcard hosts turned into localhost.
    /// </summary>
    public static Uri Resolve(IConfiguration configuration, string apiKey, string listenKey, string defaultUrl)
    {
        var url = configuration[apiKey];
        if (string.IsNullOrWhiteSpace(url))
        {
            url = (configuration[listenKey] ?? defaultUrl).Split(';')[0]
                .Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal)
                .Replace("://+", "://localhost", StringComparison.Ordinal)
                .Replace("://*", "://localhost", StringComparison.Ordinal)
                .Replace("://[::]", "://localhost", StringComparison.Ordinal);
        }
        return new Uri(url);
    }
}
