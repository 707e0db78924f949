using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CyberHub.Contracts;

using Xunit;

namespace CyberHub.Testing;

public static class Http
{
    public static Task<HttpResponseMessage> PostJsonAsync<T>(this HttpClient client, string url, T body) =>
        client.PostAsJsonAsync(url, body, CyberHubJson.Options);

    public static Task<HttpResponseMessage> PatchJsonAsync<T>(this HttpClient client, string url, T body) =>
        client.PatchAsJsonAsync(url, body, CyberHubJson.Options);

    public static Task<HttpResponseMessage> SendRawAsync(this HttpClient client, HttpMethod method, string url, string body, string contentType = "application/json") =>
        client.SendAsync(new HttpRequestMessage(method, url) { Content = new StringContent(body, Encoding.UTF8, contentType) });

    public static async Task<T> ReadAsync<T>(this HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"Expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        return JsonSerializer.Deserialize<T>(body, CyberHubJson.Options)!;
    }

    /// <summary>
    /// Asserts the status and the error shape, <c>{"detail", "request_id"}</c> with the request id the
    /// response's <c>X-Request-ID</c> header carries; returns the detail for further checks.
    /// </summary>
    public static async Task<string> DetailAsync(this HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"Expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        using var document = JsonDocument.Parse(body);
        var properties = document.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(["detail", "request_id"], properties);
        var requestId = document.RootElement.GetProperty("request_id").GetString();
        Assert.True(response.Headers.TryGetValues("X-Request-ID", out var header), "The answer has no X-Request-ID header.");
        Assert.Equal(header.Single(), requestId);
        var detail = document.RootElement.GetProperty("detail").GetString();
        Assert.False(string.IsNullOrWhiteSpace(detail));
        return detail!;
    }
}
