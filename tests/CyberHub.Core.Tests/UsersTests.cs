using System.Net;
using System.Text;
using System.Text.Json;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Tests.Infrastructure;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Tests;

public abstract class UsersTests<TServer>(TServer server) where TServer : CoreServer
{
    private const string UnknownId = "987654321";

    private readonly HttpClient _anonymous = server.CreateClient();

    private Task<HttpResponseMessage> LoginAsync(string? email, string? username, string password) =>
        _anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(email, username, password));

    private async Task<string> MeRawAsync(HttpClient client)
    {
        var response = await client.GetAsync("/api/v1/users/me/");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {body}");
        return body;
    }

    /// <summary>The <c>roles</c> claim of an access token, whether it was written as an array or a single string.</summary>
    private static List<string> RolesClaim(string accessToken)
    {
        var payload = accessToken.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=');
        using var document = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload)));
        var roles = document.RootElement.GetProperty("roles");
        return roles.ValueKind == JsonValueKind.Array
            ? [.. roles.EnumerateArray().Select(r => r.GetString()!)]
            : [roles.GetString()!];
    }

    // ------------------------------------------------------------------ GET /users/me/

    [Fact]
    public async Task Me_returns_the_callers_own_profile()
    {
        var learner = await server.RegisterAsync();

        var me = await (await learner.Client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();

        Assert.Equal(learner.User.Id, me.Id);
        Assert.Equal(learner.User.Email, me.Email);
        Assert.Equal(learner.User.Username, me.Username);
        Assert.Equal("Test", me.FirstName);
        Assert.Equal("Learner", me.LastName);
        Assert.Equal([Roles.Learner], me.Roles);
        Assert.True(me.IsActive);
        Assert.DoesNotContain("password", await MeRawAsync(learner.Client), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("GET", "/api/v1/users/me/", null)]
    [InlineData("PATCH", "/api/v1/users/me/", """{"bio":"x"}""")]
    [InlineData("POST", "/api/v1/users/me/password/", """{"current_password":"a-password-1","new_password":"b-password-2"}""")]
    [InlineData("GET", "/api/v1/users/", null)]
    [InlineData("GET", "/api/v1/users/1/", null)]
    [InlineData("PUT", "/api/v1/users/1/roles/", """{"roles":["admin"]}""")]
    public async Task Without_a_token_every_users_endpoint_is_401(string method, string url, string? body)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        var detail = await (await _anonymous.SendAsync(request)).DetailAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("Authentication credentials were not provided.", detail);
    }

    [Fact]
    public async Task Me_with_a_garbage_token_is_401()
    {
        using var client = server.CreateClient("not.a.jwt");
        await (await client.GetAsync("/api/v1/users/me/")).DetailAsync(HttpStatusCode.Unauthorized);
    }

    // ------------------------------------------------------------------ PATCH /users/me/

    [Fact]
    public async Task Patch_changes_names_bio_and_avatar_and_they_persist()
    {
        var learner = await server.RegisterAsync();
        var bio = new string('b', 2000); // exactly at the limit

        var updated = await (await learner.Client.PatchJsonAsync("/api/v1/users/me/",
            new UpdateProfileRequest("Grace", "Hopper", bio, "https://example.com/avatar.png"))).ReadAsync<UserDto>();

        Assert.Equal("Grace", updated.FirstName);
        Assert.Equal("Hopper", updated.LastName);
        Assert.Equal(bio, updated.Bio);
        Assert.Equal("https://example.com/avatar.png", updated.AvatarUrl);
        Assert.True(updated.UpdatedAt >= learner.User.UpdatedAt);

        // Persisted: a fresh read, and a fresh login, see the same profile.
        var me = await (await learner.Client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
        Assert.Equal(("Grace", "Hopper", bio, "https://example.com/avatar.png"), (me.FirstName, me.LastName, me.Bio, me.AvatarUrl));
        var pair = await (await LoginAsync(learner.User.Email, null, learner.Password)).ReadAsync<TokenPair>();
        using var fresh = server.CreateClient(pair.Access);
        var again = await (await fresh.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
        Assert.Equal(("Grace", "Hopper", bio, "https://example.com/avatar.png"), (again.FirstName, again.LastName, again.Bio, again.AvatarUrl));
        // Identity fields are untouched.
        Assert.Equal((learner.User.Email, learner.User.Username), (again.Email, again.Username));
    }

    [Fact]
    public async Task Patch_changes_only_the_fields_given_and_an_empty_avatar_url_clears_it()
    {
        var learner = await server.RegisterAsync();
        await (await learner.Client.PatchJsonAsync("/api/v1/users/me/",
            new UpdateProfileRequest("First", "Last", "Bio", "https://example.com/a.png"))).ReadAsync<UserDto>();

        var onlyBio = await (await learner.Client.SendRawAsync(HttpMethod.Patch, "/api/v1/users/me/", """{"bio":"  new bio  "}""")).ReadAsync<UserDto>();
        Assert.Equal(("First", "Last", "new bio", "https://example.com/a.png"), (onlyBio.FirstName, onlyBio.LastName, onlyBio.Bio, onlyBio.AvatarUrl));

        var cleared = await (await learner.Client.SendRawAsync(HttpMethod.Patch, "/api/v1/users/me/", """{"avatar_url":""}""")).ReadAsync<UserDto>();
        Assert.Null(cleared.AvatarUrl);
        Assert.Null((await (await learner.Client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>()).AvatarUrl);
    }

    public static TheoryData<string, string, string> InvalidProfiles => new()
    {
        { "bio", new string('x', 2001), "bio: at most 2000 characters" },
        { "avatar_url", "ftp://example.com/avatar.png", "avatar_url: enter an https:// address" },
        { "avatar_url", "javascript:alert(1)", "avatar_url: enter an https:// address" },
        { "avatar_url", "file:///etc/passwd", "avatar_url: enter an https:// address" },
        { "avatar_url", "not a url", "avatar_url: enter an https:// address" },
        { "avatar_url", "/relative/avatar.png", "avatar_url: enter an https:// address" },
        { "avatar_url", "http://example.com/avatar.png", "avatar_url: enter an https:// address" },
        { "first_name", "Ada\u0000", "first_name: control characters are not allowed" },
        { "first_name", "Bell\u0007", "first_name: control characters are not allowed" },
        { "last_name", "\u001b[31mRed", "last_name: control characters are not allowed" },
        { "last_name", "Del\u007f", "last_name: control characters are not allowed" },
        { "first_name", new string('f', 151), "first_name: at most 150 characters" },
    };

    [Theory]
    [MemberData(nameof(InvalidProfiles))]
    public async Task Invalid_profile_updates_are_400_and_change_nothing(string field, string value, string expected)
    {
        var learner = await server.RegisterAsync();
        var before = await MeRawAsync(learner.Client);

        // A valid change rides along with the invalid one: it must not be saved either.
        var body = new Dictionary<string, string> { ["first_name"] = "Changed", ["bio"] = "changed bio" };
        body[field] = value;
        var detail = await (await learner.Client.PatchJsonAsync("/api/v1/users/me/", body)).DetailAsync(HttpStatusCode.BadRequest);

        Assert.Contains(expected, detail, StringComparison.Ordinal);
        Assert.Equal(before, await MeRawAsync(learner.Client));
    }

    [Fact]
    public async Task Patch_ignores_unknown_fields_including_privileged_ones()
    {
        var learner = await server.RegisterAsync();

        var response = await learner.Client.SendRawAsync(HttpMethod.Patch, "/api/v1/users/me/",
            """{"bio":"still me","roles":["admin"],"email":"someone-else@example.com","username":"renamed","is_active":false,"id":1,"favourite_colour":"blue"}""");
        var updated = await response.ReadAsync<UserDto>();

        Assert.Equal("still me", updated.Bio);
        var me = await (await learner.Client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
        Assert.Equal(learner.User.Id, me.Id);
        Assert.Equal("still me", me.Bio);
        Assert.Equal([Roles.Learner], me.Roles);
        Assert.Equal(learner.User.Email, me.Email);
        Assert.Equal(learner.User.Username, me.Username);
        Assert.True(me.IsActive);
        // The roles in a fresh token are unchanged too.
        var pair = await (await LoginAsync(learner.User.Email, null, learner.Password)).ReadAsync<TokenPair>();
        Assert.Equal([Roles.Learner], RolesClaim(pair.Access));
    }

    [Fact]
    public async Task Patch_with_malformed_json_is_400()
    {
        var learner = await server.RegisterAsync();
        var before = await MeRawAsync(learner.Client);
        await (await learner.Client.SendRawAsync(HttpMethod.Patch, "/api/v1/users/me/", """{"bio":""")).DetailAsync(HttpStatusCode.BadRequest);
        await (await learner.Client.SendRawAsync(HttpMethod.Patch, "/api/v1/users/me/", """{"bio":5}""")).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Equal(before, await MeRawAsync(learner.Client));
    }

    // ------------------------------------------------------------------ POST /users/me/password/

    [Fact]
    public async Task Wrong_current_password_is_400_and_changes_nothing()
    {
        var learner = await server.RegisterAsync();

        var detail = await (await learner.Client.PostJsonAsync("/api/v1/users/me/password/",
            new ChangePasswordRequest("not-my-password", "brand-new-passphrase"))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("current_password", detail, StringComparison.Ordinal);

        var missing = await (await learner.Client.PostJsonAsync("/api/v1/users/me/password/",
            new ChangePasswordRequest(null, "brand-new-passphrase"))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("current_password", missing, StringComparison.Ordinal);

        await (await LoginAsync(learner.User.Email, null, learner.Password)).ReadAsync<TokenPair>();
        await (await LoginAsync(learner.User.Email, null, "brand-new-passphrase")).DetailAsync(HttpStatusCode.Unauthorized);
        await (await _anonymous.PostJsonAsync("/api/v1/token/refresh/", new RefreshRequest(learner.Refresh))).ReadAsync<TokenPair>();
    }

    [Theory]
    [InlineData("short1", "too short")]
    [InlineData("12345678901", "entirely numeric")]
    [InlineData("", "password is required")]
    [InlineData("USERNAME", "too similar")]
    [InlineData("EMAIL", "too similar")]
    public async Task Weak_new_password_is_400_and_the_old_one_keeps_working(string newPassword, string expected)
    {
        var learner = await server.RegisterAsync();
        newPassword = newPassword switch
        {
            "USERNAME" => learner.User.Username.ToUpperInvariant(),
            "EMAIL" => learner.User.Email,
            _ => newPassword,
        };

        var detail = await (await learner.Client.PostJsonAsync("/api/v1/users/me/password/",
            new ChangePasswordRequest(learner.Password, newPassword))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);

        await (await LoginAsync(learner.User.Email, null, learner.Password)).ReadAsync<TokenPair>();
        await (await _anonymous.PostJsonAsync("/api/v1/token/refresh/", new RefreshRequest(learner.Refresh))).ReadAsync<TokenPair>();
    }

    [Fact]
    public async Task Changing_the_password_swaps_the_credentials_and_ends_every_session()
    {
        var learner = await server.RegisterAsync();
        // A second session, from a login, besides the one from registration.
        var otherSession = await (await LoginAsync(null, learner.User.Username, learner.Password)).ReadAsync<TokenPair>();
        const string newPassword = "a-much-better-passphrase";

        var response = await learner.Client.PostJsonAsync("/api/v1/users/me/password/", new ChangePasswordRequest(learner.Password, newPassword));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsStringAsync());

        await (await LoginAsync(learner.User.Email, null, learner.Password)).DetailAsync(HttpStatusCode.Unauthorized);
        await (await LoginAsync(null, learner.User.Username, learner.Password)).DetailAsync(HttpStatusCode.Unauthorized);

        var byEmail = await (await LoginAsync(learner.User.Email, null, newPassword)).ReadAsync<TokenPair>();
        var byUsername = await (await LoginAsync(null, learner.User.Username, newPassword)).ReadAsync<TokenPair>();
        using var fresh = server.CreateClient(byEmail.Access);
        Assert.Equal(learner.User.Id, (await (await fresh.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>()).Id);

        // Refresh tokens issued before the change are dead; those issued after work.
        await (await _anonymous.PostJsonAsync("/api/v1/token/refresh/", new RefreshRequest(learner.Refresh))).DetailAsync(HttpStatusCode.Unauthorized);
        await (await _anonymous.PostJsonAsync("/api/v1/token/refresh/", new RefreshRequest(otherSession.Refresh))).DetailAsync(HttpStatusCode.Unauthorized);
        await (await _anonymous.PostJsonAsync("/api/v1/token/refresh/", new RefreshRequest(byUsername.Refresh))).ReadAsync<TokenPair>();
    }

    // ------------------------------------------------------------------ GET /users/

    [Fact]
    public async Task Listing_users_is_for_admins_only()
    {
        var learner = await server.RegisterAsync();
        var detail = await (await learner.Client.GetAsync("/api/v1/users/")).DetailAsync(HttpStatusCode.Forbidden);
        Assert.Equal("You do not have permission to perform this action.", detail);
        // Even with query parameters that would themselves be invalid: authorization comes first.
        await (await learner.Client.GetAsync("/api/v1/users/?page=abc")).DetailAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Admin_lists_users_paged_with_absolute_links_that_keep_other_parameters()
    {
        var admin = await server.AdminClientAsync();
        var created = new List<Learner>();
        for (var i = 0; i < 3; i++)
        {
            created.Add(await server.RegisterAsync("paged"));
        }
        int databaseCount;
        using (var scope = server.Services.CreateScope())
        {
            databaseCount = await scope.ServiceProvider.GetRequiredService<CoreDbContext>().Users.CountAsync();
        }

        var firstResponse = await admin.GetAsync("/api/v1/users/?page_size=2&search=keep%20me&page=1");
        var raw = await firstResponse.Content.ReadAsStringAsync();
        var first = await firstResponse.ReadAsync<PagedResponse<UserDto>>();
        using (var document = JsonDocument.Parse(raw))
        {
            Assert.Equal(["count", "next", "previous", "results"], document.RootElement.EnumerateObject().Select(p => p.Name));
        }
        Assert.Equal(databaseCount, first.Count);
        Assert.True(first.Count >= 4, "the admin and three learners at least");
        Assert.Equal(2, first.Results.Count);
        Assert.Null(first.Previous);
        Assert.NotNull(first.Next);
        var next = new Uri(first.Next);
        Assert.True(next.IsAbsoluteUri);
        Assert.Equal(server.BaseAddress.GetLeftPart(UriPartial.Authority), next.GetLeftPart(UriPartial.Authority));
        Assert.Equal("/api/v1/users/", next.AbsolutePath);
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(next.Query);
        Assert.Equal("2", query["page"].ToString());
        Assert.Equal("2", query["page_size"].ToString());
        Assert.Equal("keep me", query["search"].ToString());

        // Follow the links to the end: every user exactly once, in id order, count on every page.
        var seen = new List<UserDto>(first.Results);
        var page = first;
        var pages = 1;
        while (page.Next is not null)
        {
            var link = page.Next;
            page = await (await admin.GetAsync(link)).ReadAsync<PagedResponse<UserDto>>();
            pages++;
            Assert.Equal(databaseCount, page.Count);
            Assert.NotNull(page.Previous);
            var previous = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(page.Previous).Query);
            Assert.Equal((pages - 1).ToString(System.Globalization.CultureInfo.InvariantCulture), previous["page"].ToString());
            Assert.Equal("2", previous["page_size"].ToString());
            Assert.Equal("keep me", previous["search"].ToString());
            Assert.StartsWith(server.BaseAddress.GetLeftPart(UriPartial.Authority) + "/api/v1/users/?", page.Previous, StringComparison.Ordinal);
            Assert.InRange(page.Results.Count, 1, 2);
            seen.AddRange(page.Results);
        }
        Assert.Equal(databaseCount, seen.Count);
        Assert.Equal((databaseCount + 1) / 2, pages);
        Assert.Equal(seen.Select(u => u.Id).Distinct().Count(), seen.Count);
        Assert.Equal(seen.Select(u => u.Id).Order(), seen.Select(u => u.Id));
        foreach (var learner in created)
        {
            Assert.Contains(seen, u => u.Id == learner.User.Id && u.Username == learner.User.Username);
        }
        Assert.Contains(seen, u => u.Email == CoreServer.AdminEmail && u.Roles.Contains(Roles.Admin));

        // Defaults: page 1, up to 20 per page.
        var defaults = await (await admin.GetAsync("/api/v1/users/")).ReadAsync<PagedResponse<UserDto>>();
        Assert.Equal(databaseCount, defaults.Count);
        Assert.Equal(Math.Min(20, databaseCount), defaults.Results.Count);
        Assert.Null(defaults.Previous);
        Assert.Equal(databaseCount > 20, defaults.Next is not null);

        // page_size at its maximum takes everyone in one page.
        var all = await (await admin.GetAsync("/api/v1/users/?page_size=100")).ReadAsync<PagedResponse<UserDto>>();
        Assert.Equal(Math.Min(100, databaseCount), all.Results.Count);
    }

    [Theory]
    [InlineData("page_size=0", "page_size")]
    [InlineData("page_size=101", "page_size")]
    [InlineData("page_size=-5", "page_size")]
    [InlineData("page=0", "page")]
    [InlineData("page=-1", "page")]
    [InlineData("page=abc", "page")]
    [InlineData("page=1.5", "page")]
    public async Task Invalid_paging_parameters_are_400(string query, string expected)
    {
        var admin = await server.AdminClientAsync();
        var detail = await (await admin.GetAsync($"/api/v1/users/?{query}")).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_non_numeric_page_size_is_400_naming_the_query_parameter_the_client_sent()
    {
        var admin = await server.AdminClientAsync();
        var detail = await (await admin.GetAsync("/api/v1/users/?page_size=ten")).DetailAsync(HttpStatusCode.BadRequest);
        // The client sent page_size; a detail naming the C# parameter ("pageSize") points at a field that does not exist.
        Assert.Contains("'page_size'", detail, StringComparison.Ordinal);
        Assert.Contains("ten", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_page_past_the_end_is_404()
    {
        await server.RegisterAsync();
        var admin = await server.AdminClientAsync();
        var count = (await (await admin.GetAsync("/api/v1/users/?page_size=1")).ReadAsync<PagedResponse<UserDto>>()).Count;

        // The last page exists; the one after it does not.
        var last = await (await admin.GetAsync($"/api/v1/users/?page_size=1&page={count}")).ReadAsync<PagedResponse<UserDto>>();
        Assert.Single(last.Results);
        Assert.Null(last.Next);
        Assert.NotNull(last.Previous);
        await (await admin.GetAsync($"/api/v1/users/?page_size=1&page={count + 1}")).DetailAsync(HttpStatusCode.NotFound);
        await (await admin.GetAsync("/api/v1/users/?page=100000")).DetailAsync(HttpStatusCode.NotFound);
    }

    // ------------------------------------------------------------------ GET /users/{id}/

    [Fact]
    public async Task A_user_is_visible_to_themself_and_to_admins_but_not_to_other_learners()
    {
        var learner = await server.RegisterAsync();
        var other = await server.RegisterAsync();
        var admin = await server.AdminClientAsync();
        var url = $"/api/v1/users/{learner.User.Id}/";

        var self = await (await learner.Client.GetAsync(url)).ReadAsync<UserDto>();
        Assert.Equal((learner.User.Id, learner.User.Username), (self.Id, self.Username));

        var detail = await (await other.Client.GetAsync(url)).DetailAsync(HttpStatusCode.Forbidden);
        Assert.Equal("You do not have permission to perform this action.", detail);
        Assert.DoesNotContain(learner.User.Email, detail, StringComparison.Ordinal);

        var byAdmin = await (await admin.GetAsync(url)).ReadAsync<UserDto>();
        Assert.Equal((learner.User.Id, learner.User.Email), (byAdmin.Id, byAdmin.Email));
    }

    [Fact]
    public async Task Unknown_user_id_is_404_for_admins_and_403_for_learners()
    {
        var learner = await server.RegisterAsync();
        var admin = await server.AdminClientAsync();

        await (await admin.GetAsync($"/api/v1/users/{UnknownId}/")).DetailAsync(HttpStatusCode.NotFound);
        // A learner learns nothing about which ids exist.
        await (await learner.Client.GetAsync($"/api/v1/users/{UnknownId}/")).DetailAsync(HttpStatusCode.Forbidden);
        // A non-numeric id matches no route.
        await (await admin.GetAsync("/api/v1/users/abc/")).DetailAsync(HttpStatusCode.NotFound);
    }

    // ------------------------------------------------------------------ PUT /users/{id}/roles/

    [Fact]
    public async Task Admin_sets_roles_and_a_fresh_login_carries_them()
    {
        var learner = await server.RegisterAsync();
        var admin = await server.AdminClientAsync();
        Assert.Equal([Roles.Learner], RolesClaim(learner.Access));

        var updated = await (await admin.PutAsJsonRawAsync($"/api/v1/users/{learner.User.Id}/roles/", """{"roles":["content_creator"]}"""))
            .ReadAsync<UserDto>();
        Assert.Equal([Roles.ContentCreator], updated.Roles);

        var pair = await (await LoginAsync(learner.User.Email, null, learner.Password)).ReadAsync<TokenPair>();
        Assert.Equal([Roles.ContentCreator], RolesClaim(pair.Access));
        using var fresh = server.CreateClient(pair.Access);
        var me = await (await fresh.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
        Assert.Equal([Roles.ContentCreator], me.Roles);
        var byAdmin = await (await admin.GetAsync($"/api/v1/users/{learner.User.Id}/")).ReadAsync<UserDto>();
        Assert.Equal([Roles.ContentCreator], byAdmin.Roles);

        // Several roles, duplicates collapsed. The change ends the sessions from before it; a new login carries them.
        var several = await (await admin.PutAsJsonRawAsync($"/api/v1/users/{learner.User.Id}/roles/",
            """{"roles":["learner","content_creator","learner"]}""")).ReadAsync<UserDto>();
        Assert.Equal([Roles.Learner, Roles.ContentCreator], several.Roles);
        await (await _anonymous.PostJsonAsync("/api/v1/token/refresh/", new RefreshRequest(pair.Refresh))).DetailAsync(HttpStatusCode.Unauthorized);
        var again = await (await LoginAsync(learner.User.Email, null, learner.Password)).ReadAsync<TokenPair>();
        Assert.Equal([Roles.Learner, Roles.ContentCreator], RolesClaim(again.Access));
    }

    [Theory]
    [InlineData("""{"roles":["superuser"]}""", "unknown role 'superuser'")]
    [InlineData("""{"roles":["content_creator","Admin"]}""", "unknown role 'Admin'")]
    [InlineData("""{"roles":[]}""", "at least one role")]
    [InlineData("""{}""", "at least one role")]
    [InlineData("""{"roles":null}""", "at least one role")]
    [InlineData("""{"roles":"admin"}""", "Malformed JSON")]
    public async Task Invalid_role_lists_are_400_and_change_nothing(string json, string expected)
    {
        var learner = await server.RegisterAsync();
        var admin = await server.AdminClientAsync();

        var detail = await (await admin.PutAsJsonRawAsync($"/api/v1/users/{learner.User.Id}/roles/", json)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);

        var user = await (await admin.GetAsync($"/api/v1/users/{learner.User.Id}/")).ReadAsync<UserDto>();
        Assert.Equal([Roles.Learner], user.Roles);
    }

    [Fact]
    public async Task Learners_cannot_set_roles_not_even_their_own()
    {
        var learner = await server.RegisterAsync();
        var other = await server.RegisterAsync();

        await (await learner.Client.PutAsJsonRawAsync($"/api/v1/users/{learner.User.Id}/roles/", """{"roles":["admin"]}"""))
            .DetailAsync(HttpStatusCode.Forbidden);
        await (await learner.Client.PutAsJsonRawAsync($"/api/v1/users/{other.User.Id}/roles/", """{"roles":["content_creator"]}"""))
            .DetailAsync(HttpStatusCode.Forbidden);

        var pair = await (await LoginAsync(learner.User.Email, null, learner.Password)).ReadAsync<TokenPair>();
        Assert.Equal([Roles.Learner], RolesClaim(pair.Access));
        var admin = await server.AdminClientAsync();
        Assert.Equal([Roles.Learner], (await (await admin.GetAsync($"/api/v1/users/{other.User.Id}/")).ReadAsync<UserDto>()).Roles);
    }

    [Fact]
    public async Task Setting_roles_of_an_unknown_user_is_404()
    {
        var admin = await server.AdminClientAsync();
        await (await admin.PutAsJsonRawAsync($"/api/v1/users/{UnknownId}/roles/", """{"roles":["content_creator"]}"""))
            .DetailAsync(HttpStatusCode.NotFound);
    }
}

internal static class UsersTestsHttp
{
    public static Task<HttpResponseMessage> PutAsJsonRawAsync(this HttpClient client, string url, string json) =>
        client.SendRawAsync(HttpMethod.Put, url, json);
}

public sealed class SqliteUsersTests(SqliteCoreServer server) : UsersTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresUsersTests(PostgresCoreServer server) : UsersTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;
