using System.Globalization;
using System.Text.RegularExpressions;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Users;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.EntityFrameworkCore;

namespace CyberHub.Core.Organizations;

public sealed partial class OrganizationsService(CoreDbContext db, TimeProvider clock, CacheInvalidator invalidator)
{
    public async Task<OrganizationDto> CreateAsync(long ownerId, CreateOrganizationRequest request, CancellationToken cancellationToken)
    {
        var name = UserRules.Text(request.Name, "name", 200);
        if (name.Length == 0)
        {
            throw ApiException.BadRequest("name is required.");
        }
        var slug = request.Slug?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(slug) || slug.Length > 100 || !SlugPattern().IsMatch(slug))
        {
            throw ApiException.BadRequest("slug: 1 to 100 characters: lower-case letters, digits and single hyphens.");
        }
        var now = clock.UtcNow();
        var organization = new Organization
        {
            Name = name,
            Slug = slug,
            Description = UserRules.Text(request.Description, "description", 2000, multiline: true),
            OwnerId = ownerId,
            CreatedAt = now,
            Members = [new OrganizationMember { UserId = ownerId, Role = OrganizationRoles.Owner, JoinedAt = now }],
        };
        await EnsureSlugFreeAsync(slug, cancellationToken);
        db.Organizations.Add(organization);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            await EnsureSlugFreeAsync(slug, cancellationToken);
            throw;
        }
        return ToDto(organization, OrganizationRoles.Owner, 1);
    }

    public async Task<PagedResponse<OrganizationDto>> ListForUserAsync(long userId, PageRequest page, HttpRequest http, CancellationToken cancellationToken)
    {
        var mine = db.OrganizationMembers.AsNoTracking().Where(m => m.UserId == userId);
        var count = await mine.CountAsync(cancellationToken);
        var rows = await mine
            .Join(db.Organizations, m => m.OrganizationId, o => o.Id, (m, o) => new { o, m.Role, Members = o.Members.Count })
            .OrderBy(r => r.o.Id).Skip(page.Skip).Take(page.PageSize)
            .ToListAsync(cancellationToken);
        return page.ToResponse(http, count, rows.ConvertAll(r => ToDto(r.o, r.Role, r.Members)));
    }

    public async Task<OrganizationDto> GetAsync(long id, long userId, bool privileged, CancellationToken cancellationToken)
    {
        var row = await db.Organizations.AsNoTracking().Where(o => o.Id == id)
            .Select(o => new { o, Role = o.Members.Where(m => m.UserId == userId).Select(m => m.Role).FirstOrDefault(), Members = o.Members.Count })
            .FirstOrDefaultAsync(cancellationToken);
        // A non-member gets the answer of an organization that does not exist: they cannot tell whether it does.
        if (row is null || (row.Role is null && !privileged))
        {
            throw ApiException.NotFound(NotFound);
        }
        return ToDto(row.o, row.Role ?? "", row.Members);
    }

    public async Task<IReadOnlyList<OrganizationMemberDto>> MembersAsync(long id, long userId, bool privileged, CancellationToken cancellationToken)
    {
        await GetAsync(id, userId, privileged, cancellationToken);
        return await db.OrganizationMembers.AsNoTracking().Where(m => m.OrganizationId == id).OrderBy(m => m.JoinedAt).ThenBy(m => m.UserId)
            .Select(m => new OrganizationMemberDto(m.UserId, m.User!.Username, m.Role, m.JoinedAt))
            .ToListAsync(cancellationToken);
    }

    // ------------------------------------------------------------------ invitations: the inviter's side

    /// <summary>
    /// Invites whoever holds the email. The answer never depends on whether an account holds it, or whether that
    /// account is already a member: nothing about accounts is looked up. A second invitation to an address with one
    /// pending is the same invitation again (same role), or 409 (another role).
    /// </summary>
    public async Task<OrganizationInvitationDto> InviteAsync(long id, long callerId, bool privileged, CreateInvitationRequest request, CancellationToken cancellationToken)
    {
        var callerRole = await EnsureManagerAsync(id, callerId, privileged, cancellationToken);
        var email = UserRules.Email(request.Email);
        var role = Role(request.Role ?? OrganizationRoles.Member);
        if (callerRole != OrganizationRoles.Owner && role != OrganizationRoles.Member)
        {
            throw ApiException.Forbidden("role: an instructor may invite members only.");
        }
        var normalized = email.ToLowerInvariant();
        var now = clock.UtcNow();

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Serializes the organization's invitation writers, so the duplicate check and the daily bound hold under concurrency.
        await LockOrganizationAsync(id, cancellationToken);
        await db.OrganizationInvitations
            .Where(i => i.OrganizationId == id && i.NormalizedEmail == normalized && i.Status == InvitationStatuses.Pending && i.ExpiresAt <= now)
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.Status, InvitationStatuses.Expired), cancellationToken);
        var pending = (await DtosAsync(PendingFor(id).Where(i => i.NormalizedEmail == normalized), cancellationToken)).FirstOrDefault();
        if (pending is not null)
        {
            if (pending.Role != role)
            {
                throw ApiException.Conflict(
                    $"email: an invitation to this address is already pending with the role {pending.Role}; revoke it to invite with another role.");
            }
            await transaction.CommitAsync(cancellationToken);
            return pending;
        }

        var windowStart = now.AddDays(-1);
        var sent = await db.OrganizationInvitations.Where(i => i.OrganizationId == id && i.CreatedAt > windowStart)
            .OrderBy(i => i.CreatedAt).Select(i => i.CreatedAt).ToListAsync(cancellationToken);
        if (sent.Count >= OrganizationInvitationRules.PerOrganizationPerDay)
        {
            var retry = Math.Max(1, (int)Math.Ceiling((sent[^OrganizationInvitationRules.PerOrganizationPerDay] - windowStart).TotalSeconds));
            throw new ApiException(StatusCodes.Status429TooManyRequests,
                $"This organization has sent {OrganizationInvitationRules.PerOrganizationPerDay} invitations in the last 24 hours, the most allowed; " +
                $"try again in {retry} seconds.")
            {
                Headers = new Dictionary<string, string> { ["Retry-After"] = retry.ToString(CultureInfo.InvariantCulture) },
            };
        }

        var invitation = new OrganizationInvitation
        {
            OrganizationId = id,
            Email = email,
            NormalizedEmail = normalized,
            Role = role,
            InvitedById = callerId,
            Status = InvitationStatuses.Pending,
            CreatedAt = now,
            ExpiresAt = now.AddDays(OrganizationInvitationRules.ExpiryDays),
        };
        db.OrganizationInvitations.Add(invitation);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (await DtosAsync(PendingFor(id).Where(i => i.Id == invitation.Id), cancellationToken)).Single();
    }

    /// <summary>The organization's pending invitations, oldest first (owners and instructors).</summary>
    public async Task<IReadOnlyList<OrganizationInvitationDto>> InvitationsAsync(long id, long callerId, bool privileged, CancellationToken cancellationToken)
    {
        await EnsureManagerAsync(id, callerId, privileged, cancellationToken);
        return await DtosAsync(PendingFor(id), cancellationToken);
    }

    /// <summary>Withdraws a pending invitation. Instructors may withdraw only invitations to members.</summary>
    public async Task RevokeAsync(long id, long invitationId, long callerId, bool privileged, CancellationToken cancellationToken)
    {
        var callerRole = await EnsureManagerAsync(id, callerId, privileged, cancellationToken);
        var now = clock.UtcNow();
        var pending = Pending(now).Where(i => i.Id == invitationId && i.OrganizationId == id);
        var role = await pending.Select(i => i.Role).FirstOrDefaultAsync(cancellationToken)
            ?? throw ApiException.NotFound("Invitation not found.");
        if (callerRole != OrganizationRoles.Owner && role != OrganizationRoles.Member)
        {
            throw ApiException.Forbidden("An instructor may revoke invitations to members only.");
        }
        var revoked = await pending.ExecuteUpdateAsync(s => s
            .SetProperty(i => i.Status, InvitationStatuses.Revoked)
            .SetProperty(i => i.AnsweredAt, now), cancellationToken);
        if (revoked == 0)
        {
            throw ApiException.NotFound("Invitation not found.");
        }
    }

    // ------------------------------------------------------------------ invitations: the invitee's side

    /// <summary>The caller's pending invitations: those to their account's email, sent before or after they registered.</summary>
    public async Task<IReadOnlyList<OrganizationInvitationDto>> InboxAsync(long userId, CancellationToken cancellationToken)
    {
        var email = await EmailOfAsync(userId, cancellationToken);
        return await DtosAsync(Pending(clock.UtcNow()).Where(i => i.NormalizedEmail == email), cancellationToken);
    }

    /// <summary>
    /// Accepts an invitation to the caller's email: they join with its role. Anyone else's invitation, an answered or
    /// expired one and one that does not exist are the same 404.
    /// </summary>
    public async Task<OrganizationDto> AcceptAsync(long invitationId, long userId, CancellationToken cancellationToken)
    {
        var email = await EmailOfAsync(userId, cancellationToken);
        var now = clock.UtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var invitation = await AnswerAsync(invitationId, email, InvitationStatuses.Accepted, now, cancellationToken);
        if (await db.OrganizationMembers.AnyAsync(m => m.OrganizationId == invitation.OrganizationId && m.UserId == userId, cancellationToken))
        {
            throw ApiException.Conflict("You are already a member of this organization; decline the invitation instead.");
        }
        db.OrganizationMembers.Add(new OrganizationMember
        {
            OrganizationId = invitation.OrganizationId, UserId = userId, Role = invitation.Role, JoinedAt = now,
        });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            if (await db.OrganizationMembers.AnyAsync(m => m.OrganizationId == invitation.OrganizationId && m.UserId == userId, cancellationToken))
            {
                throw ApiException.Conflict("You are already a member of this organization; decline the invitation instead.");
            }
            throw;
        }
        await transaction.CommitAsync(cancellationToken);
        await invalidator.InvalidateAsync(OrganizationInsightsService.Tag(invitation.OrganizationId), cancellationToken);
        return await GetAsync(invitation.OrganizationId, userId, privileged: false, cancellationToken);
    }

    public async Task DeclineAsync(long invitationId, long userId, CancellationToken cancellationToken)
    {
        var email = await EmailOfAsync(userId, cancellationToken);
        await AnswerAsync(invitationId, email, InvitationStatuses.Declined, clock.UtcNow(), cancellationToken);
    }

    /// <summary>Marks the invitation answered if it is pending, unexpired and to <paramref name="email"/>, in one statement; else 404.</summary>
    private async Task<OrganizationInvitation> AnswerAsync(long invitationId, string email, string status, DateTime now, CancellationToken cancellationToken)
    {
        var mine = db.OrganizationInvitations.Where(i => i.Id == invitationId && i.NormalizedEmail == email);
        var answered = await mine.Where(i => i.Status == InvitationStatuses.Pending && i.ExpiresAt > now)
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.Status, status).SetProperty(i => i.AnsweredAt, now), cancellationToken);
        if (answered == 0)
        {
            throw ApiException.NotFound("Invitation not found.");
        }
        return await mine.AsNoTracking().FirstAsync(cancellationToken);
    }

    private async Task<string> EmailOfAsync(long userId, CancellationToken cancellationToken) =>
        await db.Users.Where(u => u.Id == userId).Select(u => u.NormalizedEmail).FirstOrDefaultAsync(cancellationToken)
            ?? throw ApiException.NotFound("Invitation not found.");

    private IQueryable<OrganizationInvitation> Pending(DateTime now) =>
        db.OrganizationInvitations.AsNoTracking().Where(i => i.Status == InvitationStatuses.Pending && i.ExpiresAt > now);

    private IQueryable<OrganizationInvitation> PendingFor(long id) => Pending(clock.UtcNow()).Where(i => i.OrganizationId == id);

    /// <summary>The invitations as their answer shape, oldest first, each with the consent text the invitee agrees to.</summary>
    private static async Task<List<OrganizationInvitationDto>> DtosAsync(IQueryable<OrganizationInvitation> invitations, CancellationToken cancellationToken)
    {
        var rows = await invitations.OrderBy(i => i.Id).Select(i => new OrganizationInvitationDto(
            i.Id, i.OrganizationId, i.Organization!.Name, i.Email, i.Role, i.InvitedBy!.Username, i.CreatedAt, i.ExpiresAt, "")).ToListAsync(cancellationToken);
        return rows.ConvertAll(r => r with { Consent = OrganizationInvitationRules.Consent(r.OrganizationName, r.Role) });
    }

    // ------------------------------------------------------------------ members

    /// <summary>Changes a member's role (owners). The last owner cannot be demoted.</summary>
    public async Task<OrganizationMemberDto> ChangeRoleAsync(long id, long memberId, long callerId, bool privileged, ChangeMemberRoleRequest request, CancellationToken cancellationToken)
    {
        await EnsureOwnerAsync(id, callerId, privileged, cancellationToken);
        var role = Role(request.Role);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Serializes the organization's role changes and removals, so that two owners demoting each other leave one.
        await LockOrganizationAsync(id, cancellationToken);
        var member = await db.OrganizationMembers.Include(m => m.User).FirstOrDefaultAsync(m => m.OrganizationId == id && m.UserId == memberId, cancellationToken)
            ?? throw ApiException.NotFound("Member not found.");
        if (member.Role == OrganizationRoles.Owner && role != OrganizationRoles.Owner && await IsLastOwnerAsync(id, cancellationToken))
        {
            throw ApiException.Conflict("The last owner cannot be demoted; make another member an owner first.");
        }
        member.Role = role;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await invalidator.InvalidateAsync(OrganizationInsightsService.Tag(id), cancellationToken);
        return new OrganizationMemberDto(member.UserId, member.User!.Username, member.Role, member.JoinedAt);
    }

    public async Task RemoveMemberAsync(long id, long memberId, long callerId, bool privileged, CancellationToken cancellationToken)
    {
        // Members may leave on their own; removing someone else takes an owner.
        if (memberId != callerId)
        {
            await EnsureOwnerAsync(id, callerId, privileged, cancellationToken);
        }
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await LockOrganizationAsync(id, cancellationToken);
        var role = await db.OrganizationMembers.Where(m => m.OrganizationId == id && m.UserId == memberId).Select(m => m.Role)
            .FirstOrDefaultAsync(cancellationToken) ?? throw ApiException.NotFound("Member not found.");
        if (role == OrganizationRoles.Owner && await IsLastOwnerAsync(id, cancellationToken))
        {
            throw ApiException.Conflict("The last owner cannot leave or be removed; make another member an owner first.");
        }
        await db.OrganizationMembers.Where(m => m.OrganizationId == id && m.UserId == memberId).ExecuteDeleteAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        // The cohort's cached views drop the member now, not when they expire.
        await invalidator.InvalidateAsync(OrganizationInsightsService.Tag(id), cancellationToken);
    }

    private async Task<bool> IsLastOwnerAsync(long id, CancellationToken cancellationToken) =>
        await db.OrganizationMembers.CountAsync(m => m.OrganizationId == id && m.Role == OrganizationRoles.Owner, cancellationToken) <= 1;

    /// <summary>
    /// Takes the organization's write lock for the current transaction (PostgreSQL: its row; SQLite: the database's,
    /// which the transaction already holds), or 404 when it does not exist.
    /// </summary>
    private async Task LockOrganizationAsync(long id, CancellationToken cancellationToken)
    {
        var found = await db.Organizations.Where(o => o.Id == id).ExecuteUpdateAsync(s => s.SetProperty(o => o.Name, o => o.Name), cancellationToken);
        if (found == 0)
        {
            throw ApiException.NotFound("Organization not found.");
        }
    }

    private static string Role(string? role) =>
        role is not null && OrganizationRoles.All.Contains(role)
            ? role
            : throw ApiException.BadRequest($"role must be one of {string.Join(", ", OrganizationRoles.All)}.");

    /// <summary>The caller's role if they may manage invitations (owner or instructor; admins count as owners), else 403.</summary>
    private async Task<string> EnsureManagerAsync(long id, long callerId, bool privileged, CancellationToken cancellationToken)
    {
        var role = await RoleInAsync(id, callerId, privileged, cancellationToken);
        if (privileged)
        {
            return OrganizationRoles.Owner;
        }
        return role is OrganizationRoles.Owner or OrganizationRoles.Instructor
            ? role
            : throw ApiException.Forbidden("Only an owner or instructor of this organization can do that.");
    }

    private async Task EnsureOwnerAsync(long id, long callerId, bool privileged, CancellationToken cancellationToken)
    {
        var role = await RoleInAsync(id, callerId, privileged, cancellationToken);
        if (!privileged && role != OrganizationRoles.Owner)
        {
            throw ApiException.Forbidden("Only an owner of this organization can do that.");
        }
    }

    /// <summary>
    /// The user's role in the organization ("" for a privileged caller who is not a member); 404 when the organization
    /// does not exist or the caller is neither a member nor privileged, so that a non-member cannot tell the two apart.
    /// </summary>
    private async Task<string> RoleInAsync(long id, long userId, bool privileged, CancellationToken cancellationToken)
    {
        var row = await db.Organizations.AsNoTracking().Where(o => o.Id == id)
            .Select(o => new { Role = o.Members.Where(m => m.UserId == userId).Select(m => m.Role).FirstOrDefault() })
            .FirstOrDefaultAsync(cancellationToken);
        if (row is null || (row.Role is null && !privileged))
        {
            throw ApiException.NotFound(NotFound);
        }
        return row.Role ?? "";
    }

    public const string NotFound = "Organization not found.";

    private async Task EnsureSlugFreeAsync(string slug, CancellationToken cancellationToken)
    {
        if (await db.Organizations.AnyAsync(o => o.Slug == slug, cancellationToken))
        {
            throw ApiException.BadRequest("slug: an organization with that slug already exists.");
        }
    }

    private static OrganizationDto ToDto(Organization o, string role, int members) =>
        new(o.Id, o.Name, o.Slug, o.Description, o.OwnerId, role, members, o.CreatedAt);

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex SlugPattern();
}
