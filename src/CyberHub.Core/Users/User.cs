namespace CyberHub.Core.Users;

public sealed class User
{
    public long Id { get; set; }
    public required string Email { get; set; }
    /// <summary>Lower-cased email: uniqueness and look-ups ignore case.</summary>
    public required string NormalizedEmail { get; set; }
    public required string Username { get; set; }
    public required string NormalizedUsername { get; set; }
    /// <summary>
    /// <see cref="Users.UsernameSkeleton"/> of the username: no two accounts have one, so no name can pass for
    /// another. Null only for an account made before skeletons whose skeleton another account already had.
    /// </summary>
    public string? UsernameSkeleton { get; set; }
    public string PasswordHash { get; set; } = "";
    public string FirstName { get; set; } = "";
    public string LastName { get; set; } = "";
    public string Bio { get; set; } = "";
    public string? AvatarUrl { get; set; }
    /// <summary>Space-separated role names, so the column is the same on every provider.</summary>
    public string Roles { get; set; } = Contracts.Roles.Learner;
    public bool IsActive { get; set; } = true;
    /// <summary>
    /// Changes whenever what a token of this user may do changes (roles, password, deactivation, deletion, admin
    /// bootstrap); access tokens carry it, and Core refuses a token whose stamp is no longer the user's.
    /// </summary>
    public string SecurityStamp { get; set; } = NewSecurityStamp();
    /// <summary>Set when an admin deleted the account: the row stays, anonymised, so that nothing pointing at it breaks.</summary>
    public DateTime? DeletedAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }

    public const int SecurityStampLength = 32;

    public static string NewSecurityStamp() => Guid.NewGuid().ToString("N");

    public IReadOnlyList<string> RoleList => Roles.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
