using System.Net;
using CyberHub.Contracts;
using CyberHub.Testing;

namespace CyberHub.Core.Tests;

/// <summary>Core with its public address configured, behind a proxy it trusts (loopback).</summary>
public sealed class PublicUrlCoreServer : CoreServer
{
    public const string PublicUrl = "https://cyberhub.example:8443";

    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["CYBERHUB_CORE_PUBLIC_URL"] = PublicUrl,
        ["ForwardedHeaders:KnownProxies:0"] = "127.0.0.1",
    };
}

/// <summary>
/// The <c>next</c> and <c>previous</c> links of a page come from the configured public address (else the address the
/// service listens on), never from the request's <c>Host</c> or <c>X-Forwarded-*</c> headers: a link built from them
/// sends the client, with its token, wherever the request said.
/// </summary>
public sealed class PagingLinkTests(PublicUrlCoreServer configured, SqliteCoreServer unconfigured)
    : IClassFixture<PublicUrlCoreServer>, IClassFixture<SqliteCoreServer>
{
    public static TheoryData<string, string?, string?> HostileHeaders => new()
    {
        { "evil.example", null, null },
        { "evil.example:8443", "evil.example", "https" },
        { "127.0.0.1", "evil.example", null },
        { "127.0.0.1", "evil.example, cyberhub.example", "http" },
        { "evil.example", "evil.example", "javascript" },
    };

    [Theory]
    [MemberData(nameof(HostileHeaders))]
    public async Task Links_use_the_configured_public_address_whatever_the_host_headers_say(string host, string? forwardedHost, string? forwardedProto)
    {
        await AssertLinksAsync(configured, PublicUrlCoreServer.PublicUrl, host, forwardedHost, forwardedProto);
    }

    [Theory]
    [MemberData(nameof(HostileHeaders))]
    public async Task Without_a_public_address_links_use_the_address_the_service_listens_on(string host, string? forwardedHost, string? forwardedProto)
    {
        await AssertLinksAsync(unconfigured, unconfigured.BaseAddress.GetLeftPart(UriPartial.Authority), host, forwardedHost, forwardedProto);
    }

    private static async Task AssertLinksAsync(CoreServer server, string expectedOrigin, string host, string? forwardedHost, string? forwardedProto)
    {
        await server.RegisterAsync("paged");
        await server.RegisterAsync("paged");
        using var admin = await server.AdminClientAsync();
        foreach (var page in new[] { 1, 2 })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/users/?page_size=1&page={page}&ordering=x%2Fy");
            request.Headers.Host = host;
            if (forwardedHost is not null)
            {
                request.Headers.Add("X-Forwarded-Host", forwardedHost);
            }
            if (forwardedProto is not null)
            {
                request.Headers.Add("X-Forwarded-Proto", forwardedProto);
            }
            var users = await (await admin.SendAsync(request)).ReadAsync<PagedResponse<UserDto>>();
            Assert.NotNull(users.Next);
            Assert.StartsWith(expectedOrigin + "/api/v1/users/?", users.Next, StringComparison.Ordinal);
            Assert.Contains($"page={page + 1}", users.Next, StringComparison.Ordinal);
            Assert.Contains("ordering=x%2Fy", users.Next, StringComparison.Ordinal);
            if (page > 1)
            {
                Assert.StartsWith(expectedOrigin + "/api/v1/users/?", users.Previous, StringComparison.Ordinal);
            }
            Assert.DoesNotContain("evil", users.Next + users.Previous, StringComparison.Ordinal);
        }
    }
}
