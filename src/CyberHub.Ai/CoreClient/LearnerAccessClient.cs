using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using CyberHub.Ai.Personality;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;

namespace CyberHub.Ai.CoreClient;

/// <summary>
/// Whether the caller may read a learner's insights. The learner themself, admins and services are told from the
/// token alone; anyone else is asked of Core (<c>GET /api/v1/users/{id}/insights-access/</c>, with the caller's own
/// token, so Core verifies it and applies its rule: owners and instructors of an organization the learner is a member
/// of). A yes is kept in this process for <see cref="PersonalityLimits.OrganizationAccessSeconds"/>, a no never; when Core
/// cannot answer the request is refused (503), never allowed.
/// </summary>
public sealed class LearnerAccessClient(HttpClient http, IMemoryCache cache, PersonalityLimits limits, ILogger<LearnerAccessClient> logger)
{
    public const string Unavailable = "The Core service is unavailable, so access to this learner cannot be confirmed; try again shortly.";

    public async Task EnsureCanReadAsync(ClaimsPrincipal caller, long learnerId, string bearerToken, CancellationToken cancellationToken)
    {
        if (caller.IsPrivileged() || caller.UserId() == learnerId)
        {
            return;
        }
        var key = string.Create(CultureInfo.InvariantCulture, $"learner-access:{caller.UserId()}:{learnerId}");
        if (cache.TryGetValue(key, out _))
        {
            return;
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, string.Create(CultureInfo.InvariantCulture, $"/api/v1/users/{learnerId}/insights-access/"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        using var response = await CoreAnswers.SendAsync(http, request, Unavailable, logger, "a learner access check", cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            // The answer for anyone else's data, as before: whether the learner exists is not told.
            throw CoreAnswers.Refusal(response, ApiException.Forbidden(), Unavailable, logger, "a learner access check");
        }
        if (limits.OrganizationAccessSeconds > 0)
        {
            cache.Set(key, true, TimeSpan.FromSeconds(limits.OrganizationAccessSeconds));
        }
    }
}
