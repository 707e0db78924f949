using System.Reflection;
using System.Text;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Constraints;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using CyberHub.ServiceDefaults.OpenApi;

namespace CyberHub.Core.Web;

/// <summary>
/// The web app (src/CyberHub.Web, Blazor WebAssembly) served from Core's root, with the one setting it needs
/// before it starts: the AI service's browser-facing address. The app's files are the host program's static web
/// assets: its build lists them in <c>{program}.staticwebassets.endpoints.json</c> (fingerprinted, with ETags and
/// compressed variants), so a Core started by anything else (a test host) serves the API alone.
/// </summary>
public static class WebAppApi
{
    private const string ReloadAtRuntime = "ReloadStaticAssetsAtRuntime";
    private const string NoNotFoundFallback = "DisableStaticAssetNotFoundRuntimeFallback";

    public static IEndpointRouteBuilder MapWebConfigApi(this IEndpointRouteBuilder app)
    {
        var config = new WebConfig(AiPublicUrl(app.ServiceProvider.GetRequiredService<IConfiguration>()));
        app.MapGet("/api/v1/web/config", () => TypedResults.Ok(config)).AllowAnonymous().WithTags("Web").WithoutDependencies()
            .WithSummary("What the web app needs before it starts: where browsers reach the AI service");
        return app;
    }

    /// <summary>Finds the app's files next to the program; in a build (not a publish) they stay in the source tree.</summary>
    public static WebApplicationBuilder AddWebApp(this WebApplicationBuilder builder)
    {
        if (Manifest("runtime") is { } runtime)
        {
            // A build's manifest (the program run from its build output, as the tests and a source deployment do)
            // would otherwise turn on ASP.NET Core's development handling of static assets: no caching headers, and
            // a GET/HEAD fallback "{**path:file}" for files added after start. That fallback is a routing candidate
            // for every path, so under /api a method a route does not take got 404 instead of 405, and a path no
            // route has got 405 instead of 404. Served as a published app is, unless explicitly configured.
            builder.Configuration[ReloadAtRuntime] ??= "false";
            builder.Configuration[NoNotFoundFallback] ??= "true";
            builder.WebHost.UseSetting(WebHostDefaults.StaticWebAssetsKey, runtime);
            builder.WebHost.UseStaticWebAssets();
        }
        return builder;
    }

    /// <summary>
    /// The app's files, and its pages for browser navigation (GET and HEAD) to any other path outside <c>/api</c>.
    /// The pages are served by middleware that runs only when routing found no endpoint, never by a routing fallback:
    /// a fallback is a candidate for every path and every method, so the matcher's own answers (405 with
    /// <c>Allow</c> for a method a route does not take, 415 for a body it does not take) could never happen and an
    /// unknown API path would get the app's page. Under <c>/api</c> a path no route has is a 404 <c>{"detail"}</c>
    /// (status code pages), whatever the method; another method on a page is a 405 allowing GET and HEAD.
    /// </summary>
    public static WebApplication MapWebApp(this WebApplication app)
    {
        if (Manifest("endpoints") is not { } endpoints)
        {
            return app;
        }
        app.MapStaticAssets(endpoints);
        // The sign-in page and the dashboard's first load are rendered here, without the app (see SignInPage and
        // DashboardPage); within the app, its router shows its own dashboard.
        var aiUrl = AiPublicUrl(app.Configuration);
        app.MapWhen(c => IsPage(c) && IsRead(c) && IsSignIn(c), signIn => signIn.Run(context => ServeAsync(context, SignInPage.Render(context.Request))));
        app.MapWhen(c => IsPage(c) && IsRead(c) && IsDashboard(c), dashboard => dashboard.Run(context => ServeAsync(context, DashboardPage.Render(context.Request, aiUrl))));
        // Client-side routes (/catalog, /content/lab/x) load the app.
        app.MapWhen(c => IsPage(c) && IsRead(c), pages =>
        {
            pages.Use(async (context, next) =>
            {
                var path = context.Request.Path;
                context.Request.Path = "/index.html";
                try
                {
                    await next(context);
                }
                finally
                {
                    context.Request.Path = path;
                }
            });
            pages.UseStaticFiles();
        });
        app.MapWhen(IsPage, other => other.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = "GET, HEAD";
            return Task.CompletedTask;
        }));
        return app;
    }

    private static async Task ServeAsync(HttpContext context, string html)
    {
        var page = Encoding.UTF8.GetBytes(html);
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.ContentLength = page.Length;
        // It depends on the request alone, but is tiny: always fresh, so a new release's page is never stale.
        context.Response.Headers.CacheControl = "no-cache";
        if (HttpMethods.IsGet(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(page, context.RequestAborted);
        }
    }

    /// <summary>The AI service's address as browsers reach it (its origin).</summary>
    private static string AiPublicUrl(IConfiguration configuration) =>
        ServiceUrls.Resolve(configuration, "CYBERHUB_AI_PUBLIC_URL", "CYBERHUB_AI_URL", "http://localhost:8001").GetLeftPart(UriPartial.Authority);

    /// <summary>A path no endpoint took (not even the matcher's 405 or 415), outside the API, that names no file.</summary>
    private static bool IsPage(HttpContext context) =>
        context.GetEndpoint() is null
        && !context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
        && NonFile.Match(context, null, "path", new RouteValueDictionary { ["path"] = context.Request.Path.Value }, RouteDirection.IncomingRequest);

    private static bool IsRead(HttpContext context) => HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);

    /// <summary><c>/login</c>, as the app's router matches it (any case, with or without a trailing slash).</summary>
    private static bool IsSignIn(HttpContext context) =>
        context.Request.Path.Value?.TrimEnd('/') is { } path && string.Equals(path, "/login", StringComparison.OrdinalIgnoreCase);

    /// <summary><c>/</c> and <c>/dashboard</c>, the app's routes of its dashboard (any case, with or without a trailing slash).</summary>
    private static bool IsDashboard(HttpContext context) =>
        context.Request.Path.Value?.TrimEnd('/') is { } path && (path.Length == 0 || string.Equals(path, "/dashboard", StringComparison.OrdinalIgnoreCase));

    private static readonly NonFileNameRouteConstraint NonFile = new();

    private static string? Manifest(string kind)
    {
        var program = Assembly.GetEntryAssembly()?.GetName().Name;
        var path = Path.Combine(AppContext.BaseDirectory, $"{program}.staticwebassets.{kind}.json");
        return program is not null && File.Exists(path) ? path : null;
    }
}
