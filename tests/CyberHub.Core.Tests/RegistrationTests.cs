using System.Net;
using CyberHub.Contracts;
using CyberHub.Core.Tests.Infrastructure;
using CyberHub.Testing;

namespace CyberHub.Core.Tests;

public abstract class RegistrationTests<TServer>(TServer server) where TServer : CoreServer
{
    private readonly HttpClient _anonymous = server.CreateClient();

    private static RegisterRequest NewUser(string? password = null)
    {
        var name = $"u{Guid.NewGuid():N}"[..16];
        return new RegisterRequest($"{name}@example.com", name, password ?? "s3cure-passphrase", "Ada", "Lovelace");
    }

    [Fact]
    public async Task Register_returns_user_and_working_tokens_but_never_the_password()
    {
        var request = NewUser();
        var response = await _anonymous.PostJsonAsync("/api/v1/users/", request);
        var raw = await response.Content.ReadAsStringAsync();
        var body = await response.ReadAsync<RegisterResponse>(HttpStatusCode.Created);

        Assert.Equal(request.Email, body.User.Email);
        Assert.Equal(request.Username, body.User.Username);
        Assert.Equal(["learner"], body.User.Roles);
        Assert.True(body.User.IsActive);
        Assert.DoesNotContain("password", raw, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("s3cure-passphrase", raw, StringComparison.Ordinal);
        foreach (var field in new[] { "\"id\"", "\"first_name\"", "\"last_name\"", "\"bio\"", "\"avatar_url\"", "\"created_at\"", "\"updated_at\"" })
        {
            Assert.Contains(field, raw, StringComparison.Ordinal);
        }

        using var client = server.CreateClient(body.Access);
        var me = await (await client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
        Assert.Equal(body.User.Id, me.Id);
        var refreshed = await (await _anonymous.PostJsonAsync("/api/v1/token/refresh/", new RefreshRequest(body.Refresh))).ReadAsync<TokenPair>();
        Assert.NotEqual(body.Refresh, refreshed.Refresh);
    }

    [Fact]
    public async Task Duplicate_email_or_username_is_400_naming_the_field_case_insensitively()
    {
        var first = NewUser();
        await (await _anonymous.PostJsonAsync("/api/v1/users/", first)).ReadAsync<RegisterResponse>(HttpStatusCode.Created);

        var sameEmail = NewUser() with { Email = first.Email!.ToUpperInvariant() };
        Assert.StartsWith("email", await (await _anonymous.PostJsonAsync("/api/v1/users/", sameEmail)).DetailAsync(HttpStatusCode.BadRequest));

        var sameUsername = NewUser() with { Username = first.Username!.ToUpperInvariant() };
        Assert.StartsWith("username", await (await _anonymous.PostJsonAsync("/api/v1/users/", sameUsername)).DetailAsync(HttpStatusCode.BadRequest));
    }

    [Theory]
    [InlineData("short1", "too short")]
    [InlineData("1234567890", "entirely numeric")]
    public async Task Weak_passwords_are_refused(string password, string expected)
    {
        var detail = await (await _anonymous.PostJsonAsync("/api/v1/users/", NewUser(password))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Password_equal_to_email_or_username_is_refused()
    {
        var user = NewUser();
        foreach (var password in new[] { user.Email!, user.Username!.ToUpperInvariant() })
        {
            var detail = await (await _anonymous.PostJsonAsync("/api/v1/users/", user with { Password = password })).DetailAsync(HttpStatusCode.BadRequest);
            Assert.Contains("too similar", detail, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("""{"username":"nomail","password":"s3cure-passphrase"}""", "email is required")]
    [InlineData("""{"email":"not-an-email","username":"bademail","password":"s3cure-passphrase"}""", "valid email")]
    [InlineData("""{"email":"nouser@example.com","password":"s3cure-passphrase"}""", "username is required")]
    [InlineData("""{"email":"sp@example.com","username":"has space","password":"s3cure-passphrase"}""", "username:")]
    [InlineData("""{"email":"nopw@example.com","username":"nopw"}""", "password is required")]
    [InlineData("""{"email":"long@example.com","username":"longname","password":"s3cure-passphrase","first_name":"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"}""", "first_name")]
    [InlineData("""{"email":"nl@example.com","username":"newline","password":"s3cure-passphrase","first_name":"Ann\nLee"}""", "first_name: control characters")]
    [InlineData("""{"email":"x@example.com",""", "Malformed JSON")]
    [InlineData("""{"email":5,"username":"num","password":"s3cure-passphrase"}""", "Malformed JSON at $.email")]
    [InlineData("""[1,2]""", "Malformed JSON")]
    public async Task Invalid_registrations_are_400_with_a_detail_and_create_nothing(string json, string expected)
    {
        var detail = await (await _anonymous.SendRawAsync(HttpMethod.Post, "/api/v1/users/", json)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);

        var admin = await server.AdminClientAsync();
        var users = await (await admin.GetAsync("/api/v1/users/?page_size=100")).ReadAsync<PagedResponse<UserDto>>();
        Assert.DoesNotContain(users.Results, u => u.Username is "nomail" or "bademail" or "nopw" or "longname" or "num" or "newline");
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_415_and_an_empty_one_400()
    {
        await (await _anonymous.SendRawAsync(HttpMethod.Post, "/api/v1/users/", "email=a", "application/x-www-form-urlencoded"))
            .DetailAsync(HttpStatusCode.UnsupportedMediaType);
        await (await _anonymous.SendRawAsync(HttpMethod.Post, "/api/v1/users/", "")).DetailAsync(HttpStatusCode.BadRequest);
    }
}

public sealed class SqliteRegistrationTests(SqliteCoreServer server) : RegistrationTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresRegistrationTests(PostgresCoreServer server) : RegistrationTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;
