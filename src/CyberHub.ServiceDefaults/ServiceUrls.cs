using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

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
            return Loopback((configuration[listenKey] ?? defaultUrl).Split(';')[0]);
        }
        return new Uri(url);
    }

    /// <summary>A listen address with its wildcard host (<c>0.0.0.0</c>, <c>+</c>, <c>*</c>, <c>[::]</c>) turned into localhost.</summary>
    public static Uri Loopback(string listenAddress) => new(listenAddress
        .Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal)
        .Replace("://+", "://localhost", StringComparison.Ordinal)
        .Replace("://*", "://localhost", StringComparison.Ordinal)
        .Replace("://[::]", "://localhost", StringComparison.Ordinal));
}

/// <summary>
/// The address clients reach this service at (<c>CYBERHUB_CORE_PUBLIC_URL</c> for Core, <c>CYBERHUB_AI_PUBLIC_URL</c>
/// for the AI service, else its first listen address), for the absolute links it hands out, such as the
/// <c>next</c>/<c>previous</c> links of a page. Never taken from a request: the <c>Host</c> and <c>X-Forwarded-Host</c>
/// headers are the client's to choose. A listen address on port 0 (tests) becomes the port the server bound.
/// </summary>
public sealed class PublicBaseUrl(Uri configured, IServiceProvider services)
{
    private Uri? _resolved;

    /// <summary>Scheme, host, port and path prefix, without a trailing slash: <c>https://cyberhub.example</c>.</summary>
    public string Value => (_resolved ??= Resolve()).AbsoluteUri.TrimEnd('/');

    private Uri Resolve()
    {
        if (configured.Port != 0)
        {
            return configured;
        }
        var bound = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses
            .Select(a => ServiceUrls.Loopback(a))
            .FirstOrDefault(a => a.Scheme == configured.Scheme && a.Port != 0);
        return bound is null ? configured : new UriBuilder(configured) { Port = bound.Port }.Uri;
    }
}

public static class PublicBaseUrlExtensions
{
    /// <summary>Registers <see cref="PublicBaseUrl"/> from <paramref name="publicKey"/>, else the first address of <paramref name="listenKey"/>.</summary>
    public static IServiceCollection AddPublicBaseUrl(
        this IServiceCollection services, IConfiguration configuration, string publicKey, string listenKey, string defaultUrl)
    {
        var configured = ServiceUrls.Resolve(configuration, publicKey, listenKey, defaultUrl);
        return services.AddSingleton(provider => new PublicBaseUrl(configured, provider));
    }
}
