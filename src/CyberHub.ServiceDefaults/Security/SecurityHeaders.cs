using Microsoft.Extensions.Configuration;
using Microsoft.Net.Http.Headers;

namespace CyberHub.ServiceDefaults.Security;

/// <summary>
/// The headers every answer carries, errors included (they are set as the response starts, after any handler has
/// cleared it). The content security policy is the one a Blazor WebAssembly app served by Core needs, allowing
/// calls to the AI service's browser-facing origin (<c>CYBERHUB_AI_PUBLIC_URL</c>); <c>/docs</c> gets the looser one
/// its API reference page needs (an inline start-up script, inline styles, its fonts).
/// </summary>
public sealed class SecurityHeaders
{
    public const string PermissionsPolicy = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()";

    public SecurityHeaders(IConfiguration configuration)
    {
        AiOrigin = Origins.Of(ServiceUrls.Resolve(configuration, "CYBERHUB_AI_PUBLIC_URL", "CYBERHUB_AI_URL", "http://localhost:8001"));
        ContentSecurityPolicy = string.Join("; ",
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            // https: for the avatars learners link on their profile (Core accepts https avatar URLs only).
            "img-src 'self' data: https:",
            $"connect-src 'self' {AiOrigin}",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "object-src 'none'");
        DocsContentSecurityPolicy = string.Join("; ",
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline'",
            "style-src 'self' 'unsafe-inline' https://fonts.scalar.com",
            "font-src 'self' data: https://fonts.scalar.com",
            "img-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "object-src 'none'");
    }

    /// <summary>The AI service's origin as browsers reach it.</summary>
    public string AiOrigin { get; }

    public string ContentSecurityPolicy { get; }

    public string DocsContentSecurityPolicy { get; }

    internal void Apply(HttpContext http)
    {
        var headers = http.Response.Headers;
        var path = http.Request.Path;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Permissions-Policy"] = PermissionsPolicy;
        if (!headers.ContainsKey(HeaderNames.ContentSecurityPolicy))
        {
            headers.ContentSecurityPolicy = path.StartsWithSegments("/docs") ? DocsContentSecurityPolicy : ContentSecurityPolicy;
        }
        // API answers carry personal data or tokens (even anonymous ones: login); a route that may be cached says so itself.
        if (path.StartsWithSegments("/api") && !headers.ContainsKey(HeaderNames.CacheControl))
        {
            headers.CacheControl = "no-store";
        }
    }
}

/// <summary>Registers <see cref="SecurityHeaders.Apply"/> to run when each response starts.</summary>
internal sealed class SecurityHeadersMiddleware
{
    private readonly RequestDelegate _next;
    private readonly Func<object, Task> _apply;

    public SecurityHeadersMiddleware(RequestDelegate next, SecurityHeaders headers)
    {
        _next = next;
        _apply = state =>
        {
            headers.Apply((HttpContext)state);
            return Task.CompletedTask;
        };
    }

    public Task InvokeAsync(HttpContext http)
    {
        http.Response.OnStarting(_apply, http);
        return _next(http);
    }
}

internal static class Origins
{
    /// <summary><c>scheme://host[:port]</c>, as browsers send it in <c>Origin</c>.</summary>
    public static string Of(Uri url) => url.GetLeftPart(UriPartial.Authority);
}
