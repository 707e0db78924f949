using CyberHub.Contracts;

namespace CyberHub.Web.Api;

/// <summary>Core's organizations: membership, invitations and a cohort's insights.</summary>
public sealed class OrganizationsClient(HttpClient http) : ApiClient(http, "Core")
{
    private const string Root = "api/v1/organizations/";

    public Task<PagedResponse<OrganizationDto>> MineAsync(CancellationToken ct = default) =>
        SendAsync<PagedResponse<OrganizationDto>>(HttpMethod.Get, Query(Root, ("page_size", PageSizeMax)), cancellationToken: ct);

    public Task<OrganizationDto> GetAsync(long id, CancellationToken ct = default) =>
        SendAsync<OrganizationDto>(HttpMethod.Get, $"{Root}{id}/", cancellationToken: ct);

    public Task<OrganizationDto> CreateAsync(CreateOrganizationRequest request, CancellationToken ct = default) =>
        SendAsync<OrganizationDto>(HttpMethod.Post, Root, request, cancellationToken: ct);

    public Task<IReadOnlyList<OrganizationInvitationDto>> InboxAsync(CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<OrganizationInvitationDto>>(HttpMethod.Get, $"{Root}invitations/", cancellationToken: ct);

    public Task<OrganizationDto> AcceptAsync(long invitationId, CancellationToken ct = default) =>
        SendAsync<OrganizationDto>(HttpMethod.Post, $"{Root}invitations/{invitationId}/accept/", cancellationToken: ct);

    public Task DeclineAsync(long invitationId, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, $"{Root}invitations/{invitationId}/decline/", cancellationToken: ct);

    public Task LeaveAsync(long id, long userId, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"{Root}{id}/members/{userId}/", cancellationToken: ct);

    /// <summary>A learner whose insights the caller may read (as an owner or instructor of one of their organizations), else 404.</summary>
    public Task<LearnerAccessDto> LearnerAsync(long userId, CancellationToken ct = default) =>
        SendAsync<LearnerAccessDto>(HttpMethod.Get, $"api/v1/users/{userId}/insights-access/", cancellationToken: ct);

    public Task<OrganizationInvitationDto> InviteAsync(long id, CreateInvitationRequest request, CancellationToken ct = default) =>
        SendAsync<OrganizationInvitationDto>(HttpMethod.Post, $"{Root}{id}/invitations/", request, cancellationToken: ct);

    public Task<IReadOnlyList<OrganizationInvitationDto>> PendingAsync(long id, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<OrganizationInvitationDto>>(HttpMethod.Get, $"{Root}{id}/invitations/", cancellationToken: ct);

    public Task<CohortSummaryDto> SummaryAsync(long id, int idleDays, CancellationToken ct = default) =>
        SendAsync<CohortSummaryDto>(HttpMethod.Get, Query($"{Root}{id}/insights/", ("idle_days", idleDays)), cancellationToken: ct);

    public Task<PagedResponse<LearnerInsightDto>> LearnersAsync(long id, int page, int pageSize, string sort, int idleDays, CancellationToken ct = default) =>
        SendAsync<PagedResponse<LearnerInsightDto>>(HttpMethod.Get,
            Query($"{Root}{id}/insights/learners/", ("page", page), ("page_size", pageSize), ("sort", sort), ("idle_days", idleDays)), cancellationToken: ct);

    public Task<PagedResponse<ItemInsightDto>> ItemsAsync(long id, int page, int pageSize, int idleDays, CancellationToken ct = default) =>
        SendAsync<PagedResponse<ItemInsightDto>>(HttpMethod.Get,
            Query($"{Root}{id}/insights/items/", ("page", page), ("page_size", pageSize), ("idle_days", idleDays)), cancellationToken: ct);

    public Task<string> ExportAsync(long id, CancellationToken ct = default) =>
        SendForTextAsync(HttpMethod.Get, $"{Root}{id}/insights/export.csv", ct);

    private const int PageSizeMax = 100;
}
