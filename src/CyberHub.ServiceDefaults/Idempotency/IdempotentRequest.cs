using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Routing;

namespace CyberHub.ServiceDefaults.Idempotency;

/// <summary>
/// A request sent with an <c>Idempotency-Key</c>. A key belongs to one caller (the token's <c>sub</c>: a user id or
/// <c>service:{client_id}</c>) on one route, so different callers, or one caller on different routes, never share
/// one. <see cref="Fingerprint"/> is the SHA-256 of the bound body in the wire format: a retry may format its JSON
/// differently, but a different value under the same key is a different request, refused with 422.
/// </summary>
public sealed record IdempotentRequest(string Caller, string Route, string Key, string Fingerprint)
{
    public const int MaxCallerLength = 200;
    public const int MaxRouteLength = 200;
    public const int FingerprintLength = 64;

    /// <summary>The request's key with its scope and fingerprint, or null when it has no key; 400 for a malformed key.</summary>
    public static IdempotentRequest? From<TBody>(HttpContext http, TBody body)
    {
        if (IdempotencyKeyHeader.Read(http.Request) is not { } key)
        {
            return null;
        }
        var caller = http.User.FindFirstValue(CyberHubClaims.Subject) ?? throw ApiException.Unauthorized(ErrorDetails.NotAuthenticated);
        // The route template rather than the path: the same under any proxy prefix, and the key names the operation.
        var route = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? http.Request.Path.Value ?? "";
        return new IdempotentRequest(caller, $"{http.Request.Method} {route}", key, FingerprintOf(body));
    }

    public static string FingerprintOf<TBody>(TBody body) =>
        Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(body, CyberHubJson.Options)));

    /// <summary>422: the key was first used for a different request.</summary>
    public static ApiException Reused() => new(StatusCodes.Status422UnprocessableEntity,
        $"This {IdempotencyKeyHeader.Name} was already used with a different request body; use a new key for a new request.");

    /// <summary>409: the first request with the key has not finished; the retry should come back shortly.</summary>
    public static ApiException InFlight(TimeSpan retryAfter) => new(StatusCodes.Status409Conflict,
        $"A request with this {IdempotencyKeyHeader.Name} is still being processed; retry once it has finished.")
    {
        Headers = new Dictionary<string, string>
        {
            ["Retry-After"] = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
        },
    };
}
