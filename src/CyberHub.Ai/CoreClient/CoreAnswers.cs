using System.Net;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.Extensions.Logging;

namespace CyberHub.Ai.CoreClient;

/// <summary>
/// How a call to Core made with the caller's own token is answered to that caller, for every client of Core's API:
/// Core unreachable (no connection, a timeout, the resilience pipeline's refusal) and any answer Core should not give
/// are 503 with the client's own <c>unavailable</c> text; 401 and 403 are passed on; 404 is what the client says it means.
/// </summary>
internal static class CoreAnswers
{
    public const string TokenRefused = "Core did not accept the token.";

    /// <summary>Sends <paramref name="request"/>; Core not answering at all is 503 <paramref name="unavailable"/>.</summary>
    public static async Task<HttpResponseMessage> SendAsync(
        HttpClient http, HttpRequestMessage request, string unavailable, ILogger logger, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await http.SendAsync(request, cancellationToken);
        }
        // The resilience pipeline's refusals (total timeout, open circuit) are ExecutionRejectedExceptions.
        catch (Exception e) when (e is HttpRequestException or TimeoutException or Polly.ExecutionRejectedException
                                       or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Core unreachable for {What}: {Error}", what, e.Message);
            throw ApiException.ServiceUnavailable(unavailable);
        }
    }

    /// <summary>The error for Core's answer other than 200: <paramref name="notFound"/> for 404, 403 and 401 as such, else 503.</summary>
    public static ApiException Refusal(HttpResponseMessage response, ApiException notFound, string unavailable, ILogger logger, string what)
    {
        switch (response.StatusCode)
        {
            case HttpStatusCode.NotFound:
                return notFound;
            case HttpStatusCode.Forbidden:
                return ApiException.Forbidden();
            case HttpStatusCode.Unauthorized:
                return ApiException.Unauthorized(TokenRefused);
            default:
                logger.LogWarning("Core answered {Status} for {What}", (int)response.StatusCode, what);
                return ApiException.ServiceUnavailable(unavailable);
        }
    }
}
