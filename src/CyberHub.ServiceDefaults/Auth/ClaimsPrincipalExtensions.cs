using System.Globalization;
using System.Security.Claims;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Errors;

namespace CyberHub.ServiceDefaults.Auth;

public static class CyberHubClaims
{
    public const string Subject = "sub";
    public const string Email = "email";
    public const string Roles = "roles";
    /// <summary>The user's security stamp when the token was issued; Core refuses the token once the stamp has changed.</summary>
    public const string SecurityStamp = "stamp";
}

public static class ClaimsPrincipalExtensions
{
    /// <summary>The caller's user id, from the token's <c>sub</c>.</summary>
    public static long UserId(this ClaimsPrincipal user)
    {
        var sub = user.FindFirstValue(CyberHubClaims.Subject);
        return long.TryParse(sub, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw ApiException.Unauthorized("Invalid token.");
    }

    /// <summary>Admins and machine callers may act on any user's records.</summary>
    public static bool IsPrivileged(this ClaimsPrincipal user) =>
        user.IsInRole(Roles.Admin) || user.IsInRole(Roles.Service);

    /// <summary>Object-level check: the caller is the owner, or privileged; otherwise 403.</summary>
    public static void EnsureCanActFor(this ClaimsPrincipal user, long userId)
    {
        // Privilege first: a service token's subject is the client, not a user id.
        if (!user.IsPrivileged() && user.UserId() != userId)
        {
            throw ApiException.Forbidden();
        }
    }
}

public static class BearerTokenExtensions
{
    /// <summary>The request's bearer token, to relay to another CyberHub service on the caller's behalf.</summary>
    public static string BearerToken(this HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? header["Bearer ".Length..].Trim()
            : throw ApiException.Unauthorized("Authentication credentials were not provided.");
    }
}
