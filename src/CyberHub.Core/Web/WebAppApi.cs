using System.Reflection;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Web;

/// <summary>
/// The web app (src/CyberHub.Web, Blazor WebAssembly) served from Core's root, with the one setting it needs
/// before it starts: the AI service's browser-facing address. The app's files are the host program's static web
/// assets: its build lists them in <c>{program}.staticwebassets.endpoints.json</c> (fingerprinted, with ETags and
/// compressed variants), so a Core started by anything else (a test host) serves the API alone.
/// </summary>
public static class WebAppApi
{
    public static IEndpointRouteBuilder MapWebConfigApi(this IEndpointRouteBuilder app)
    {
        var aiUrl = ServiceUrls.Resolve(app.ServiceProvider.GetRequiredService<IConfiguration>(), "CYBERHUB_AI_PUBLIC_URL", "CYBERHUB_AI_URL", "http://localhost:8001");
        var config = new WebConfig(aiUrl.GetLeftPart(UriPartial.Authority));
        app.MapGet("/api/v1/web/config", () => TypedResults.Ok(config)).AllowAnonymous().WithTags("Web")
            .WithSummary("What the web app needs before it starts: where browsers reach the AI service");
        return app;
    }

    /// <summary>Finds the app's files next to the program; in a build (not a publish) they stay in the source tree.</summary>
    public static WebApplicationBuilder AddWebApp(this WebApplicationBuilder builder)
    {
        if (Manifest("runtime") is { } runtime)
        {
            builder.WebHost.UseSetting(WebHostDefaults.StaticWebAssetsKey, runtime);
            builder.WebHost.UseStaticWebAssets();
        }
        return builder;
    }

    /// <summary>The app's files, and its pages for any other path that is not the API's.</summary>
    public static WebApplication MapWebApp(this WebApplication app)
    {
        if (Manifest("endpoints") is not { } endpoints)
        {
            return app;
        }
        app.MapStaticAssets(endpoints);
        // Client-side routes (/dashboard, /content/lab/x) load the app; unknown API paths keep their JSON 404.
        app.MapFallbackToFile("{*path:nonfile}", "index.html");
        app.MapFallback("/api/{**rest}", () => Results.NotFound());
        return app;
    }

    private static string? Manifest(string kind)
    {
        var program = Assembly.GetEntryAssembly()?.GetName().Name;
        var path = Path.Combine(AppContext.BaseDirectory, $"{program}.staticwebassets.{kind}.json");
        return program is not null && File.Exists(path) ? path : null;
    }
}
