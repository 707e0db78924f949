using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http;

namespace CyberHub.Core.Web;

/// <summary>
/// The frame of every page Core renders without the web app's WebAssembly runtime (<see cref="SignInPage"/>,
/// <see cref="DashboardPage"/>): the app's document head and stylesheet, its skip link, top bar and toast host, so
/// these pages look and behave as the app's own. Scripts are files from Core (the Content-Security-Policy allows no
/// inline script): <c>js/page.js</c>, what every such page shares, then the page's own.
/// </summary>
internal static class PageFrame
{
    public static readonly HtmlEncoder Html = HtmlEncoder.Default;

    /// <summary>The <c>&lt;base href&gt;</c> of this request: its path base, ending in a slash.</summary>
    public static string BaseHref(HttpRequest request)
    {
        var pathBase = request.PathBase.ToUriComponent();
        return pathBase.EndsWith('/') ? pathBase : pathBase + "/";
    }

    /// <summary>
    /// The whole document. <paramref name="attributes"/> (encoded by the caller, each with its leading space) go on
    /// <c>&lt;html&gt;</c> for the page's script to read; <paramref name="navigation"/> are the menu's list items and
    /// <paramref name="main"/> the content of <c>&lt;main&gt;</c>, both markup.
    /// </summary>
    public static string Render(HttpRequest request, string title, string script, string attributes, string navigation, string main) => $"""
        <!DOCTYPE html>
        <html lang="en"{attributes}>
        <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1.0" />
            <meta name="description" content="CyberHub: learn cybersecurity with courses, lessons and labs picked for you." />
            <title>{Html.Encode(title)} · CyberHub</title>
            <base href="{Html.Encode(BaseHref(request))}" />
            <link rel="icon" type="image/svg+xml" href="favicon.svg" />
            <link rel="stylesheet" href="css/app.css" />
            <script src="js/page.js" defer></script>
            <script src="{Html.Encode(script)}" defer></script>
        </head>
        <body>
            <a class="skip-link" href="#main">Skip to content</a>
            <header class="topbar">
                <a class="brand" href="dashboard" aria-label="CyberHub home">Cyber<span>Hub</span></a>
                <nav class="nav" aria-label="Main">
                    <button type="button" class="nav-toggle" aria-controls="nav-links" aria-expanded="false"><span aria-hidden="true">☰</span> Menu</button>
                    <ul id="nav-links">
        {navigation}
                    </ul>
                </nav>
            </header>
            <main id="main" tabindex="-1">
        {main}
            </main>
            <div class="toasts" aria-live="polite"></div>
        </body>
        </html>
        """;
}
