using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Security;
using CyberHub.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Tests;

/// <summary>What every answer carries on the default settings, errors and documents included.</summary>
public sealed class SecurityHeadersTests(SqliteCoreServer server) : IClassFixture<SqliteCoreServer>
{
    private const string AppPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        + "img-src 'self' data: https:; connect-src 'self' http://localhost:8001; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

    private readonly HttpClient _anonymous = server.CreateClient();

    internal static void AssertSecurityHeaders(HttpResponseMessage response, string what)
    {
        string? Header(string name) =>
            response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values)
            : response.Content.Headers.TryGetValues(name, out values) ? string.Join(", ", values) : null;

        Assert.True(Header("X-Content-Type-Options") == "nosniff", what);
        Assert.True(Header("X-Frame-Options") == "DENY", what);
        Assert.True(Header("Referrer-Policy") == "no-referrer", what);
        Assert.True(Header("Cross-Origin-Opener-Policy") == "same-origin", what);
        Assert.Contains("camera=()", Header("Permissions-Policy") ?? "", StringComparison.Ordinal);
        var csp = Header("Content-Security-Policy") ?? "";
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("object-src 'none'", csp, StringComparison.Ordinal);
        Assert.Null(Header("Strict-Transport-Security"));
    }

    [Theory]
    [InlineData("GET", "/api/v1/health/", HttpStatusCode.OK)]
    [InlineData("GET", "/api/v1/users/me/", HttpStatusCode.Unauthorized)]
    [InlineData("GET", "/api/v1/no-such-route/", HttpStatusCode.NotFound)]
    [InlineData("POST", "/api/v1/token/", HttpStatusCode.BadRequest)]
    [InlineData("DELETE", "/api/v1/token/", HttpStatusCode.MethodNotAllowed)]
    [InlineData("GET", "/.well-known/jwks.json", HttpStatusCode.OK)]
    [InlineData("GET", "/openapi/v1.json", HttpStatusCode.OK)]
    [InlineData("GET", "/metrics", HttpStatusCode.OK)]
    public async Task Every_answer_carries_the_security_headers_and_the_web_app_policy(string method, string url, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method == "POST")
        {
            request.Content = new StringContent("{not json", System.Text.Encoding.UTF8, "application/json");
        }
        using var response = await _anonymous.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        AssertSecurityHeaders(response, $"{method} {url}");
        Assert.Equal(AppPolicy, string.Join(", ", response.Headers.GetValues("Content-Security-Policy")));
    }

    [Fact]
    public async Task The_api_reference_page_gets_the_policy_its_start_up_script_needs()
    {
        using var response = await _anonymous.GetAsync("/docs/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertSecurityHeaders(response, "/docs/");
        var csp = string.Join(", ", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self' 'unsafe-inline'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval'", csp.Replace("wasm-unsafe-eval", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_answers_are_never_stored_unless_the_route_says_otherwise()
    {
        var learner = await server.RegisterAsync();
        using var me = await learner.Client.GetAsync("/api/v1/users/me/");
        Assert.Equal("no-store", me.Headers.CacheControl?.ToString());

        // Anonymous, yet it carries tokens.
        using var login = await _anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(learner.User.Email, null, learner.Password));
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Equal("no-store", login.Headers.CacheControl?.ToString());

        using var jwks = await _anonymous.GetAsync("/.well-known/jwks.json");
        Assert.Equal("public, max-age=300", jwks.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task Plain_http_is_served_without_a_redirect()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        using var response = await client.GetAsync("/api/v1/health/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Strict-Transport-Security"));
    }
}

/// <summary>A Core whose web app and AI service are reached at configured public origins.</summary>
public sealed class CorsConfiguredCoreServer : CoreServer
{
    public const string WebOrigin = "https://app.cyberhub.test";
    public const string AiOrigin = "https://ai.cyberhub.test";

    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Cors:AllowedOrigins:0"] = WebOrigin,
        ["Cors:AllowedOrigins:1"] = "http://localhost:8000/",
        ["CYBERHUB_AI_PUBLIC_URL"] = $"{AiOrigin}/api",
    };
}

