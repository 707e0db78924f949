using System.Net;
using System.Net.Http.Headers;

namespace CyberHub.Web.Session;

/// <summary>
/// Puts the learner's access token on every call to Core and the AI service. A 401 gets one retry with a
/// refreshed token; when the refresh is refused as well, the 401 stands and the session has ended. A 403 gets the
/// session's roles checked (<see cref="SessionState.RecheckAsync"/>), and one retry when they have changed.
/// </summary>
public sealed class BearerTokenHandler(SessionState session) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await session.AccessTokenAsync(cancellationToken: cancellationToken);
        if (token is null)
        {
            return await base.SendAsync(request, cancellationToken);
        }
        if (request.Content is not null)
        {
            // Buffered, so the same body can be sent again after a refresh.
            await request.Content.LoadIntoBufferAsync(cancellationToken);
        }
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var response = await base.SendAsync(request, cancellationToken);
        string? renewed;
        if (response.StatusCode == HttpStatusCode.Forbidden)
        {
            // The session's roles may be out of date: when Core's refreshed pair carries other roles, try once with it.
            var roles = session.User?.Roles ?? [];
            try
            {
                renewed = await session.RecheckAsync(cancellationToken);
            }
            catch (HttpRequestException)
            {
                return response;
            }
            if (renewed is null || session.User is not { } user || user.Roles.Order().SequenceEqual(roles.Order()))
            {
                return response;
            }
        }
        else if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }
        else
        {
            renewed = await session.AccessTokenAsync(rejected: token, cancellationToken);
        }
        if (renewed is null)
        {
            return response;
        }
        response.Dispose();
        using var retry = Copy(request);
        retry.Headers.Authorization = new AuthenticationHeaderValue("Bearer", renewed);
        return await base.SendAsync(retry, cancellationToken);
    }

    private static HttpRequestMessage Copy(HttpRequestMessage request)
    {
        var copy = new HttpRequestMessage(request.Method, request.RequestUri) { Content = request.Content, Version = request.Version };
        foreach (var (name, values) in request.Headers)
        {
            copy.Headers.TryAddWithoutValidation(name, values);
        }
        foreach (var option in request.Options)
        {
            copy.Options.Set(new HttpRequestOptionsKey<object?>(option.Key), option.Value);
        }
        return copy;
    }
}
