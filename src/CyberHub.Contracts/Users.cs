namespace CyberHub.Contracts;

public static class Roles
{
    public const string Learner = "learner";
    public const string ContentCreator = "content_creator";
    public const string Admin = "admin";
    public const string Service = "service";

    public static readonly IReadOnlyList<string> All = [Learner, ContentCreator, Admin, Service];
}

public sealed record RegisterRequest(string? Email, string? Username, string? Password, string? FirstName, string? LastName);

public sealed record UserDto(
    long Id,
    string Email,
    string Username,
    string FirstName,
    string LastName,
    string Bio,
    string? AvatarUrl,
    IReadOnlyList<string> Roles,
    bool IsActive,
    DateTime CreatedAt,
    DateTime UpdatedAt);

public sealed record RegisterResponse(UserDto User, string Access, string Refresh);

public sealed record UpdateProfileRequest(string? FirstName, string? LastName, string? Bio, string? AvatarUrl);

public sealed record SetRolesRequest(IReadOnlyList<string>? Roles);

/// <summary>An admin's change to an account: <c>is_active</c> false refuses the user's tokens and logins at once.</summary>
public sealed record UpdateUserRequest(bool? IsActive);

public sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);

/// <summary>
/// One signed-in session of the caller (a login and the refresh tokens it was renewed with): when it began, when it was
/// last renewed (access tokens are renewed every few minutes while the app is open) and when it ends unless renewed.
/// <c>current</c> marks the session the request's access token belongs to.
/// </summary>
public sealed record SessionDto(string Id, DateTime CreatedAt, DateTime LastUsedAt, DateTime ExpiresAt, bool Current);
