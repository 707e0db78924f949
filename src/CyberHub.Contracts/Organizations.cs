namespace CyberHub.Contracts;

public static class OrganizationRoles
{
    public const string Owner = "owner";
    public const string Instructor = "instructor";
    public const string Member = "member";

    public static readonly IReadOnlyList<string> All = [Owner, Instructor, Member];
}

/// <summary>How invitations behave: how long one waits for an answer and how many an organization may send.</summary>
public static class OrganizationInvitationRules
{
    /// <summary>An invitation not answered within this many days expires.</summary>
    public const int ExpiryDays = 14;

    /// <summary>Invitations one organization may send in any 24 hours, whatever became of them.</summary>
    public const int PerOrganizationPerDay = 50;

    /// <summary>What the invitee agrees to by accepting.</summary>
    public static string Consent(string organizationName, string role) =>
        $"By accepting, you join {organizationName} as {(role == OrganizationRoles.Instructor ? "an" : "a")} {role}. " +
        "Its owners and instructors will see your progress there. You can leave at any time.";
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

/// <summary>Invites whoever holds <c>email</c>, now or after registering with it, to join with <c>role</c> (default member).</summary>
public sealed record CreateInvitationRequest(string? Email, string? Role);

/// <summary>
/// A pending invitation. The inviter sees it as sent; the invitee sees it in their inbox with the consent text. It
/// says nothing about whether an account holds the email.
/// </summary>
public sealed record OrganizationInvitationDto(
    long Id,
    long OrganizationId,
    string OrganizationName,
    string Email,
    string Role,
    string InvitedBy,
    DateTime CreatedAt,
    DateTime ExpiresAt,
    string Consent);

public sealed record ChangeMemberRoleRequest(string? Role);

public sealed record OrganizationMemberDto(long UserId, string Username, string Role, DateTime JoinedAt);

/// <summary>
/// A learner whose insights (progress, personality analysis) the caller may read, and through which of the caller's
/// organizations: those the caller owns or instructs and the learner is a member of (empty for the learner themself, an
/// admin or a service). Core answers it only to a caller who may read them; the AI service asks it for an instructor.
/// </summary>
public sealed record LearnerAccessDto(long UserId, string Username, IReadOnlyList<LearnerAccessOrganization> Organizations);

public sealed record LearnerAccessOrganization(long Id, string Name);
