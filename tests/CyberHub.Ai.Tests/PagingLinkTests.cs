using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Contracts;
using CyberHub.Testing;

namespace CyberHub.Ai.Tests;

/// <summary>The AI service with its public address configured, behind a proxy it trusts (loopback).</summary>
public sealed class PublicUrlAiServer : AiServer
{
    public const string PublicUrl = "https://ai.cyberhub.example";

    protected override Task<string?> CreateVectorDatabaseAsync() => Task.FromResult<string?>(null);

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["CYBERHUB_AI_PUBLIC_URL"] = PublicUrl,
        ["ForwardedHeaders:KnownProxies:0"] = "127.0.0.1",
    };
}

/// <summary>
/// The catalog's <c>next</c> and <c>previous</c> links come from the configured public address (else the address
/// the service listens on), never from the request's <c>Host</c> or <c>X-Forwarded-*</c> headers.
/// </summary>
public sealed class PagingLinkTests(PublicUrlAiServer configured, EmbeddedAiServer unconfigured)
    : IClassFixture<PublicUrlAiServer>, IClassFixture<EmbeddedAiServer>
{
    public static TheoryData<string, string?, string?> HostileHeaders => new()
    {
        { "evil.example", null, null },
        { "evil.example:8443", "evil.example", "https" },
        { "127.0.0.1", "evil.example", null },
        { "127.0.0.1", "evil.example, ai.cyberhub.example", "http" },
    };

    [Theory]
    [MemberData(nameof(HostileHeaders))]
    public Task Links_use_the_configured_public_address_whatever_the_host_headers_say(string host, string? forwardedHost, string? forwardedProto) =>
        AssertLinksAsync(configured, PublicUrlAiServer.PublicUrl, host, forwardedHost, forwardedProto);

    [Theory]
    [MemberData(nameof(HostileHeaders))]
    public Task Without_a_public_address_links_use_the_address_the_service_listens_on(string host, string? forwardedHost, string? forwardedProto) =>
        AssertLinksAsync(unconfigured, unconfigured.BaseAddress.GetLeftPart(UriPartial.Authority), host, forwardedHost, forwardedProto);

    private static async Task AssertLinksAsync(AiServer server, string expectedOrigin, string host, string? forwardedHost, string? forwardedProto)
    {
        using var learner = await server.LearnerClientAsync();
        foreach (var page in new[] { 1, 2 })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/content/?content_type=course&page_size=2&page={page}");
            request.Headers.Host = host;
            if (forwardedHost is not null)
            {
                request.Headers.Add("X-Forwarded-Host", forwardedHost);
            }
            if (forwardedProto is not null)
            {
                request.Headers.Add("X-Forwarded-Proto", forwardedProto);
            }
            var items = await (await learner.SendAsync(request)).ReadAsync<PagedResponse<ContentItemDto>>();
            Assert.NotNull(items.Next);
            Assert.StartsWith(expectedOrigin + "/api/v1/content/?", items.Next, StringComparison.Ordinal);
            Assert.Contains($"page={page + 1}", items.Next, StringComparison.Ordinal);
            Assert.Contains("content_type=course", items.Next, StringComparison.Ordinal);
            if (page > 1)
            {
                Assert.StartsWith(expectedOrigin + "/api/v1/content/?", items.Previous, StringComparison.Ordinal);
            }
            Assert.DoesNotContain("evil", items.Next + items.Previous, StringComparison.Ordinal);
        }
    }
}
