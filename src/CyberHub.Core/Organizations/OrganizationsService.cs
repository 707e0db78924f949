using System.Text.RegularExpressions;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Users;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.EntityFrameworkCore;

namespace CyberHub.Core.Organizations;

public sealed partial class OrganizationsService(CoreDbContext db, TimeProvider clock)
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
            .FirstOrDefaultAsync(cancellationToken) ?? throw ApiException.NotFound("Organization not found.");
        if (row.Role is null && !privileged)
        {
            throw ApiException.Forbidden("You are not a member of this organization.");
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

    public async Task<OrganizationMemberDto> AddMemberAsync(long id, long callerId, bool privileged, AddMemberRequest request, CancellationToken cancellationToken)
    {
        await EnsureOwnerAsync(id, callerId, privileged, cancellationToken);
        var role = request.Role ?? OrganizationRoles.Member;
        if (role is not (OrganizationRoles.Member or OrganizationRoles.Owner))
        {
            throw ApiException.BadRequest("role must be member or owner.");
        }
        var email = request.Email?.Trim().ToLowerInvariant();
        var user = request switch
        {
            { UserId: { } userId } => await db.Users.FirstOrDefaultAsync(u => u.Id == userId && u.DeletedAt == null, cancellationToken),
            _ when !string.IsNullOrEmpty(email) => await db.Users.FirstOrDefaultAsync(u => u.NormalizedEmail == email && u.DeletedAt == null, cancellationToken),
            _ => throw ApiException.BadRequest("user_id or email is required."),
        } ?? throw ApiException.NotFound("User not found.");

        await EnsureNotMemberAsync(id, user.Id, cancellationToken);
        var member = new OrganizationMember { OrganizationId = id, UserId = user.Id, Role = role, JoinedAt = clock.UtcNow() };
        db.OrganizationMembers.Add(member);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            await EnsureNotMemberAsync(id, user.Id, cancellationToken);
            throw;
        }
        return new OrganizationMemberDto(user.Id, user.Username, role, member.JoinedAt);
    }

    public async Task RemoveMemberAsync(long id, long memberId, long callerId, bool privileged, CancellationToken cancellationToken)
    {
        // Members may leave on their own; removing someone else takes an owner.
        if (memberId != callerId)
        {
            await EnsureOwnerAsync(id, callerId, privileged, cancellationToken);
        }
        var organization = await db.Organizations.AsNoTracking().FirstOrDefaultAsync(o => o.Id == id, cancellationToken)
            ?? throw ApiException.NotFound("Organization not found.");
        if (organization.OwnerId == memberId)
        {
            throw ApiException.BadRequest("The organization's creator cannot be removed.");
        }
        var removed = await db.OrganizationMembers.Where(m => m.OrganizationId == id && m.UserId == memberId).ExecuteDeleteAsync(cancellationToken);
        if (removed == 0)
        {
            throw ApiException.NotFound("Member not found.");
        }
    }

    private async Task EnsureOwnerAsync(long id, long callerId, bool privileged, CancellationToken cancellationToken)
    {
        if (!await db.Organizations.AnyAsync(o => o.Id == id, cancellationToken))
        {
            throw ApiException.NotFound("Organization not found.");
        }
        var isOwner = privileged || await db.OrganizationMembers
            .AnyAsync(m => m.OrganizationId == id && m.UserId == callerId && m.Role == OrganizationRoles.Owner, cancellationToken);
        if (!isOwner)
        {
            throw ApiException.Forbidden("Only an owner of this organization can do that.");
        }
    }

    private async Task EnsureNotMemberAsync(long id, long userId, CancellationToken cancellationToken)
    {
        if (await db.OrganizationMembers.AnyAsync(m => m.OrganizationId == id && m.UserId == userId, cancellationToken))
        {
            throw ApiException.BadRequest("This user is already a member.");
        }
    }

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
