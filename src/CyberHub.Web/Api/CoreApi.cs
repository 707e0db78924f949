using CyberHub.Contracts;

namespace CyberHub.Web.Api;

/// <summary>Core: accounts, tokens, users and progress.</summary>
public sealed class CoreApi(HttpClient http) : ApiClient(http, "Core")
{
    public Task<RegisterResponse> RegisterAsync(RegisterRequest request, CancellationToken ct = default) =>
        SendAsync<RegisterResponse>(HttpMethod.Post, "api/v1/users/", request, cancellationToken: ct);

    public Task<TokenPair> LoginAsync(TokenRequest request, CancellationToken ct = default) =>
        SendAsync<TokenPair>(HttpMethod.Post, "api/v1/token/", request, cancellationToken: ct);

    public Task<UserDto> MeAsync(CancellationToken ct = default) =>
        SendAsync<UserDto>(HttpMethod.Get, "api/v1/users/me/", cancellationToken: ct);

    public Task<UserDto> UpdateProfileAsync(UpdateProfileRequest request, CancellationToken ct = default) =>
        SendAsync<UserDto>(HttpMethod.Patch, "api/v1/users/me/", request, cancellationToken: ct);

    public Task ChangePasswordAsync(ChangePasswordRequest request, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "api/v1/users/me/password/", request, cancellationToken: ct);

    public Task<List<SessionDto>> SessionsAsync(CancellationToken ct = default) =>
        SendAsync<List<SessionDto>>(HttpMethod.Get, "api/v1/users/me/sessions/", cancellationToken: ct);

    public Task EndSessionAsync(string id, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"api/v1/users/me/sessions/{Uri.EscapeDataString(id)}/", cancellationToken: ct);

    /// <summary>Ends every session of the caller, this one included: the app's tokens stop working at once.</summary>
    public Task SignOutEverywhereAsync(CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, "api/v1/users/me/sessions/", cancellationToken: ct);

    public Task<LearningGoalDto> GoalAsync(CancellationToken ct = default) =>
        SendAsync<LearningGoalDto>(HttpMethod.Get, "api/v1/progress/goal/", cancellationToken: ct);

    public Task<LearningGoalDto> SetGoalAsync(LearningGoalRequest request, CancellationToken ct = default) =>
        SendAsync<LearningGoalDto>(HttpMethod.Put, "api/v1/progress/goal/", request, cancellationToken: ct);

    public Task<PagedResponse<UserDto>> UsersAsync(int page, int pageSize, CancellationToken ct = default) =>
        SendAsync<PagedResponse<UserDto>>(HttpMethod.Get, Query("api/v1/users/", ("page", page), ("page_size", pageSize)), cancellationToken: ct);

    public Task<UserDto> SetRolesAsync(long userId, IReadOnlyList<string> roles, CancellationToken ct = default) =>
        SendAsync<UserDto>(HttpMethod.Put, $"api/v1/users/{userId}/roles/", new SetRolesRequest(roles), cancellationToken: ct);

    public Task<UserDto> SetActiveAsync(long userId, bool active, CancellationToken ct = default) =>
        SendAsync<UserDto>(HttpMethod.Patch, $"api/v1/users/{userId}/", new UpdateUserRequest(active), cancellationToken: ct);

    public Task DeleteUserAsync(long userId, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"api/v1/users/{userId}/", cancellationToken: ct);

    /// <summary>
    /// One page of a user's progress records. The user is always named: without the filter an admin's list holds
    /// everyone's records, and every page of the app is about the signed-in learner's own.
    /// </summary>
    public Task<PagedResponse<ProgressDto>> ProgressAsync(long userId, int page, int pageSize = 100, string? contentType = null, string? status = null, CancellationToken ct = default) =>
        SendAsync<PagedResponse<ProgressDto>>(HttpMethod.Get,
            Query("api/v1/progress/", ("user", userId), ("content_type", contentType), ("status", status), ("page", page), ("page_size", pageSize)), cancellationToken: ct);

    /// <summary>Every progress record of one user (of one content type, when given), page by page.</summary>
    public async Task<IReadOnlyList<ProgressDto>> AllProgressAsync(long userId, string? contentType = null, CancellationToken ct = default)
    {
        var all = new List<ProgressDto>();
        for (var page = 1; ; page++)
        {
            var batch = await ProgressAsync(userId, page, contentType: contentType, ct: ct);
            all.AddRange(batch.Results);
            if (batch.Next is null || batch.Results.Count == 0)
            {
                return all;
            }
        }
    }

    /// <summary>Starts a record; the idempotency key makes a retried click store it once.</summary>
    public Task<ProgressDto> CreateProgressAsync(CreateProgressRequest request, string idempotencyKey, CancellationToken ct = default) =>
        SendAsync<ProgressDto>(HttpMethod.Post, "api/v1/progress/", request, r => r.Headers.Add("Idempotency-Key", idempotencyKey), ct);

    public Task<ProgressDto> UpdateProgressAsync(long id, UpdateProgressRequest request, CancellationToken ct = default) =>
        SendAsync<ProgressDto>(HttpMethod.Patch, $"api/v1/progress/{id}/", request, cancellationToken: ct);
}