public sealed class CorsTests(CorsConfiguredCoreServer server) : IClassFixture<CorsConfiguredCoreServer>
{
    private readonly HttpClient _anonymous = server.CreateClient();

    internal static Task<HttpResponseMessage> PreflightAsync(HttpClient client, string origin, string method, string url = "/api/v1/progress/1/", string? headers = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, url);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        if (headers is not null)
        {
            request.Headers.Add("Access-Control-Request-Headers", headers);
        }
        return client.SendAsync(request);
    }

    private static string[] Values(HttpResponseMessage response, string header) =>
        [.. response.Headers.GetValues(header).SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries))];

    [Theory]
    [InlineData(CorsConfiguredCoreServer.WebOrigin)]
    [InlineData("http://localhost:8000")]
    public async Task A_preflight_from_an_allowed_origin_gets_the_methods_and_headers_the_web_app_needs(string origin)
    {
        using var response = await PreflightAsync(_anonymous, origin, "PATCH", headers: "authorization,content-type,if-match,x-request-id,idempotency-key");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(origin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Superset(new HashSet<string>(["GET", "POST", "PUT", "PATCH", "DELETE"]), Values(response, "Access-Control-Allow-Methods").ToHashSet());
        Assert.Superset(new HashSet<string>(["authorization", "content-type", "if-match", "x-request-id", "idempotency-key"]),
            Values(response, "Access-Control-Allow-Headers").Select(h => h.ToLowerInvariant()).ToHashSet());
        Assert.Equal("600", response.Headers.GetValues("Access-Control-Max-Age").Single());
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task Answers_to_an_allowed_origin_expose_etag_request_id_and_retry_after_errors_included()
    {
        var learner = await server.RegisterAsync();
        var created = await (await learner.Client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest("cors-lesson", "lesson", ProgressStatus.InProgress, 10, null, 60, null))).ReadAsync<ProgressDto>(HttpStatusCode.Created);

        using var read = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/progress/{created.Id}/");
        read.Headers.Add("Origin", CorsConfiguredCoreServer.WebOrigin);
        using var answer = await learner.Client.SendAsync(read);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.NotNull(answer.Headers.ETag);
        Assert.Equal(CorsConfiguredCoreServer.WebOrigin, answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal(new[] { "ETag", "X-Request-ID", "Retry-After" }, Values(answer, "Access-Control-Expose-Headers"));

        using var unauthenticated = new HttpRequestMessage(HttpMethod.Get, "/api/v1/users/me/");
        unauthenticated.Headers.Add("Origin", CorsConfiguredCoreServer.WebOrigin);
        using var refused = await _anonymous.SendAsync(unauthenticated);
        await refused.DetailAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(CorsConfiguredCoreServer.WebOrigin, refused.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("https://app.cyberhub.test.evil.example")]
    [InlineData("http://app.cyberhub.test")]
    [InlineData("null")]
    public async Task Other_origins_get_no_cors_headers(string origin)
    {
        using var preflight = await PreflightAsync(_anonymous, origin, "POST", "/api/v1/token/", "content-type");
        Assert.DoesNotContain(preflight.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/health/live");
        request.Headers.Add("Origin", origin);
        using var answer = await _anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.DoesNotContain(answer.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task The_content_security_policy_lets_the_web_app_call_the_configured_ai_origin()
    {
        using var response = await _anonymous.GetAsync("/api/v1/health/live");
        Assert.Contains($"connect-src 'self' {CorsConfiguredCoreServer.AiOrigin};", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public void Origins_are_checked_at_start_and_default_to_cores_public_address()
    {
        static IConfiguration Settings(params (string Key, string Value)[] pairs) =>
            new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value))).Build();

        Assert.Equal(new[] { "http://localhost:8000" }, SecurityExtensions.AllowedOrigins(Settings()));
        Assert.Equal(new[] { "http://localhost:9000" }, SecurityExtensions.AllowedOrigins(Settings(("CYBERHUB_CORE_URL", "http://0.0.0.0:9000;http://10.0.0.5:9000"))));
        Assert.Equal(new[] { "https://learn.example.com" }, SecurityExtensions.AllowedOrigins(Settings(
            ("CYBERHUB_CORE_URL", "http://0.0.0.0:9000"), ("CYBERHUB_CORE_PUBLIC_URL", "https://learn.example.com/"))));
        foreach (var invalid in new[] { "*", "app.example.com", "https://app.example.com/path", "ftp://app.example.com" })
        {
            Assert.Throws<InvalidOperationException>(() => SecurityExtensions.AllowedOrigins(Settings(("Cors:AllowedOrigins:0", invalid))));
        }
    }
}

/// <summary>HTTPS redirection and HSTS: only where the service listens on TLS itself.</summary>
public sealed class TransportSecurityTests
{
    [Theory]
    [InlineData("urls", "http://localhost:8000", false)]
    [InlineData("urls", "http://127.0.0.1:0;http://0.0.0.0:9464", false)]
    [InlineData("urls", "http://localhost:8000;https://localhost:8443", true)]
    [InlineData("urls", "HTTPS://+:443", true)]
    [InlineData("https_ports", "443", true)]
    [InlineData("Kestrel:Endpoints:Secure:Url", "https://0.0.0.0:8443", true)]
    [InlineData("Kestrel:Endpoints:Plain:Url", "http://0.0.0.0:8000", false)]
    public void Tls_is_recognised_in_the_listen_addresses(string key, string value, bool tls)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build();
        Assert.Equal(tls, SecurityExtensions.ListensOnTls(configuration));
    }

    private sealed class TlsCoreServer(string certificate) : CoreServer
    {
        protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
        protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
        {
            ["CYBERHUB_CORE_URL"] = "http://127.0.0.1:0;https://127.0.0.1:0",
            ["Kestrel:Certificates:Default:Path"] = certificate,
            ["Kestrel:Certificates:Default:Password"] = "test",
        };
    }

    [Fact]
    public async Task Listening_on_tls_plain_http_is_redirected_and_https_answers_carry_hsts()
    {
        var certificate = Path.Combine(Path.GetTempPath(), $"cyberhub-tls-{Guid.NewGuid():N}.pfx");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=cyberhub.test", key, HashAlgorithmName.SHA256);
            using var self = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllBytesAsync(certificate, self.Export(X509ContentType.Pfx, "test"));
        }
        var server = new TlsCoreServer(certificate);
        await server.InitializeAsync();
        try
        {
            var addresses = server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
            var http = new Uri(addresses.Single(a => a.StartsWith("http://", StringComparison.Ordinal)));
            var https = new Uri(addresses.Single(a => a.StartsWith("https://", StringComparison.Ordinal)));

            using var plain = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = http };
            using var redirected = await plain.GetAsync("/api/v1/health/live");
            Assert.Equal(HttpStatusCode.TemporaryRedirect, redirected.StatusCode);
            Assert.Equal(new Uri(https, "/api/v1/health/live"), redirected.Headers.Location);

            using var secure = new HttpClient(new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
            }) { BaseAddress = https };
            // HSTS is never sent to loopback names, which browsers would remember for every local service.
            using var named = new HttpRequestMessage(HttpMethod.Get, "/api/v1/health/live");
            named.Headers.Host = "cyberhub.test";
            using var answer = await secure.SendAsync(named);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal("max-age=31536000", answer.Headers.GetValues("Strict-Transport-Security").Single());
            Assert.Equal("nosniff", answer.Headers.GetValues("X-Content-Type-Options").Single());
        }
        finally
        {
            await server.DisposeAsync();
            File.Delete(certificate);
        }
    }
}
