using System.Net.Http.Json;
using System.Text.Json;
using CyberHub.Contracts;

namespace CyberHub.Web.Api;

/// <summary>JSON over HTTP in the services' wire format; every failure becomes an <see cref="ApiException"/> carrying the service's detail.</summary>
public abstract class ApiClient(HttpClient http, string serviceName)
{
    protected async Task<T> SendAsync<T>(HttpMethod method, string path, object? body = null, Action<HttpRequestMessage>? configure = null, CancellationToken cancellationToken = default)
    {
        using var response = await SendCoreAsync(method, path, body, configure, cancellationToken);
        return await response.Content.ReadFromJsonAsync<T>(CyberHubJson.Options, cancellationToken)
            ?? throw new ApiException((int)response.StatusCode, $"The {serviceName} service sent an empty answer.");
    }

    /// <summary>A non-JSON answer (a CSV file, say) as text.</summary>
    protected async Task<string> SendForTextAsync(HttpMethod method, string path, CancellationToken cancellationToken = default)
    {
        using var response = await SendCoreAsync(method, path, null, null, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    protected async Task SendAsync(HttpMethod method, string path, object? body = null, CancellationToken cancellationToken = default)
    {
        using var _ = await SendCoreAsync(method, path, body, null, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendCoreAsync(HttpMethod method, string path, object? body, Action<HttpRequestMessage>? configure, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: CyberHubJson.Options);
        }
        configure?.Invoke(request);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException)
        {
            // The browser says no more than this for a refused connection, a CORS refusal or a dropped network.
            throw new ApiException(0, $"The {serviceName} service could not be reached. Check your connection and try again.");
        }
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            throw await ErrorAsync(response, cancellationToken);
        }
    }

    private async Task<ApiException> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        try
        {
            var error = await response.Content.ReadFromJsonAsync<ErrorResponse>(CyberHubJson.Options, cancellationToken);
            if (!string.IsNullOrWhiteSpace(error?.Detail))
            {
                return new ApiException(status, error.Detail, error.RequestId);
            }
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            // Not our error shape (a proxy's page, say): fall through to a plain sentence.
        }
        return new ApiException(status, $"The {serviceName} service answered {status} {response.ReasonPhrase}.");
    }

    protected static string Query(string path, params (string Name, object? Value)[] parameters)
    {
        var present = parameters.Where(p => p.Value is not null and not "")
            .Select(p => $"{p.Name}={Uri.EscapeDataString(Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture)!)}");
        var query = string.Join('&', present);
        return query.Length == 0 ? path : $"{path}?{query}";
    }

    protected static string Segment(string value) => Uri.EscapeDataString(value);
}
