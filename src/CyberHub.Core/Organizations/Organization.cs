namespace CyberHub.Core.Organizations;

public sealed class Organization
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public required string Slug { get; set; }
    public string Description { get; set; } = "";
    public long OwnerId { get; set; }
    public DateTime CreatedAt { get; set; }
    public List<OrganizationMember> Members { get; set; } = [];
}

public sealed class OrganizationMember
{
    public long OrganizationId { get; set; }
    public long UserId { get; set; }
    public required string Role { get; set; }
    public DateTime JoinedAt { get; set; }
    public Users.User? User { get; set; }
}

/// <summary>
/// An offer of membership to whoever holds <see cref="NormalizedEmail"/>, now or after registering with it. Rows are
/// kept once answered (their <see cref="Status"/> says how), so that the daily bound counts every invitation sent.
/// </summary>
public sealed class OrganizationInvitation
{
    public long Id { get; set; }
    public long OrganizationId { get; set; }
    /// <summary>As the inviter typed it (trimmed).</summary>
    public required string Email { get; set; }
    /// <summary>Lower-cased: matched against the invitee's account email.</summary>
    public required string NormalizedEmail { get; set; }
    public required string Role { get; set; }
    public long InvitedById { get; set; }
    public required string Status { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime ExpiresAt { get; set; }
    public DateTime? AnsweredAt { get; set; }
    public Organization? Organization { get; set; }
    public Users.User? InvitedBy { get; set; }
}

public static class InvitationStatuses
{
    public const string Pending = "pending";
    public const string Accepted = "accepted";
    public const string Declined = "declined";
    public const string Revoked = "revoked";
    public const string Expired = "expired";
}
