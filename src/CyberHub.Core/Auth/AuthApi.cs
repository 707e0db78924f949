using CyberHub.Contracts;
using CyberHub.ServiceDefaults.OpenApi;
using CyberHub.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace CyberHub.Core.Auth;

public static class AuthApi
{
    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/token").WithTags("Auth").AllowAnonymous();
        group.MapPost("/", Login).RequireAuthRateLimit().WithSummary("Log in with email or username and password")
            .ProducesError(401, "Wrong email, username or password (the same answer for each).");
        group.MapPost("/refresh/", Refresh).RequireAuthRateLimit().WithSummary("Exchange a refresh token for a new pair (the old one stops working)")
            .ProducesError(401, "The refresh token is unknown, expired, revoked or already used (reuse revokes its whole session).");
        group.MapPost("/revoke/", Revoke).WithSummary("Log out: revoke the refresh token's session");
        group.MapPost("/service/", ServiceToken).RequireAuthRateLimit().WithSummary("Exchange a service client's client_id and client_secret for a service access token")
            .ProducesError(401, "Unknown or revoked client, or a wrong secret.");

        app.MapGet("/.well-known/jwks.json", Jwks).WithTags("Auth").AllowAnonymous()
            .WithSummary("Public keys that verify CyberHub access tokens");
        return app;
    }

    private static async Task<Ok<TokenPair>> Login(TokenRequest request, AuthService auth, HttpContext http, CancellationToken ct) =>
        TypedResults.Ok(await auth.LoginAsync(request, RateLimitingExtensions.ClientAddress(http), ct));

    private static async Task<Ok<TokenPair>> Refresh(RefreshRequest request, AuthService auth, CancellationToken ct) =>
        TypedResults.Ok(await auth.RefreshAsync(request, ct));

    private static async Task<NoContent> Revoke(RefreshRequest request, AuthService auth, CancellationToken ct)
    {
        await auth.RevokeAsync(request, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<ServiceTokenResponse>> ServiceToken(ClientCredentialsRequest request, ServiceClientsService clients, CancellationToken ct) =>
        TypedResults.Ok(await clients.IssueTokenAsync(request, ct));

    private static Ok<object> Jwks(SigningKeyRing keys, HttpContext http)
    {
        http.Response.Headers.CacheControl = "public, max-age=300";
        return TypedResults.Ok(keys.Jwks());
    }
}
