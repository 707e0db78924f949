using System.Security.Claims;
using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.Core.Data;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using CyberHub.ServiceDefaults.OpenApi;

namespace CyberHub.Core.Organizations;

public static class OrganizationsApi
{
    public static IEndpointRouteBuilder MapOrganizationsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/organizations").WithTags("Organizations").RequireAuthorization();
        group.MapGet("/", List).WithSummary("The organizations the caller belongs to");
        group.MapPost("/", Create).WithSummary("Create an organization; the caller becomes its owner");
        group.MapGet("/{id:long}/", Get).WithSummary("One organization (members only)");
        group.MapGet("/{id:long}/members/", Members).WithSummary("Its members (members only)");
        group.MapPatch("/{id:long}/members/{userId:long}/", ChangeRole).WithSummary("Change a member's role (owners); the last owner cannot be demoted").ProducesError(409, "The last owner cannot be demoted.");
        group.MapDelete("/{id:long}/members/{userId:long}/", RemoveMember).WithSummary("Remove a member (owners), or leave; the last owner cannot").ProducesError(409, "The last owner cannot leave or be removed.");
        group.MapPost("/{id:long}/invitations/", Invite)
            .WithSummary("Invite an email to join (owners any role, instructors members); the same answer whether or not it has an account")
            .ProducesError(409, "The email already has a pending invitation with another role.");
        group.MapGet("/{id:long}/invitations/", Invitations).WithSummary("The organization's pending invitations (owners and instructors)");
        group.MapDelete("/{id:long}/invitations/{invitationId:long}/", Revoke).WithSummary("Revoke a pending invitation (owners and instructors)");
        group.MapGet("/invitations/", Inbox).WithSummary("The caller's pending invitations, with what accepting means");
        group.MapPost("/invitations/{invitationId:long}/accept/", Accept).WithSummary("Accept an invitation to the caller's email and join").ProducesError(409, "The caller is already a member.");
        group.MapPost("/invitations/{invitationId:long}/decline/", Decline).WithSummary("Decline an invitation to the caller's email");
        // Under /users/: a user's insights are what it is about (and /organizations/learners/{id}/ would be ambiguous with /organizations/{id}/members/).
        app.MapGet("/api/v1/users/{id:long}/insights-access/", Learner).WithTags("Organizations").RequireAuthorization()
            .WithSummary("Whether the caller may read a user's insights (themself; admins and services; owners and instructors of an organization the user is a member of), else 404; the AI service asks it before it shows an instructor a learner's analysis");
        return app;
    }

    private static async Task<Ok<PagedResponse<OrganizationDto>>> List(
        ClaimsPrincipal caller, OrganizationsService organizations, HttpRequest http, CancellationToken ct,
        [FromQuery] int? page = null, [FromQuery(Name = "page_size")] int? pageSize = null) =>
        TypedResults.Ok(await organizations.ListForUserAsync(caller.AccountId(), PageRequest.From(page, pageSize), http, ct));

    private static async Task<Created<OrganizationDto>> Create(
        CreateOrganizationRequest request, ClaimsPrincipal caller, OrganizationsService organizations, CancellationToken ct)
    {
        var created = await organizations.CreateAsync(caller.AccountId(), request, ct);
        return TypedResults.Created($"/api/v1/organizations/{created.Id}/", created);
    }

    private static async Task<Ok<OrganizationDto>> Get(long id, ClaimsPrincipal caller, OrganizationsService organizations, CancellationToken ct) =>
        TypedResults.Ok(await organizations.GetAsync(id, caller.ActorId(), caller.IsPrivileged(), ct));

    private static async Task<Ok<IReadOnlyList<OrganizationMemberDto>>> Members(
        long id, ClaimsPrincipal caller, OrganizationsService organizations, CancellationToken ct) =>
        TypedResults.Ok(await organizations.MembersAsync(id, caller.ActorId(), caller.IsPrivileged(), ct));

    private static async Task<Ok<LearnerAccessDto>> Learner(long id, ClaimsPrincipal caller, CoreDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await LearnerAccess.GetAsync(db, caller, id, ct));

    private static async Task<Ok<OrganizationMemberDto>> ChangeRole(
        long id, long userId, ChangeMemberRoleRequest request, ClaimsPrincipal caller, OrganizationsService organizations, CancellationToken ct) =>
        TypedResults.Ok(await organizations.ChangeRoleAsync(id, userId, caller.ActorId(), caller.IsPrivileged(), request, ct));

    private static async Task<Created<OrganizationInvitationDto>> Invite(
        long id, CreateInvitationRequest request, ClaimsPrincipal caller, OrganizationsService organizations, CancellationToken ct)
    {
        // An invitation names who sent it, so it takes an account (admins included), not a service client.
        var invitation = await organizations.InviteAsync(id, caller.AccountId(), caller.IsPrivileged(), request, ct);
        return TypedResults.Created($"/api/v1/organizations/{id}/invitations/", invitation);
    }

    private static async Task<Ok<IReadOnlyList<OrganizationInvitationDto>>> Invitations(
        long id, ClaimsPrincipal caller, OrganizationsService organizations, CancellationToken ct) =>
        TypedResults.Ok(await organizations.InvitationsAsync(id, caller.ActorId(), caller.IsPrivileged(), ct));

    private static async Task<NoContent> Revoke(
        long id, long invitationId, ClaimsPrincipal caller, OrganizationsService organizations, CancellationToken ct)
    {
        await organizations.RevokeAsync(id, invitationId, caller.ActorId(), caller.IsPrivileged(), ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<IReadOnlyList<OrganizationInvitationDto>>> Inbox(
        ClaimsPrincipal caller, OrganizationsService organizations, CancellationToken ct) =>
        TypedResults.Ok(await organizations.InboxAsync(caller.AccountId(), ct));

    private static async Task<Ok<OrganizationDto>> Accept(
        long invitationId, ClaimsPrincipal caller, OrganizationsService organizations, CancellationToken ct) =>
        TypedResults.Ok(await organizations.AcceptAsync(invitationId, caller.AccountId(), ct));

    private static async Task<NoContent> Decline(
        long invitationId, ClaimsPrincipal caller, OrganizationsService organizations, CancellationToken ct)
    {
        await organizations.DeclineAsync(invitationId, caller.AccountId(), ct);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> RemoveMember(
        long id, long userId, ClaimsPrincipal caller, OrganizationsService organizations, CancellationToken ct)
    {
        await organizations.RemoveMemberAsync(id, userId, caller.ActorId(), caller.IsPrivileged(), ct);
        return TypedResults.NoContent();
    }
}
