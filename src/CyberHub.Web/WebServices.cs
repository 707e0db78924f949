using CyberHub.Web.Api;
using CyberHub.Web.Layout;
using CyberHub.Web.Session;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Web;

public static class WebServices
{
    /// <summary>
    /// Everything the pages use. A browser tab is one user, so the session and the API clients are singletons;
    /// both clients carry the learner's bearer token, refreshed before it expires.
    /// </summary>
    public static IServiceCollection AddCyberHubWeb(this IServiceCollection services, Uri core, Uri ai)
    {
        services.AddSingleton(new ServiceAddresses(core, ai));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<TokenStorage>();
        services.AddSingleton<SessionState>();
        services.AddSingleton<Toasts>();
        services.AddSingleton<CoreApi>(sp => new CoreApi(Authenticated(sp, core)));
        services.AddSingleton<AiApi>(sp => new AiApi(Authenticated(sp, ai)));
        services.AddSingleton<OrganizationsClient>(sp => new OrganizationsClient(Authenticated(sp, core)));
        services.AddSingleton<SessionAuthenticationStateProvider>();
        services.AddSingleton<AuthenticationStateProvider>(sp => sp.GetRequiredService<SessionAuthenticationStateProvider>());
        services.AddAuthorizationCore();
        services.AddCascadingAuthenticationState();
        return services;
    }

    private static HttpClient Authenticated(IServiceProvider services, Uri baseAddress) =>
        new(new BearerTokenHandler(services.GetRequiredService<SessionState>()) { InnerHandler = new HttpClientHandler() })
        {
            BaseAddress = baseAddress,
        };
}

/// <summary>Core's origin (which serves the app) and the AI service's, as the browser reaches them.</summary>
public sealed record ServiceAddresses(Uri Core, Uri Ai);
