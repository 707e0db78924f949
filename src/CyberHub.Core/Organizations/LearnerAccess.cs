using System.Security.Claims;
using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.Core.Data;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.EntityFrameworkCore;

namespace CyberHub.Core.Organizations;

/// <summary>
/// Who may read a learner's insights (their progress records and, through the AI service, their personality analysis):
/// the learner, admins and services, and the owners and instructors of an organization the learner is a member of.
/// Read from the membership rows at each request, so a learner who leaves or is removed stops being visible at once
/// (the AI service keeps a positive answer for <c>Personality:OrganizationAccessSeconds</c> at most).
/// </summary>
public static class LearnerAccess
{
    public const string NotFound = "Learner not found.";

    /// <summary>The organizations in which <paramref name="viewerId"/> is an owner or instructor and <paramref name="learnerId"/> a member.</summary>
    public static IQueryable<OrganizationMember> Shared(CoreDbContext db, long viewerId, long learnerId) =>
        db.OrganizationMembers.AsNoTracking()
            .Where(l => l.UserId == learnerId && l.Role == OrganizationRoles.Member && l.User!.DeletedAt == null)
            .Where(l => db.OrganizationMembers.Any(v => v.OrganizationId == l.OrganizationId && v.UserId == viewerId
                                                        && (v.Role == OrganizationRoles.Owner || v.Role == OrganizationRoles.Instructor)));

    /// <summary>Whether <paramref name="caller"/> may read <paramref name="learnerId"/>'s insights.</summary>
    public static async Task<bool> CanReadAsync(CoreDbContext db, ClaimsPrincipal caller, long learnerId, CancellationToken cancellationToken) =>
        caller.IsPrivileged()
        || (!caller.IsServiceClient() && caller.UserId() == learnerId)
        || (!caller.IsServiceClient() && await Shared(db, caller.UserId(), learnerId).AnyAsync(cancellationToken));

    /// <summary>
    /// The learner as the caller may see them, or 404 for anyone who may not: a caller cannot tell a learner they may
    /// not read from one that does not exist.
    /// </summary>
    public static async Task<LearnerAccessDto> GetAsync(CoreDbContext db, ClaimsPrincipal caller, long learnerId, CancellationToken cancellationToken)
    {
        var viewer = caller.ActorId();
        var learner = await db.Users.AsNoTracking().Where(u => u.Id == learnerId && u.DeletedAt == null)
            .Select(u => new { u.Id, u.Username }).FirstOrDefaultAsync(cancellationToken);
        var organizations = viewer == 0 ? [] : await Shared(db, viewer, learnerId)
            .Join(db.Organizations, m => m.OrganizationId, o => o.Id, (m, o) => new { o.Id, o.Name })
            .OrderBy(o => o.Id)
            .Select(o => new LearnerAccessOrganization(o.Id, o.Name))
            .ToListAsync(cancellationToken);
        if (learner is null || (organizations.Count == 0 && !caller.IsPrivileged() && viewer != learnerId))
        {
            throw ApiException.NotFound(NotFound);
        }
        return new LearnerAccessDto(learner.Id, learner.Username, organizations);
    }
}
