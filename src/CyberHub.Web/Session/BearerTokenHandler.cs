using System.Net;
using System.Net.Http.Headers;

namespace CyberHub.Web.Session;

/// <summary>
/// Puts the learner's access token on every call to Core and the AI service. A 401 gets one retry with a
/// refreshed token; when the refresh is refused as well, the 401 stands and the session has ended.
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
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }

        var renewed = await session.AccessTokenAsync(rejected: token, cancellationToken);
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
