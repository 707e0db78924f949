using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace CyberHub.Testing;

/// <summary>
/// A service's API routes as its own routing table lists them (so that routes added later are covered without
/// a change here), and what each must answer to a method it does not take (405 with <c>Allow</c>) and to a body of
/// a type it does not take (415), both with a <c>{"detail"}</c> body.
/// </summary>
public static class RoutingAnswers
{
    private static readonly string[] Methods = [HttpMethods.Get, HttpMethods.Post, HttpMethods.Put, HttpMethods.Patch, HttpMethods.Delete];

    /// <summary>One API route: a concrete path for its pattern, the methods its endpoints take, and those that take a JSON body.</summary>
    public sealed record ApiRoute(string Pattern, string Path, IReadOnlySet<string> Methods, IReadOnlySet<string> JsonBodyMethods);

    /// <summary>The routes under <c>/api/</c> of the running service behind <paramref name="services"/>.</summary>
    public static IReadOnlyList<ApiRoute> ApiRoutes(IServiceProvider services)
    {
        var endpoints = services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => (e.RoutePattern.RawText ?? "").TrimStart('/').StartsWith("api/", StringComparison.OrdinalIgnoreCase))
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>() is { HttpMethods.Count: > 0 });
        return [.. endpoints.GroupBy(e => Path(e.RoutePattern)).Select(g => new ApiRoute(
            g.First().RoutePattern.RawText!,
            g.Key,
            g.SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods).ToHashSet(StringComparer.OrdinalIgnoreCase),
            g.Where(e => e.Metadata.GetMetadata<IAcceptsMetadata>() is { ContentTypes.Count: > 0 } accepts
                    && accepts.ContentTypes.Any(t => t.Contains("json", StringComparison.OrdinalIgnoreCase)))
                .SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods).ToHashSet(StringComparer.OrdinalIgnoreCase)))
            .OrderBy(r => r.Path, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Sends every route each method it does not take, and each JSON-body method a <c>text/plain</c> body; returns the
    /// answers that were not 405 (with the route's methods in <c>Allow</c>) or 415, each with a <c>{"detail"}</c>.
    /// </summary>
    public static async Task<IReadOnlyList<string>> WrongAnswersAsync(HttpClient client, IReadOnlyList<ApiRoute> routes)
    {
        var wrong = new List<string>();
        foreach (var route in routes)
        {
            foreach (var method in Methods.Where(m => !route.Methods.Contains(m)))
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), route.Path);
                if (method is "POST" or "PUT" or "PATCH")
                {
                    request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                }
                using var response = await client.SendAsync(request);
                var allow = response.Content.Headers.Allow.Concat(response.Headers.TryGetValues("Allow", out var values) ? values : [])
                    .SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                    .ToHashSet(StringComparer.OrdinalIgnoreCase);
                if (response.StatusCode != HttpStatusCode.MethodNotAllowed || !route.Methods.IsSubsetOf(allow) || allow.Contains(method)
                    || !await HasDetailAsync(response))
                {
                    wrong.Add($"{method} {route.Path} ({route.Pattern}): {(int)response.StatusCode}, Allow: {string.Join(",", allow)}");
                }
            }
            foreach (var method in route.JsonBodyMethods)
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), route.Path)
                {
                    Content = new StringContent("{}", Encoding.UTF8, "text/plain"),
                };
                using var response = await client.SendAsync(request);
                if (response.StatusCode != HttpStatusCode.UnsupportedMediaType || !await HasDetailAsync(response))
                {
                    wrong.Add($"{method} {route.Path} ({route.Pattern}) as text/plain: {(int)response.StatusCode}");
                }
            }
        }
        return wrong;
    }

    public static async Task<bool> HasDetailAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("detail", out var detail) && detail.GetString() is { Length: > 0 };
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    /// <summary>A path the pattern matches: each parameter (whatever its constraint) becomes <c>1</c>.</summary>
    private static string Path(RoutePattern pattern)
    {
        var path = new StringBuilder();
        foreach (var segment in pattern.PathSegments)
        {
            path.Append('/');
            foreach (var part in segment.Parts)
            {
                path.Append(part switch
                {
                    RoutePatternLiteralPart literal => literal.Content,
                    RoutePatternParameterPart => "1",
                    RoutePatternSeparatorPart separator => separator.Content,
                    _ => "",
                });
            }
        }
        return (pattern.RawText ?? "").EndsWith('/') ? path + "/" : path.ToString();
    }
}
