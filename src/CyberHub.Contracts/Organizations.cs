namespace CyberHub.Contracts;

public static class OrganizationRoles
{
    public const string Owner = "owner";
    public const string Member = "member";
}

public sealed record CreateOrganizationRequest(string? Name, string? Slug, string? Description);

public sealed record OrganizationDto(
    long Id,
    string Name,
    string Slug,
    string Description,
    long OwnerId,
    string Role,
    int MemberCount,
    DateTime CreatedAt);

/// <summary>Adds a member by <c>user_id</c> or by <c>email</c>.</summary>
public sealed record AddMemberRequest(long? UserId, string? Email, string? Role);

public sealed record OrganizationMemberDto(long UserId, string Username, string Role, DateTime JoinedAt);
