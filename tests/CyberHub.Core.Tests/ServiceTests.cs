using System.Net;
using System.Text.Json;
using CyberHub.Contracts;
using CyberHub.Core.Tests.Infrastructure;
using CyberHub.Testing;

namespace CyberHub.Core.Tests;

public abstract class ServiceTests<TServer>(TServer server) where TServer : CoreServer
{
    private readonly HttpClient _anonymous = server.CreateClient();

    [Fact]
    public async Task Health_reports_the_database_check()
    {
        var health = await (await _anonymous.GetAsync("/api/v1/health/")).ReadAsync<HealthResponse>();
        Assert.Equal("healthy", health.Status);
        Assert.Equal("healthy", health.Checks["database"].Status);
        Assert.Equal(server is PostgresCoreServer ? "postgresql" : "sqlite", health.Checks["database"].Description);

        var live = await _anonymous.GetAsync("/api/v1/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task Unknown_routes_and_wrong_methods_answer_with_a_detail()
    {
        Assert.Equal("Not found.", await (await _anonymous.GetAsync("/api/v1/no-such-thing/")).DetailAsync(HttpStatusCode.NotFound));
        await (await _anonymous.DeleteAsync("/api/v1/users/")).DetailAsync(HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task The_openapi_document_describes_every_core_route_and_the_ui_is_served()
    {
        using var document = JsonDocument.Parse(await _anonymous.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet();
        // The document lists routes without their trailing slash; both forms are served.
        foreach (var path in new[] { "/api/v1/users", "/api/v1/users/me", "/api/v1/token", "/api/v1/token/refresh", "/api/v1/token/revoke",
                     "/api/v1/organizations", "/api/v1/progress", "/api/v1/progress/{id}", "/.well-known/jwks.json" })
        {
            Assert.Contains(path, paths);
        }
        var ui = await _anonymous.GetAsync("/docs/");
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        Assert.Contains("text/html", ui.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Injection_strings_are_stored_and_returned_verbatim()
    {
        var learner = await server.RegisterAsync();
        const string hostile = "'; DROP TABLE users; -- <script>alert(1)</script>";
        var updated = await (await learner.Client.PatchJsonAsync("/api/v1/users/me/", new UpdateProfileRequest(hostile, null, hostile, null))).ReadAsync<UserDto>();
        Assert.Equal(hostile, updated.FirstName);
        var me = await (await learner.Client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
        Assert.Equal(hostile, me.Bio);
        Assert.Equal("application/json; charset=utf-8", (await learner.Client.GetAsync("/api/v1/users/me/")).Content.Headers.ContentType?.ToString());
    }
}

public sealed class SqliteServiceTests(SqliteCoreServer server) : ServiceTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresServiceTests(PostgresCoreServer server) : ServiceTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;
