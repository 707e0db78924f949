using System.Net;
using CyberHub.Contracts;
using CyberHub.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace CyberHub.Core.Tests;

public abstract class ServiceClientTests<TServer>(TServer server) where TServer : CoreServer
{
    private const string Clients = "/api/v1/service-clients/";
    private const string TokenUrl = "/api/v1/token/service/";
    private readonly HttpClient _anonymous = server.CreateClient();

    private async Task<ServiceClientCreated> CreateClientAsync(HttpClient admin, string name = "ai sync") =>
        await (await admin.PostJsonAsync(Clients, new CreateServiceClientRequest(name))).ReadAsync<ServiceClientCreated>(HttpStatusCode.Created);

    private async Task<HttpResponseMessage> TokenAsync(string? clientId, string? secret) =>
        await _anonymous.PostJsonAsync(TokenUrl, new ClientCredentialsRequest(clientId, secret));

    [Fact]
    public async Task Admins_create_list_and_revoke_clients_and_the_secret_is_shown_only_once()
    {
        var admin = await server.AdminClientAsync();
        var response = await admin.PostJsonAsync(Clients, new CreateServiceClientRequest("  Recommendation worker "));
        var created = await response.ReadAsync<ServiceClientCreated>(HttpStatusCode.Created);
        Assert.StartsWith("svc_", created.ClientId, StringComparison.Ordinal);
        Assert.Equal("Recommendation worker", created.Name);
        Assert.True(created.ClientSecret.Length >= 43);
        Assert.Equal($"/api/v1/service-clients/{created.ClientId}/", response.Headers.Location?.OriginalString);

        var listBody = await (await admin.GetAsync(Clients)).Content.ReadAsStringAsync();
        Assert.DoesNotContain(created.ClientSecret, listBody, StringComparison.Ordinal);
        var listed = Assert.Single((await (await admin.GetAsync(Clients)).ReadAsync<List<ServiceClientDto>>()), c => c.ClientId == created.ClientId);
        Assert.Equal(created.Name, listed.Name);
        Assert.Null(listed.LastUsedAt);
        Assert.Null(listed.RevokedAt);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"{Clients}{created.ClientId}/")).StatusCode);
        var revoked = Assert.Single((await (await admin.GetAsync(Clients)).ReadAsync<List<ServiceClientDto>>()), c => c.ClientId == created.ClientId);
        Assert.NotNull(revoked.RevokedAt);
        // Revoking again changes nothing; an unknown client is 404.
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"{Clients}{created.ClientId}/")).StatusCode);
        await (await admin.DeleteAsync($"{Clients}svc_nosuchclient/")).DetailAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("""{}""", "name is required")]
    [InlineData("""{"name":"   "}""", "name is required")]
    [InlineData("""{"name":"a\u0007b"}""", "control characters")]
    [InlineData("""{"name":42}""", "$.name")]
    public async Task A_client_needs_a_valid_name(string json, string expected)
    {
        var admin = await server.AdminClientAsync();
        var detail = await (await admin.SendRawAsync(HttpMethod.Post, Clients, json)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);
        var tooLong = await (await admin.PostJsonAsync(Clients, new CreateServiceClientRequest(new string('n', 101)))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("at most 100", tooLong, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_admins_manage_clients()
    {
        var learner = await server.RegisterAsync();
        await (await learner.Client.PostJsonAsync(Clients, new CreateServiceClientRequest("mine"))).DetailAsync(HttpStatusCode.Forbidden);
        await (await learner.Client.GetAsync(Clients)).DetailAsync(HttpStatusCode.Forbidden);
        await (await learner.Client.DeleteAsync($"{Clients}svc_x/")).DetailAsync(HttpStatusCode.Forbidden);
        await (await _anonymous.GetAsync(Clients)).DetailAsync(HttpStatusCode.Unauthorized);

        // Nor may a service client register more of itself.
        var created = await CreateClientAsync(await server.AdminClientAsync());
        var service = await (await TokenAsync(created.ClientId, created.ClientSecret)).ReadAsync<ServiceTokenResponse>();
        using var serviceClient = server.CreateClient(service.Access);
        await (await serviceClient.PostJsonAsync(Clients, new CreateServiceClientRequest("more"))).DetailAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_service_token_reads_any_users_progress_but_acts_as_no_user()
    {
        var admin = await server.AdminClientAsync();
        var created = await CreateClientAsync(admin);
        var learner = await server.RegisterAsync();
        var record = await (await learner.Client.PostJsonAsync("/api/v1/progress/", new CreateProgressRequest("c1", "course", null, 20, null, null, null)))
            .ReadAsync<ProgressDto>(HttpStatusCode.Created);

        var token = await (await TokenAsync(created.ClientId, created.ClientSecret)).ReadAsync<ServiceTokenResponse>();
        Assert.Equal("Bearer", token.TokenType);
        Assert.Equal(900, token.ExpiresIn);
        var jwt = new JsonWebToken(token.Access);
        Assert.Equal($"service:{created.ClientId}", jwt.Subject);
        Assert.Equal(created.ClientId, jwt.GetClaim("client_id").Value);
        Assert.Equal(["service"], jwt.Claims.Where(c => c.Type == "roles").Select(c => c.Value));
        Assert.Equal("at+jwt", jwt.Typ);

        using var service = server.CreateClient(token.Access);
        var page = await (await service.GetAsync($"/api/v1/progress/?user={learner.User.Id}")).ReadAsync<PagedResponse<ProgressDto>>();
        Assert.Equal([record.Id], page.Results.Select(r => r.Id));
        await (await service.GetAsync($"/api/v1/progress/{record.Id}/")).ReadAsync<ProgressDto>();
        await (await service.GetAsync("/api/v1/progress/")).ReadAsync<PagedResponse<ProgressDto>>();
        await (await service.GetAsync($"/api/v1/users/{learner.User.Id}/")).ReadAsync<UserDto>();

        // Endpoints about "me" have no user to act on.
        await (await service.GetAsync("/api/v1/users/me/")).DetailAsync(HttpStatusCode.Forbidden);
        await (await service.PatchJsonAsync("/api/v1/users/me/", new UpdateProfileRequest("x", null, null, null))).DetailAsync(HttpStatusCode.Forbidden);
        await (await service.PostJsonAsync("/api/v1/progress/", new CreateProgressRequest("c2", "course", null, null, null, null, null))).DetailAsync(HttpStatusCode.Forbidden);
        await (await service.GetAsync("/api/v1/organizations/")).DetailAsync(HttpStatusCode.Forbidden);

        var used = Assert.Single(await (await admin.GetAsync(Clients)).ReadAsync<List<ServiceClientDto>>(), c => c.ClientId == created.ClientId);
        Assert.NotNull(used.LastUsedAt);
    }

    [Fact]
    public async Task Wrong_unknown_and_revoked_credentials_are_401_and_missing_ones_400()
    {
        var admin = await server.AdminClientAsync();
        var created = await CreateClientAsync(admin);

        var wrong = await (await TokenAsync(created.ClientId, created.ClientSecret + "x")).DetailAsync(HttpStatusCode.Unauthorized);
        var unknown = await (await TokenAsync("svc_unknown", created.ClientSecret)).DetailAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(wrong, unknown);

        await (await TokenAsync(created.ClientId, null)).DetailAsync(HttpStatusCode.BadRequest);
        await (await TokenAsync(null, created.ClientSecret)).DetailAsync(HttpStatusCode.BadRequest);
        await (await _anonymous.SendRawAsync(HttpMethod.Post, TokenUrl, "{}")).DetailAsync(HttpStatusCode.BadRequest);
        await (await _anonymous.SendRawAsync(HttpMethod.Post, TokenUrl, "not json")).DetailAsync(HttpStatusCode.BadRequest);

        await (await TokenAsync(created.ClientId, created.ClientSecret)).ReadAsync<ServiceTokenResponse>();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"{Clients}{created.ClientId}/")).StatusCode);
        Assert.Equal(wrong, await (await TokenAsync(created.ClientId, created.ClientSecret)).DetailAsync(HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task Progress_of_a_user_that_does_not_exist_is_404_after_the_permission_check()
    {
        var admin = await server.AdminClientAsync();
        var created = await CreateClientAsync(admin);
        var token = await (await TokenAsync(created.ClientId, created.ClientSecret)).ReadAsync<ServiceTokenResponse>();
        using var service = server.CreateClient(token.Access);
        const string url = "/api/v1/progress/?user=987654321";

        Assert.Equal("User not found.", await (await service.GetAsync(url)).DetailAsync(HttpStatusCode.NotFound));
        Assert.Equal("User not found.", await (await admin.GetAsync(url)).DetailAsync(HttpStatusCode.NotFound));
        var learner = await server.RegisterAsync();
        await (await learner.Client.GetAsync(url)).DetailAsync(HttpStatusCode.Forbidden);

        // A user who exists but has no progress is an empty page, not a 404.
        var empty = await (await service.GetAsync($"/api/v1/progress/?user={learner.User.Id}")).ReadAsync<PagedResponse<ProgressDto>>();
        Assert.Equal(0, empty.Count);
    }
}

public sealed class SqliteServiceClientTests(SqliteCoreServer server) : ServiceClientTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresServiceClientTests(PostgresCoreServer server) : ServiceClientTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;
