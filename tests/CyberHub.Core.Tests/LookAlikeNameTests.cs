using System.Net;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Users;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Tests;

/// <summary>
/// Usernames are unique after NFKC, case folding and the confusable skeleton of UTS #39, so that no account can
/// pass for another (<c>аdmin</c> with a Cyrillic а beside <c>admin</c>); names and titles refuse the characters
/// that reorder what is displayed. On SQLite and PostgreSQL.
/// </summary>
public abstract class LookAlikeNameTests<TServer>(TServer server) where TServer : CoreServer
{
    private readonly HttpClient _anonymous = server.CreateClient();

    private static string Letters() => new([.. Guid.NewGuid().ToString("N").Select(c => (char)('a' + c % 26)).Take(10)]);

    private async Task<HttpResponseMessage> RegisterAsync(string username, string? firstName = null) =>
        await _anonymous.PostJsonAsync("/api/v1/users/", new RegisterRequest($"{Guid.NewGuid():N}@example.com", username, "s3cure-passphrase", firstName, null));

    private async Task<int> UsersAsync()
    {
        await using var scope = server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CoreDbContext>().Users.CountAsync();
    }

    [Theory]
    [InlineData("admin", "\u0430dmin")]            // Cyrillic а
    [InlineData("admin", "\uFF41\uFF44\uFF4D\uFF49\uFF4E")] // full-width letters
    [InlineData("admin", "adm\u0131n")]            // dotless ı
    [InlineData("admin", "adm\u0456n")]            // Cyrillic і
    [InlineData("admin", "adrnin")]                // rn for m
    [InlineData("paypal", "p\u0430yp\u0430l")]
    [InlineData("paypal", "paypa1")]              // 1 for l
    [InlineData("root", "r00t")]                  // 0 for o
    [InlineData("root", "r\u03BF\u03BFt")]        // Greek ο
    public async Task A_username_that_looks_like_a_taken_one_is_400_and_creates_nothing(string taken, string lookAlike)
    {
        var suffix = Letters();
        await (await RegisterAsync(taken + suffix)).ReadAsync<RegisterResponse>(HttpStatusCode.Created);
        var before = await UsersAsync();
        var detail = await (await RegisterAsync(lookAlike + suffix)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith("username:", detail, StringComparison.Ordinal);
        Assert.Equal(before, await UsersAsync());
        // Whichever came first: the look-alike taken first shuts out the plain name too.
        var other = Letters();
        await (await RegisterAsync(lookAlike + other)).ReadAsync<RegisterResponse>(HttpStatusCode.Created);
        await (await RegisterAsync(taken + other)).DetailAsync(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("anna", "anne")]
    [InlineData("elodie", "\u00E9lodie")]          // an accent is visible
    [InlineData("learner", "learner2")]
    public async Task Names_that_only_differ_visibly_are_both_accepted(string first, string second)
    {
        var suffix = Letters();
        await (await RegisterAsync(first + suffix)).ReadAsync<RegisterResponse>(HttpStatusCode.Created);
        await (await RegisterAsync(second + suffix)).ReadAsync<RegisterResponse>(HttpStatusCode.Created);
    }

    [Fact]
    public async Task The_admin_created_at_start_cannot_be_imitated()
    {
        var admin = CoreServer.AdminEmail.Split('@')[0];
        var detail = await (await RegisterAsync(admin.Replace('a', '\u0430'))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith("username:", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Accounts_made_before_skeletons_get_theirs_at_start_oldest_first()
    {
        var suffix = Letters();
        var older = await (await RegisterAsync("mallory" + suffix)).ReadAsync<RegisterResponse>(HttpStatusCode.Created);
        var newer = await (await RegisterAsync("eve" + suffix)).ReadAsync<RegisterResponse>(HttpStatusCode.Created);
        await using (var scope = server.Services.CreateAsyncScope())
        {
            // As an upgraded database has them: no skeletons, and a look-alike pair from before the rule.
            var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
            await db.Users.Where(u => u.Id == older.User.Id || u.Id == newer.User.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(u => u.UsernameSkeleton, (string?)null));
            await db.Users.Where(u => u.Id == newer.User.Id).ExecuteUpdateAsync(s => s
                .SetProperty(u => u.Username, "ma1lory" + suffix).SetProperty(u => u.NormalizedUsername, "ma1lory" + suffix));
            await UsersService.FillMissingSkeletonsAsync(db, CancellationToken.None);
            var skeletons = await db.Users.Where(u => u.Id == older.User.Id || u.Id == newer.User.Id)
                .OrderBy(u => u.Id).Select(u => u.UsernameSkeleton).ToListAsync();
            Assert.Equal([UsernameSkeleton.Of("mallory" + suffix), null], skeletons);
        }
        await (await RegisterAsync("rnallory" + suffix)).DetailAsync(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("first_name", "Ann\u202Eeil")]
    [InlineData("last_name", "Lee\u2066x\u2069")]
    [InlineData("first_name", "\u200FAnn")]
    [InlineData("last_name", "\u061CLee")]
    [InlineData("username", "abc\u202Dxyz")]
    public async Task Bidirectional_controls_in_registration_names_are_400(string field, string value)
    {
        var suffix = Letters();
        var request = field switch
        {
            "first_name" => new RegisterRequest($"{suffix}@example.com", suffix, "s3cure-passphrase", value, null),
            "last_name" => new RegisterRequest($"{suffix}@example.com", suffix, "s3cure-passphrase", null, value),
            _ => new RegisterRequest($"{suffix}@example.com", value + suffix, "s3cure-passphrase", null, null),
        };
        var before = await UsersAsync();
        var detail = await (await _anonymous.PostJsonAsync("/api/v1/users/", request)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith($"{field}:", detail, StringComparison.Ordinal);
        Assert.Equal(before, await UsersAsync());
    }

    [Fact]
    public async Task Bidirectional_controls_in_profile_and_organization_names_are_400_and_change_nothing()
    {
        var learner = await server.RegisterAsync();
        var me = await (await learner.Client.GetAsync("/api/v1/users/me/")).Content.ReadAsStringAsync();
        var detail = await (await learner.Client.PatchJsonAsync("/api/v1/users/me/", new UpdateProfileRequest("Ev\u202Ee", null, null, null)))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith("first_name:", detail, StringComparison.Ordinal);
        Assert.Equal(me, await (await learner.Client.GetAsync("/api/v1/users/me/")).Content.ReadAsStringAsync());

        var slug = $"bidi-{Letters()}";
        detail = await (await learner.Client.PostJsonAsync("/api/v1/organizations/", new CreateOrganizationRequest("Acme\u2067 Ltd", slug, null)))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith("name:", detail, StringComparison.Ordinal);
        detail = await (await learner.Client.PostJsonAsync("/api/v1/organizations/", new CreateOrganizationRequest("Acme", slug, "Fine\u202Bprint")))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith("description:", detail, StringComparison.Ordinal);
        Assert.DoesNotContain(slug, await (await learner.Client.GetAsync("/api/v1/organizations/?page_size=100")).Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_skeleton_folds_case_width_script_and_invisible_joiners_and_keeps_marks_in_canonical_order()
    {
        Assert.Equal(UsernameSkeleton.Of("admin"), UsernameSkeleton.Of("\u0410DM\u0399N"));   // Cyrillic А, Greek Ι
        Assert.Equal(UsernameSkeleton.Of("admin"), UsernameSkeleton.Of("ad\u00ADmin"));        // soft hyphen vanishes
        Assert.Equal("adrnin", UsernameSkeleton.Of("admin"));
        Assert.Equal(UsernameSkeleton.Of("a\u0323\u0301"), UsernameSkeleton.Of("a\u0301\u0323"));
        Assert.Equal(UsernameSkeleton.Of("\u00E1"), UsernameSkeleton.Of("a\u0301"));
        Assert.NotEqual(UsernameSkeleton.Of("elodie"), UsernameSkeleton.Of("\u00E9lodie"));
    }
}

public sealed class SqliteLookAlikeNameTests(SqliteCoreServer server) : LookAlikeNameTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresLookAlikeNameTests(PostgresCoreServer server) : LookAlikeNameTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;
