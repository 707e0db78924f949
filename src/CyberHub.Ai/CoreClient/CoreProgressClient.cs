using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.Extensions.Logging;

namespace CyberHub.Ai.CoreClient;

/// <summary>
/// Reads a learner's progress from Core (seed: "FastAPI calls Django API") with the caller's own bearer
/// token, so Core applies its own access rules to every read. Resilience (retries, timeouts, circuit
/// breaker) comes from the handler the client is registered with.
/// </summary>
public sealed class CoreProgressClient(HttpClient http, ILogger<CoreProgressClient> logger)
{
    public const int PageSize = 100;
    public const string Unavailable = "The Core service is unavailable, so progress cannot be read; try again shortly.";

    // A learner with more records than this is not a learner; it bounds the work one request can cause.
    private const int MaxPages = 100;

    /// <summary>Every progress record of <paramref name="userId"/>, all pages, oldest record first.</summary>
    public async Task<IReadOnlyList<ProgressDto>> GetAllAsync(long userId, string bearerToken, CancellationToken cancellationToken)
    {
        var records = new List<ProgressDto>();
        for (var page = 1; page <= MaxPages; page++)
        {
            var uri = string.Create(CultureInfo.InvariantCulture, $"/api/v1/progress/?user={userId}&page={page}&page_size={PageSize}");
            var result = await GetPageAsync(uri, bearerToken, cancellationToken);
            records.AddRange(result.Results);
            if (result.Next is null || result.Results.Count == 0)
            {
                break;
            }
        }
        return records;
    }

    private async Task<PagedResponse<ProgressDto>> GetPageAsync(string uri, string bearerToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        using var response = await CoreAnswers.SendAsync(http, request, Unavailable, logger, uri, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw CoreAnswers.Refusal(response, ApiException.NotFound("User not found."), Unavailable, logger, uri);
        }
        return await response.Content.ReadFromJsonAsync<PagedResponse<ProgressDto>>(CyberHubJson.Options, cancellationToken)
            ?? throw ApiException.ServiceUnavailable(Unavailable);
    }
}
