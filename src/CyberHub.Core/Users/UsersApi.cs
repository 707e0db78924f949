using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using System.Security.Claims;
using CyberHub.ServiceDefaults.OpenApi;

namespace CyberHub.Core.Users;

public static class UsersApi
{
    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/users").WithTags("Users").RequireAuthorization();
        group.MapPost("/", Register).AllowAnonymous().RequireAuthRateLimit().WithSummary("Register a learner account; answers with the user and a token pair");
        group.MapGet("/me/", Me).WithSummary("The caller's profile");
        group.MapPatch("/me/", UpdateMe).WithSummary("Change names, bio or avatar_url");
        group.MapPost("/me/password/", ChangePassword).RequireAuthRateLimit().WithSummary("Change the password; ends every session");
        group.MapGet("/me/sessions/", Sessions).WithSummary("The caller's signed-in sessions, most recently used first");
        group.MapDelete("/me/sessions/", SignOutEverywhere).WithSummary("Sign out everywhere: every session ends and every access token is refused");
        group.MapDelete("/me/sessions/{sessionId}/", EndSession).WithSummary("Sign one session out (its refresh token stops working)");
        group.MapGet("/", List).RequireAuthorization(Policies.Admin).WithSummary("All users, paged (admin)");
        group.MapGet("/{id:long}/", Get).WithSummary("One user (the user themself, admin or service)");
        // Privilege-granting: the caller's admin role is checked in the database, not only in the token.
        group.MapPut("/{id:long}/roles/", SetRoles).RequireAuthorization(Policies.Admin).RequireCurrentAdmin()
            .WithSummary("Replace a user's roles (admin); ends the user's sessions").ProducesError(409, LastAdmin);
        group.MapPatch("/{id:long}/", Update).RequireAuthorization(Policies.Admin).RequireCurrentAdmin()
            .WithSummary("Deactivate or reactivate a user with is_active (admin); deactivation refuses the user's tokens at once").ProducesError(409, LastAdmin);
        group.MapDelete("/{id:long}/", Delete).RequireAuthorization(Policies.Admin).RequireCurrentAdmin()
            .WithSummary("Delete a user (admin): progress, memberships and sessions go, the account is anonymised").ProducesError(409, LastAdmin);
        return app;
    }

    private const string LastAdmin = "The change would leave no active admin.";

    private static async Task<Created<RegisterResponse>> Register(RegisterRequest request, UsersService users, CancellationToken ct)
    {
        var registered = await users.RegisterAsync(request, ct);
        return TypedResults.Created($"/api/v1/users/{registered.User.Id}/", registered);
    }

    private static async Task<Ok<UserDto>> Me(ClaimsPrincipal caller, UsersService users, CancellationToken ct) =>
        TypedResults.Ok(UsersService.ToDto(await users.GetAsync(caller.AccountId(), ct)));

    private static async Task<Ok<UserDto>> UpdateMe(UpdateProfileRequest request, ClaimsPrincipal caller, UsersService users, CancellationToken ct) =>
        TypedResults.Ok(await users.UpdateProfileAsync(caller.AccountId(), request, ct));

    private static async Task<NoContent> ChangePassword(ChangePasswordRequest request, ClaimsPrincipal caller, UsersService users, HttpContext http, CancellationToken ct)
    {
        await users.ChangePasswordAsync(caller.AccountId(), request, RateLimitingExtensions.ClientAddress(http), ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<IReadOnlyList<SessionDto>>> Sessions(ClaimsPrincipal caller, AuthService auth, CancellationToken ct) =>
        TypedResults.Ok(await auth.ListSessionsAsync(caller.AccountId(), caller.FindFirstValue(TokenService.SessionClaim), ct));

    private static async Task<NoContent> SignOutEverywhere(ClaimsPrincipal caller, UsersService users, CancellationToken ct)
    {
        await users.SignOutEverywhereAsync(caller.AccountId(), ct);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> EndSession(string sessionId, ClaimsPrincipal caller, AuthService auth, CancellationToken ct)
    {
        await auth.RevokeSessionAsync(caller.AccountId(), sessionId, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<PagedResponse<UserDto>>> List(
        HttpRequest http, UsersService users, CancellationToken ct,
        [FromQuery] int? page = null, [FromQuery(Name = "page_size")] int? pageSize = null) =>
        TypedResults.Ok(await users.ListAsync(http, PageRequest.From(page, pageSize), ct));

    private static async Task<Ok<UserDto>> Get(long id, ClaimsPrincipal caller, UsersService users, CancellationToken ct)
    {
        caller.EnsureCanActFor(id);
        return TypedResults.Ok(UsersService.ToDto(await users.GetAsync(id, ct)));
    }

    private static async Task<Ok<UserDto>> SetRoles(long id, SetRolesRequest request, UsersService users, CancellationToken ct) =>
        TypedResults.Ok(await users.SetRolesAsync(id, request, ct));

    private static async Task<Ok<UserDto>> Update(long id, UpdateUserRequest request, UsersService users, CancellationToken ct) =>
        TypedResults.Ok(await users.UpdateAsync(id, request, ct));

    private static async Task<NoContent> Delete(long id, UsersService users, CancellationToken ct)
    {
        await users.DeleteAsync(id, ct);
        return TypedResults.NoContent();
    }
}
