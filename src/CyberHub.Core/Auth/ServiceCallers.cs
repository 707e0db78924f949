using System.Security.Claims;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Errors;

namespace CyberHub.Core.Auth;

/// <summary>Tells service callers (subject <c>service:{client_id}</c>) from users, whose subject is their user id.</summary>
public static class ServiceCallers
{
    public const string SubjectPrefix = "service:";
    public const string ClientIdClaim = "client_id";
    public const string NoAccount = "Service clients have no user account; this endpoint is for users.";

    public static bool IsServiceClient(this ClaimsPrincipal caller) =>
        caller.FindFirstValue(CyberHubClaims.Subject)?.StartsWith(SubjectPrefix, StringComparison.Ordinal) == true;

    /// <summary>The calling user's id; 403 for a service client, which is authenticated but is no user.</summary>
    public static long AccountId(this ClaimsPrincipal caller) =>
        caller.IsServiceClient() ? throw ApiException.Forbidden(NoAccount) : caller.UserId();

    /// <summary>The caller's user id, or 0 (which names no user) for a service client, whose rights come from its role alone.</summary>
    public static long ActorId(this ClaimsPrincipal caller) => caller.IsServiceClient() ? 0 : caller.UserId();
}
