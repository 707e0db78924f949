using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Users;
using CyberHub.ServiceDefaults.Errors;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Tests;

/// <summary>
/// Who a token speaks for is decided by the account as it is now, not as it was when the token was minted:
/// role changes, deactivation, deletion and the admin bootstrap each end the sessions they must end.
/// </summary>
public abstract class AccountControlTests<TServer>(TServer server) where TServer : CoreServer, new()
{
    private const string Revoked = "Token has been revoked; log in again.";
    private readonly HttpClient _anonymous = server.CreateClient();

    private Task<HttpResponseMessage> RefreshAsync(string refresh) =>
        _anonymous.PostJsonAsync("/api/v1/token/refresh/", new RefreshRequest(refresh));

    private async Task<TokenPair> LoginAsync(Learner learner) =>
        await (await _anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(learner.User.Email, null, learner.Password))).ReadAsync<TokenPair>();

    private static Task<HttpResponseMessage> PutJsonAsync(HttpClient client, string url, string json) =>
        client.SendRawAsync(HttpMethod.Put, url, json);

    private static Task<HttpResponseMessage> PatchJsonAsync(HttpClient client, string url, string json) =>
        client.SendRawAsync(HttpMethod.Patch, url, json);

    private static List<string> Claim(string accessToken, string name)
    {
        var payload = accessToken.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=');
        using var document = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload)));
        var value = document.RootElement.GetProperty(name);
        return value.ValueKind == JsonValueKind.Array ? [.. value.EnumerateArray().Select(r => r.GetString()!)] : [value.GetString()!];
    }

    /// <summary>A learner made admin, logged in again so that their token says admin.</summary>
    private async Task<(Learner Learner, HttpClient Client, TokenPair Pair)> SecondAdminAsync(HttpClient admin, TServer on)
    {
        var learner = await on.RegisterAsync("admin2");
        await (await PutJsonAsync(admin, $"/api/v1/users/{learner.User.Id}/roles/", """{"roles":["admin"]}""")).ReadAsync<UserDto>();
        using var anonymous = on.CreateClient();
        var pair = await (await anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(learner.User.Email, null, learner.Password))).ReadAsync<TokenPair>();
        Assert.Contains(Roles.Admin, Claim(pair.Access, "roles"));
        return (learner, on.CreateClient(pair.Access), pair);
    }

    // ------------------------------------------------------------------ finding 4: demotion sticks

    [Fact]
    public async Task A_demoted_admin_cannot_use_their_old_admin_token_to_take_the_role_back_or_mint_a_service_client()
    {
        using var admin = await server.AdminClientAsync();
        var (demoted, oldToken, oldPair) = await SecondAdminAsync(admin, server);

        await (await PutJsonAsync(admin, $"/api/v1/users/{demoted.User.Id}/roles/", """{"roles":["learner"]}""")).ReadAsync<UserDto>();

        // The access token minted while they were admin is still signed and unexpired: it is refused all the same.
        Assert.Equal(Revoked, await (await PutJsonAsync(oldToken, $"/api/v1/users/{demoted.User.Id}/roles/", """{"roles":["admin"]}"""))
            .DetailAsync(HttpStatusCode.Unauthorized));
        Assert.Equal(Revoked, await (await oldToken.PostJsonAsync("/api/v1/service-clients/", new CreateServiceClientRequest("backdoor")))
            .DetailAsync(HttpStatusCode.Unauthorized));
        Assert.Equal(Revoked, await (await oldToken.GetAsync("/api/v1/users/")).DetailAsync(HttpStatusCode.Unauthorized));
        Assert.Equal(Revoked, await (await oldToken.GetAsync("/api/v1/users/me/")).DetailAsync(HttpStatusCode.Unauthorized));
        // Nor can the session be refreshed into a new token.
        await (await RefreshAsync(oldPair.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);

        var user = await (await admin.GetAsync($"/api/v1/users/{demoted.User.Id}/")).ReadAsync<UserDto>();
        Assert.Equal([Roles.Learner], user.Roles);
        var clients = await (await admin.GetAsync("/api/v1/service-clients/")).ReadAsync<List<ServiceClientDto>>();
        Assert.DoesNotContain(clients, c => c.Name == "backdoor");

        // A fresh login works and says learner.
        var fresh = await LoginAsync(demoted);
        Assert.Equal([Roles.Learner], Claim(fresh.Access, "roles"));
    }

    [Fact]
    public async Task Any_role_change_ends_the_users_sessions_and_an_unchanged_set_does_not()
    {
        using var admin = await server.AdminClientAsync();
        var learner = await server.RegisterAsync();

        // The same roles again is no change: the sessions go on.
        await (await PutJsonAsync(admin, $"/api/v1/users/{learner.User.Id}/roles/", """{"roles":["learner"]}""")).ReadAsync<UserDto>();
        await (await learner.Client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();

        await (await PutJsonAsync(admin, $"/api/v1/users/{learner.User.Id}/roles/", """{"roles":["learner","content_creator"]}""")).ReadAsync<UserDto>();
        Assert.Equal(Revoked, await (await learner.Client.GetAsync("/api/v1/users/me/")).DetailAsync(HttpStatusCode.Unauthorized));
        await (await RefreshAsync(learner.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);
        var fresh = await LoginAsync(learner);
        Assert.Equal([Roles.Learner, Roles.ContentCreator], Claim(fresh.Access, "roles"));
    }

    [Fact]
    public async Task A_forged_admin_claim_on_a_learners_current_token_cannot_grant_privileges()
    {
        // The token's roles are not trusted on privilege-granting routes: they read the caller's roles now.
        // (A learner cannot forge a signed token; this proves the database check on its own, through the stamp-carrying
        // token of a user who was admin and is no more, whose new token is then copied with an admin claim.)
        using var admin = await server.AdminClientAsync();
        var (demoted, _, _) = await SecondAdminAsync(admin, server);
        await (await PutJsonAsync(admin, $"/api/v1/users/{demoted.User.Id}/roles/", """{"roles":["learner"]}""")).ReadAsync<UserDto>();
        var current = await LoginAsync(demoted);
        var forge = new Infrastructure.TokenForge(server);
        using var forged = server.CreateClient(forge.Create(demoted.User.Id, [Roles.Admin], stamp: Claim(current.Access, "stamp")[0]));

        await (await PutJsonAsync(forged, $"/api/v1/users/{demoted.User.Id}/roles/", """{"roles":["admin"]}""")).DetailAsync(HttpStatusCode.Forbidden);
        await (await forged.PostJsonAsync("/api/v1/service-clients/", new CreateServiceClientRequest("backdoor"))).DetailAsync(HttpStatusCode.Forbidden);
        await (await PatchJsonAsync(forged, $"/api/v1/users/{demoted.User.Id}/", """{"is_active":true}""")).DetailAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task The_last_admin_cannot_demote_deactivate_or_delete_themself_and_two_admins_cannot_remove_each_other_at_once()
    {
        // A server of its own: here the bootstrap admin must be the only admin.
        var own = new TServer();
        await own.InitializeAsync();
        try
        {
            using var admin = await own.AdminClientAsync();
            var me = await (await admin.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();

            var demote = await (await PutJsonAsync(admin, $"/api/v1/users/{me.Id}/roles/", """{"roles":["learner"]}""")).DetailAsync(HttpStatusCode.Conflict);
            Assert.Contains("last active admin", demote, StringComparison.Ordinal);
            Assert.Contains("last active admin", await (await PatchJsonAsync(admin, $"/api/v1/users/{me.Id}/", """{"is_active":false}"""))
                .DetailAsync(HttpStatusCode.Conflict), StringComparison.Ordinal);
            Assert.Contains("last active admin", await (await admin.DeleteAsync($"/api/v1/users/{me.Id}/"))
                .DetailAsync(HttpStatusCode.Conflict), StringComparison.Ordinal);
            // Nothing changed, and the session goes on.
            var still = await (await admin.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
            Assert.Equal([Roles.Admin], still.Roles);
            Assert.True(still.IsActive);

            // Two admins, each removing the other's admin role at the same moment: one of them stays admin.
            var (second, secondClient, _) = await SecondAdminAsync(admin, own);
            var responses = await Task.WhenAll(
                PutJsonAsync(admin, $"/api/v1/users/{second.User.Id}/roles/", """{"roles":["learner"]}"""),
                PutJsonAsync(secondClient, $"/api/v1/users/{me.Id}/roles/", """{"roles":["learner"]}"""));
            Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict or HttpStatusCode.Unauthorized,
                $"unexpected {(int)r.StatusCode}"));
            Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
            await using var scope = own.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
            var admins = (await db.Users.AsNoTracking().Where(u => u.IsActive).Select(u => u.Roles).ToListAsync())
                .Count(r => r.Split(' ').Contains(Roles.Admin));
            Assert.Equal(1, admins);
        }
        finally
        {
            await own.DisposeAsync();
        }
    }

    [Fact]
    public async Task Refreshes_racing_a_role_change_leave_no_token_with_the_old_rights()
    {
        using var admin = await server.AdminClientAsync();
        var (user, _, _) = await SecondAdminAsync(admin, server);
        var sessions = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            sessions.Add((await LoginAsync(user)).Refresh);
        }

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var refreshes = sessions.Select(s => Task.Run(async () => { await start.Task; return await RefreshAsync(s); })).ToList();
        var change = Task.Run(async () =>
        {
            await start.Task;
            return await PutJsonAsync(admin, $"/api/v1/users/{user.User.Id}/roles/", """{"roles":["learner"]}""");
        });
        start.SetResult();
        await (await change).ReadAsync<UserDto>();

        foreach (var response in await Task.WhenAll(refreshes))
        {
            if (response.StatusCode != HttpStatusCode.OK)
            {
                await response.DetailAsync(HttpStatusCode.Unauthorized);
                continue;
            }
            // A refresh that won the race may hold a token, but not one that still acts as admin.
            var pair = await response.ReadAsync<TokenPair>();
            using var client = server.CreateClient(pair.Access);
            var answer = await client.GetAsync("/api/v1/service-clients/");
            Assert.True(answer.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, $"admin route answered {(int)answer.StatusCode}");
            await (await RefreshAsync(pair.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);
        }
    }

    [Fact]
    public async Task Refreshes_racing_a_password_change_leave_no_access_token_alive()
    {
        var learner = await server.RegisterAsync();
        var sessions = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            sessions.Add((await LoginAsync(learner)).Refresh);
        }

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var refreshes = sessions.Select(s => Task.Run(async () => { await start.Task; return await RefreshAsync(s); })).ToList();
        var change = Task.Run(async () =>
        {
            await start.Task;
            return await learner.Client.PostJsonAsync("/api/v1/users/me/password/", new ChangePasswordRequest(learner.Password, "a-new-and-longer-passphrase"));
        });
        start.SetResult();
        Assert.Equal(HttpStatusCode.NoContent, (await change).StatusCode);

        foreach (var response in await Task.WhenAll(refreshes))
        {
            if (response.StatusCode != HttpStatusCode.OK)
            {
                await response.DetailAsync(HttpStatusCode.Unauthorized);
                continue;
            }
            var pair = await response.ReadAsync<TokenPair>();
            using var client = server.CreateClient(pair.Access);
            Assert.Equal(Revoked, await (await client.GetAsync("/api/v1/users/me/")).DetailAsync(HttpStatusCode.Unauthorized));
        }
    }

    // ------------------------------------------------------------------ finding 14: deactivation

    [Fact]
    public async Task A_deactivated_users_tokens_are_refused_at_once_and_reactivation_lets_them_log_in_again()
    {
        using var admin = await server.AdminClientAsync();
        var learner = await server.RegisterAsync();

        var deactivated = await (await PatchJsonAsync(admin, $"/api/v1/users/{learner.User.Id}/", """{"is_active":false}""")).ReadAsync<UserDto>();
        Assert.False(deactivated.IsActive);

        Assert.Equal(Revoked, await (await learner.Client.GetAsync("/api/v1/users/me/")).DetailAsync(HttpStatusCode.Unauthorized));
        Assert.Equal(Revoked, await (await learner.Client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest("owasp-top-10", "lesson", ProgressStatus.InProgress, 10, null, 5, null))).DetailAsync(HttpStatusCode.Unauthorized));
        await (await RefreshAsync(learner.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);
        await (await _anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(learner.User.Email, null, learner.Password))).DetailAsync(HttpStatusCode.Unauthorized);

        var reactivated = await (await PatchJsonAsync(admin, $"/api/v1/users/{learner.User.Id}/", """{"is_active":true}""")).ReadAsync<UserDto>();
        Assert.True(reactivated.IsActive);
        // Tokens from before stay dead; a new login works.
        Assert.Equal(Revoked, await (await learner.Client.GetAsync("/api/v1/users/me/")).DetailAsync(HttpStatusCode.Unauthorized));
        var fresh = await LoginAsync(learner);
        using var client = server.CreateClient(fresh.Access);
        await (await client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
    }

    [Fact]
    public async Task Patching_a_user_takes_an_admin_a_known_user_and_is_active()
    {
        using var admin = await server.AdminClientAsync();
        var learner = await server.RegisterAsync();
        var other = await server.RegisterAsync();

        Assert.Contains("is_active is required", await (await PatchJsonAsync(admin, $"/api/v1/users/{learner.User.Id}/", "{}"))
            .DetailAsync(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        await (await PatchJsonAsync(admin, $"/api/v1/users/{learner.User.Id}/", """{"is_active":"no"}""")).DetailAsync(HttpStatusCode.BadRequest);
        await (await PatchJsonAsync(admin, "/api/v1/users/987654321/", """{"is_active":false}""")).DetailAsync(HttpStatusCode.NotFound);
        await (await PatchJsonAsync(learner.Client, $"/api/v1/users/{other.User.Id}/", """{"is_active":false}""")).DetailAsync(HttpStatusCode.Forbidden);
        await (await learner.Client.DeleteAsync($"/api/v1/users/{other.User.Id}/")).DetailAsync(HttpStatusCode.Forbidden);
        await (await _anonymous.DeleteAsync($"/api/v1/users/{other.User.Id}/")).DetailAsync(HttpStatusCode.Unauthorized);

        // None of that changed anyone.
        await (await other.Client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
        await (await learner.Client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
    }

    // ------------------------------------------------------------------ finding 14: deletion

    [Fact]
    public async Task Deleting_a_user_removes_their_data_and_their_still_valid_token_gets_401_never_500()
    {
        using var admin = await server.AdminClientAsync();
        var learner = await server.RegisterAsync();
        var owner = await server.RegisterAsync();
        var id = learner.User.Id;

        // Data of every kind: progress (with an idempotency key), memberships of an organization of their own and another's.
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/progress/")
        {
            Content = JsonContent(new CreateProgressRequest("owasp-top-10", "lesson", ProgressStatus.InProgress, 10, null, 5, null)),
        })
        {
            request.Headers.Add("Idempotency-Key", "delete-me-1");
            await (await learner.Client.SendAsync(request)).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        }
        var own = await (await learner.Client.PostJsonAsync("/api/v1/organizations/", new CreateOrganizationRequest("Mine", $"org-{Guid.NewGuid():N}"[..20], "")))
            .ReadAsync<OrganizationDto>(HttpStatusCode.Created);
        var theirs = await (await owner.Client.PostJsonAsync("/api/v1/organizations/", new CreateOrganizationRequest("Theirs", $"org-{Guid.NewGuid():N}"[..20], "")))
            .ReadAsync<OrganizationDto>(HttpStatusCode.Created);
        var joined = await (await owner.Client.PostJsonAsync($"/api/v1/organizations/{theirs.Id}/invitations/", new CreateInvitationRequest(learner.User.Email, null)))
            .ReadAsync<OrganizationInvitationDto>(HttpStatusCode.Created);
        await (await learner.Client.PostAsync($"/api/v1/organizations/invitations/{joined.Id}/accept/", null)).ReadAsync<OrganizationDto>();
        // Pending invitations: one waiting for the learner's address, one the learner sent from their own organization.
        var waiting = await (await owner.Client.PostJsonAsync($"/api/v1/organizations/{theirs.Id}/invitations/", new CreateInvitationRequest(learner.User.Email, "instructor")))
            .ReadAsync<OrganizationInvitationDto>(HttpStatusCode.Created);
        var sentByLearner = await (await learner.Client.PostJsonAsync($"/api/v1/organizations/{own.Id}/invitations/", new CreateInvitationRequest(owner.User.Email, null)))
            .ReadAsync<OrganizationInvitationDto>(HttpStatusCode.Created);

        var response = await admin.DeleteAsync($"/api/v1/users/{id}/");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);

        // The deleted user's token, signed and unexpired, gets 401 on reads and writes alike.
        Assert.Equal(Revoked, await (await learner.Client.GetAsync("/api/v1/users/me/")).DetailAsync(HttpStatusCode.Unauthorized));
        Assert.Equal(Revoked, await (await learner.Client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest("owasp-top-10-b", "lesson", ProgressStatus.InProgress, 10, null, 5, null))).DetailAsync(HttpStatusCode.Unauthorized));
        Assert.Equal(Revoked, await (await learner.Client.PatchJsonAsync("/api/v1/users/me/", new UpdateProfileRequest("x", null, null, null)))
            .DetailAsync(HttpStatusCode.Unauthorized));
        Assert.Equal(Revoked, await (await learner.Client.PostJsonAsync("/api/v1/organizations/", new CreateOrganizationRequest("Again", $"org-{Guid.NewGuid():N}"[..20], "")))
            .DetailAsync(HttpStatusCode.Unauthorized));
        await (await RefreshAsync(learner.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);
        await (await _anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(learner.User.Email, null, learner.Password))).DetailAsync(HttpStatusCode.Unauthorized);
        await (await _anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(null, learner.User.Username, learner.Password))).DetailAsync(HttpStatusCode.Unauthorized);

        // Gone for the API: 404, not listed, not addable; a second delete is 404 too.
        await (await admin.GetAsync($"/api/v1/users/{id}/")).DetailAsync(HttpStatusCode.NotFound);
        await (await admin.DeleteAsync($"/api/v1/users/{id}/")).DetailAsync(HttpStatusCode.NotFound);
        await (await PatchJsonAsync(admin, $"/api/v1/users/{id}/", """{"is_active":true}""")).DetailAsync(HttpStatusCode.NotFound);
        await (await PutJsonAsync(admin, $"/api/v1/users/{id}/roles/", """{"roles":["admin"]}""")).DetailAsync(HttpStatusCode.NotFound);
        var page = await (await admin.GetAsync("/api/v1/users/?page_size=100")).ReadAsync<PagedResponse<UserDto>>();
        Assert.DoesNotContain(page.Results, u => u.Id == id);
        // The invitation the learner sent ended with the account.
        var ownerInbox = await (await owner.Client.GetAsync("/api/v1/organizations/invitations/")).ReadAsync<List<OrganizationInvitationDto>>();
        Assert.DoesNotContain(ownerInbox, i => i.Id == sentByLearner.Id);
        await (await admin.GetAsync($"/api/v1/progress/?user={id}")).DetailAsync(HttpStatusCode.NotFound);

        // Organizations still answer; the deleted user is no member of any.
        var members = await (await owner.Client.GetAsync($"/api/v1/organizations/{theirs.Id}/members/")).ReadAsync<List<OrganizationMemberDto>>();
        Assert.DoesNotContain(members, m => m.UserId == id);
        Assert.Empty(await (await admin.GetAsync($"/api/v1/organizations/{own.Id}/members/")).ReadAsync<List<OrganizationMemberDto>>());

        // The data itself is gone, the row anonymised, and the AI service told.
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
            var caller = id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.False(await db.Progress.AnyAsync(p => p.UserId == id));
            Assert.False(await db.OrganizationMembers.AnyAsync(m => m.UserId == id));
            Assert.False(await db.RefreshTokens.AnyAsync(t => t.UserId == id));
            Assert.False(await db.IdempotencyKeys.AnyAsync(k => k.Caller == caller));
            var row = await db.Users.AsNoTracking().SingleAsync(u => u.Id == id);
            Assert.False(row.IsActive);
            Assert.DoesNotContain(learner.User.Email, row.Email, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(learner.User.Username, row.Username, StringComparison.OrdinalIgnoreCase);
            Assert.Equal("", row.FirstName + row.LastName + row.Bio + row.PasswordHash);
            // Events not yet delivered (this server sends none) stay, in order, ahead of the delete event.
            var events = await db.OutboxEvents.AsNoTracking().Where(e => e.UserId == id).OrderBy(e => e.Id).ToListAsync();
            Assert.Equal("user.deleted", events[^1].Type);
            Assert.All(events, e => Assert.Null(e.DeliveredAt));
        }

        // The address and name are free again: someone may register with them.
        using var again = server.CreateClient();
        var successor = await (await again.PostJsonAsync("/api/v1/users/", new RegisterRequest(learner.User.Email, learner.User.Username, learner.Password, "", "")))
            .ReadAsync<RegisterResponse>(HttpStatusCode.Created);
        // ... and inherits nothing: the invitation that waited for the deleted account's address ended with it.
        again.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", successor.Access);
        var inbox = await (await again.GetAsync("/api/v1/organizations/invitations/")).ReadAsync<List<OrganizationInvitationDto>>();
        Assert.DoesNotContain(inbox, i => i.Id == waiting.Id);
        Assert.Empty(inbox);
    }

    private static StringContent JsonContent<T>(T body) =>
        new(JsonSerializer.Serialize(body, CyberHubJson.Options), Encoding.UTF8, "application/json");

    // ------------------------------------------------------------------ finding 3: admin bootstrap

    [Fact]
    public async Task The_admin_bootstrap_refuses_to_promote_an_account_someone_registered_with_the_admin_address()
    {
        var squatter = await server.RegisterAsync("squatter");

        await using (var scope = server.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UsersService>();
            var refused = await Assert.ThrowsAsync<ApiException>(() => users.EnsureAdminAsync(squatter.User.Email, "operator-chosen-1", CancellationToken.None));
            Assert.Equal(409, refused.StatusCode);
            Assert.Contains("not an admin", refused.Message, StringComparison.Ordinal);
        }

        // The squatter's session goes on as a learner's: refreshing gives no admin token, and admin routes stay shut.
        var refreshed = await (await RefreshAsync(squatter.Refresh)).ReadAsync<TokenPair>();
        Assert.Equal([Roles.Learner], Claim(refreshed.Access, "roles"));
        using var client = server.CreateClient(refreshed.Access);
        await (await client.GetAsync("/api/v1/users/")).DetailAsync(HttpStatusCode.Forbidden);
        // The operator's password was not set on the account either.
        await (await _anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(squatter.User.Email, null, "operator-chosen-1"))).DetailAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_core_configured_with_a_squatted_admin_address_starts_but_promotes_no_one()
    {
        var squatter = await server.RegisterAsync("squatter");
        var data = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));
        // A second instance over the same database, with the squatted address configured as the admin's.
        var connection = server.Services.GetRequiredService<IConfiguration>().GetConnectionString("core");
        if (connection is null)
        {
            // SQLite: the same file, through the same data directory.
            data = server.Services.GetRequiredService<IConfiguration>()["CYBERHUB_DATA_DIR"]!;
        }
        await using var second = new ConfiguredCoreServer(connection, data, new Dictionary<string, string?>
        {
            ["CYBERHUB_ADMIN_EMAIL"] = squatter.User.Email,
            ["CYBERHUB_ADMIN_PASSWORD"] = "operator-chosen-1",
        });
        await second.InitializeAsync();

        using var anonymous = second.CreateClient();
        var refreshed = await (await anonymous.PostJsonAsync("/api/v1/token/refresh/", new RefreshRequest(squatter.Refresh))).ReadAsync<TokenPair>();
        Assert.Equal([Roles.Learner], Claim(refreshed.Access, "roles"));
        await (await anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(squatter.User.Email, null, "operator-chosen-1"))).DetailAsync(HttpStatusCode.Unauthorized);
        if (connection is not null && Directory.Exists(data))
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task Repairing_an_existing_admins_password_through_the_bootstrap_ends_the_admins_sessions()
    {
        using var admin = await server.AdminClientAsync();
        var (second, secondClient, pair) = await SecondAdminAsync(admin, server);

        await using (var scope = server.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UsersService>();
            // Same password again: nothing to repair, sessions go on.
            await users.EnsureAdminAsync(second.User.Email, second.Password, CancellationToken.None);
        }
        await (await secondClient.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();

        await using (var scope = server.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UsersService>();
            await users.EnsureAdminAsync(second.User.Email, "a-new-operator-password-1", CancellationToken.None);
        }
        Assert.Equal(Revoked, await (await secondClient.GetAsync("/api/v1/users/me/")).DetailAsync(HttpStatusCode.Unauthorized));
        await (await RefreshAsync(pair.Refresh)).DetailAsync(HttpStatusCode.Unauthorized);
        await (await _anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(second.User.Email, null, "a-new-operator-password-1"))).ReadAsync<TokenPair>();
    }

    [Fact]
    public async Task Changing_ones_password_also_ends_the_access_tokens_of_every_session()
    {
        var learner = await server.RegisterAsync();
        var other = await LoginAsync(learner);
        using var otherSession = server.CreateClient(other.Access);

        var response = await learner.Client.PostJsonAsync("/api/v1/users/me/password/", new ChangePasswordRequest(learner.Password, "a-brand-new-password-1"));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);

        Assert.Equal(Revoked, await (await otherSession.GetAsync("/api/v1/users/me/")).DetailAsync(HttpStatusCode.Unauthorized));
    }
}

public sealed class SqliteAccountControlTests(SqliteCoreServer server) : AccountControlTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresAccountControlTests(PostgresCoreServer server) : AccountControlTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;
