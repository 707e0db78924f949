using System.Net;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Contracts;
using CyberHub.Testing;

namespace CyberHub.Ai.Tests;

/// <summary>The AI service with its production rate limits (its Core, which only issues tokens here, without).</summary>
public sealed class RateLimitedAiServer : AiServer
{
    protected override bool ProductionRateLimits => true;
    protected override Task<string?> CreateVectorDatabaseAsync() => Task.FromResult<string?>(null);
}

public sealed class AiRateLimitingTests(RateLimitedAiServer server) : IClassFixture<RateLimitedAiServer>
{
    private const string WebOrigin = "http://localhost:8000";

    [Fact]
    public async Task Each_learner_has_two_hundred_requests_a_minute_and_the_web_app_can_read_the_refusal()
    {
        using var learner = await server.LearnerClientAsync();
        using var other = await server.LearnerClientAsync();

        var limited = await RateLimits.SendUntilLimitedAsync(_ =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/content/?page_size=1");
            request.Headers.Add("Origin", WebOrigin);
            return learner.SendAsync(request);
        }, limit: 200, TimeSpan.FromMilliseconds(300));
        var detail = await limited.DetailAsync(HttpStatusCode.TooManyRequests);
        Assert.StartsWith("Too many requests", detail, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(1), limited.Headers.RetryAfter?.Delta);
        Assert.Equal(WebOrigin, limited.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("Retry-After", limited.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/api/v1/content/?page_size=1")).StatusCode);
        using var anonymous = server.CreateClient();
        await (await anonymous.GetAsync("/api/v1/content/?page_size=1")).DetailAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Service_clients_such_as_cores_outbox_are_not_limited()
    {
        using var admin = await server.Core.AdminClientAsync();
        var created = await (await admin.PostJsonAsync("/api/v1/service-clients/", new CreateServiceClientRequest("rate limit test")))
            .ReadAsync<ServiceClientCreated>(HttpStatusCode.Created);
        using var core = server.Core.CreateClient();
        var token = await (await core.PostJsonAsync("/api/v1/token/service/", new ClientCredentialsRequest(created.ClientId, created.ClientSecret)))
            .ReadAsync<ServiceTokenResponse>();

        using var service = server.CreateClient(token.Access);
        for (var i = 0; i < 300; i++)
        {
            using var response = await service.GetAsync("/api/v1/content/?page_size=1");
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"request {i + 1}: {(int)response.StatusCode}");
        }
    }
}

/// <summary>The AI service answers with the same headers as Core, and allows the web app's origin (Core's, by default).</summary>
public sealed class AiSecurityHeadersTests(EmbeddedAiServer server) : IClassFixture<EmbeddedAiServer>
{
    private readonly HttpClient _anonymous = server.CreateClient();

    private Task<HttpResponseMessage> PreflightAsync(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/api/v1/recommendations");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        return _anonymous.SendAsync(request);
    }

    [Theory]
    [InlineData("/api/v1/health/", HttpStatusCode.OK)]
    [InlineData("/api/v1/content/", HttpStatusCode.Unauthorized)]
    [InlineData("/api/v1/no-such-route", HttpStatusCode.NotFound)]
    public async Task Every_answer_carries_the_security_headers(string url, HttpStatusCode expected)
    {
        using var response = await _anonymous.GetAsync(url);
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.Equal("same-origin", response.Headers.GetValues("Cross-Origin-Opener-Policy").Single());
        Assert.Contains("camera=()", response.Headers.GetValues("Permissions-Policy").Single(), StringComparison.Ordinal);
        Assert.StartsWith("default-src 'self'; script-src 'self' 'wasm-unsafe-eval';", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.True(response.Headers.CacheControl?.NoStore, url);
        Assert.False(response.Headers.Contains("Strict-Transport-Security"));
    }

    [Fact]
    public async Task A_preflight_from_cores_origin_is_allowed()
    {
        using var response = await PreflightAsync(WebOriginOfCore);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(WebOriginOfCore, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("POST", response.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
        Assert.Contains("authorization", response.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("http://localhost:8001")]
    [InlineData("https://evil.example")]
    [InlineData("http://localhost:8000.evil.example")]
    public async Task A_preflight_from_any_other_origin_gets_no_cors_headers(string origin)
    {
        using var response = await PreflightAsync(origin);
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
    }

    private const string WebOriginOfCore = "http://localhost:8000";
}
