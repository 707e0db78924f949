using System.Security.Claims;
using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

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
        group.MapPost("/{id:long}/members/", AddMember).WithSummary("Add a member by user_id or email (owners only)");
        group.MapDelete("/{id:long}/members/{userId:long}/", RemoveMember).WithSummary("Remove a member (owners), or leave");
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

    private static async Task<Created<OrganizationMemberDto>> AddMember(
        long id, AddMemberRequest request, ClaimsPrincipal caller, OrganizationsService organizations, CancellationToken ct)
    {
        var member = await organizations.AddMemberAsync(id, caller.ActorId(), caller.IsPrivileged(), request, ct);
        return TypedResults.Created($"/api/v1/organizations/{id}/members/{member.UserId}/", member);
    }

    private static async Task<NoContent> RemoveMember(
        long id, long userId, ClaimsPrincipal caller, OrganizationsService organizations, CancellationToken ct)
    {
        await organizations.RemoveMemberAsync(id, userId, caller.ActorId(), caller.IsPrivileged(), ct);
        return TypedResults.NoContent();
    }
}
