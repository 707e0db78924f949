using System.Net;
using System.Text.Json;
using CyberHub.Contracts;
using CyberHub.Core.Tests.Infrastructure;
using CyberHub.Testing;

namespace CyberHub.Core.Tests;

public abstract class OrganizationsTests<TServer>(TServer server) where TServer : CoreServer
{
    private const long UnknownId = 987654321;
    private const string Organizations = "/api/v1/organizations/";

    private readonly HttpClient _anonymous = server.CreateClient();

    private static string NewSlug() => $"org-{Guid.NewGuid():N}"[..20];

    private static async Task<OrganizationDto> CreateAsync(Learner owner, string? slug = null, string name = "Blue Team")
    {
        var response = await owner.Client.PostJsonAsync(Organizations, new CreateOrganizationRequest(name, slug ?? NewSlug(), "Defenders"));
        return await response.ReadAsync<OrganizationDto>(HttpStatusCode.Created);
    }

    private static async Task<OrganizationMemberDto> AddAsync(Learner owner, long organizationId, Learner member, string? role = null)
    {
        var response = await owner.Client.PostJsonAsync($"{Organizations}{organizationId}/members/", new AddMemberRequest(member.User.Id, null, role));
        return await response.ReadAsync<OrganizationMemberDto>(HttpStatusCode.Created);
    }

    private static async Task<IReadOnlyList<OrganizationMemberDto>> MembersAsync(HttpClient client, long organizationId) =>
        await (await client.GetAsync($"{Organizations}{organizationId}/members/")).ReadAsync<IReadOnlyList<OrganizationMemberDto>>();

    // ------------------------------------------------------------------ POST /organizations/

    [Fact]
    public async Task Creating_an_organization_makes_the_caller_its_owner()
    {
        var owner = await server.RegisterAsync();
        var slug = NewSlug();

        var response = await owner.Client.PostJsonAsync(Organizations, new CreateOrganizationRequest("  Red Team  ", slug, "Attackers"));
        var created = await response.ReadAsync<OrganizationDto>(HttpStatusCode.Created);

        Assert.True(created.Id > 0);
        Assert.Equal("Red Team", created.Name);
        Assert.Equal(slug, created.Slug);
        Assert.Equal("Attackers", created.Description);
        Assert.Equal(owner.User.Id, created.OwnerId);
        Assert.Equal(OrganizationRoles.Owner, created.Role);
        Assert.Equal(1, created.MemberCount);
        Assert.Equal($"/api/v1/organizations/{created.Id}/", response.Headers.Location?.OriginalString);

        var read = await (await owner.Client.GetAsync($"{Organizations}{created.Id}/")).ReadAsync<OrganizationDto>();
        Assert.Equal((created.Id, "Red Team", slug, owner.User.Id, OrganizationRoles.Owner, 1),
            (read.Id, read.Name, read.Slug, read.OwnerId, read.Role, read.MemberCount));

        var members = await MembersAsync(owner.Client, created.Id);
        var only = Assert.Single(members);
        Assert.Equal((owner.User.Id, owner.User.Username, OrganizationRoles.Owner), (only.UserId, only.Username, only.Role));
    }

    [Fact]
    public async Task The_slug_is_normalised_to_lower_case_and_duplicates_are_400_naming_the_slug()
    {
        var owner = await server.RegisterAsync();
        var other = await server.RegisterAsync();
        var slug = NewSlug();

        var created = await CreateAsync(owner, "  " + slug.ToUpperInvariant() + " ");
        Assert.Equal(slug, created.Slug);

        foreach (var duplicate in new[] { slug, slug.ToUpperInvariant() })
        {
            var detail = await (await other.Client.PostJsonAsync(Organizations, new CreateOrganizationRequest("Copy", duplicate, null)))
                .DetailAsync(HttpStatusCode.BadRequest);
            Assert.StartsWith("slug", detail, StringComparison.Ordinal);
            Assert.Contains("already exists", detail, StringComparison.Ordinal);
        }
        // The duplicates created nothing.
        var mine = await (await other.Client.GetAsync(Organizations)).ReadAsync<PagedResponse<OrganizationDto>>();
        Assert.Equal(0, mine.Count);
        Assert.Empty(mine.Results);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("under_score")]
    [InlineData("-leading")]
    [InlineData("trailing-")]
    [InlineData("double--hyphen")]
    [InlineData("dots.in.slug")]
    [InlineData("ünïcode")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    [InlineData("LONG")]
    public async Task Invalid_slugs_are_400(string? slug)
    {
        var owner = await server.RegisterAsync();
        if (slug == "LONG")
        {
            slug = new string('a', 101);
        }
        var detail = await (await owner.Client.PostJsonAsync(Organizations, new CreateOrganizationRequest("Name", slug, null)))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith("slug", detail, StringComparison.Ordinal);
        Assert.Equal(0, (await (await owner.Client.GetAsync(Organizations)).ReadAsync<PagedResponse<OrganizationDto>>()).Count);
    }

    [Fact]
    public async Task A_slug_of_exactly_100_characters_is_accepted()
    {
        var owner = await server.RegisterAsync();
        var slug = $"{Guid.NewGuid():N}{Guid.NewGuid():N}{Guid.NewGuid():N}{Guid.NewGuid():N}"[..100];
        Assert.Equal(slug, (await CreateAsync(owner, slug)).Slug);
    }

    [Theory]
    [InlineData("""{"slug":"SLUG"}""", "name is required")]
    [InlineData("""{"name":null,"slug":"SLUG"}""", "name is required")]
    [InlineData("""{"name":"","slug":"SLUG"}""", "name is required")]
    [InlineData("""{"name":"   ","slug":"SLUG"}""", "name is required")]
    [InlineData("""{"name":"Bad\u0007Name","slug":"SLUG"}""", "name: control characters are not allowed")]
    [InlineData("""{"name":5,"slug":"SLUG"}""", "Malformed JSON")]
    [InlineData("""{"name":"Fine","slug":"SLUG","description":"\u0000"}""", "description: control characters are not allowed")]
    public async Task Invalid_names_are_400_and_create_nothing(string template, string expected)
    {
        var owner = await server.RegisterAsync();
        var slug = NewSlug();

        var detail = await (await owner.Client.SendRawAsync(HttpMethod.Post, Organizations, template.Replace("SLUG", slug, StringComparison.Ordinal)))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);

        // Nothing was created: the slug is still free.
        Assert.Equal(0, (await (await owner.Client.GetAsync(Organizations)).ReadAsync<PagedResponse<OrganizationDto>>()).Count);
        Assert.Equal(slug, (await CreateAsync(owner, slug)).Slug);
    }

    [Fact]
    public async Task A_name_longer_than_200_characters_is_400()
    {
        var owner = await server.RegisterAsync();
        var detail = await (await owner.Client.PostJsonAsync(Organizations, new CreateOrganizationRequest(new string('n', 201), NewSlug(), null)))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.StartsWith("name", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST", "/api/v1/organizations/", """{"name":"x","slug":"x"}""")]
    [InlineData("GET", "/api/v1/organizations/", null)]
    [InlineData("GET", "/api/v1/organizations/1/", null)]
    [InlineData("GET", "/api/v1/organizations/1/members/", null)]
    [InlineData("POST", "/api/v1/organizations/1/members/", """{"user_id":1}""")]
    [InlineData("DELETE", "/api/v1/organizations/1/members/1/", null)]
    public async Task Without_a_token_every_organizations_endpoint_is_401(string method, string url, string? body)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }
        var detail = await (await _anonymous.SendAsync(request)).DetailAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("Authentication credentials were not provided.", detail);
    }

    // ------------------------------------------------------------------ GET /organizations/

    [Fact]
    public async Task Listing_shows_only_the_callers_organizations_in_the_paged_shape()
    {
        var alice = await server.RegisterAsync("alice");
        var bob = await server.RegisterAsync("bob");
        var first = await CreateAsync(alice, name: "Alice One");
        var second = await CreateAsync(alice, name: "Alice Two");
        var bobs = await CreateAsync(bob, name: "Bob's");

        var response = await alice.Client.GetAsync(Organizations);
        var raw = await response.Content.ReadAsStringAsync();
        var page = await response.ReadAsync<PagedResponse<OrganizationDto>>();
        using (var document = JsonDocument.Parse(raw))
        {
            Assert.Equal(["count", "next", "previous", "results"], document.RootElement.EnumerateObject().Select(p => p.Name));
        }
        Assert.Equal(2, page.Count);
        Assert.Null(page.Next);
        Assert.Null(page.Previous);
        Assert.Equal([first.Id, second.Id], page.Results.Select(o => o.Id));
        Assert.All(page.Results, o => Assert.Equal((OrganizationRoles.Owner, 1, alice.User.Id), (o.Role, o.MemberCount, o.OwnerId)));
        Assert.DoesNotContain(page.Results, o => o.Id == bobs.Id);

        // Joining Bob's organization adds it to Alice's list, with her role there and its member count.
        await AddAsync(bob, bobs.Id, alice);
        var after = await (await alice.Client.GetAsync(Organizations)).ReadAsync<PagedResponse<OrganizationDto>>();
        Assert.Equal(3, after.Count);
        var joined = Assert.Single(after.Results, o => o.Id == bobs.Id);
        Assert.Equal((OrganizationRoles.Member, 2, bob.User.Id), (joined.Role, joined.MemberCount, joined.OwnerId));

        var bobsList = await (await bob.Client.GetAsync(Organizations)).ReadAsync<PagedResponse<OrganizationDto>>();
        Assert.Equal([bobs.Id], bobsList.Results.Select(o => o.Id));
    }

    [Fact]
    public async Task Listing_is_paged_with_absolute_links()
    {
        var owner = await server.RegisterAsync();
        var created = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            created.Add((await CreateAsync(owner)).Id);
        }

        var first = await (await owner.Client.GetAsync($"{Organizations}?page_size=2")).ReadAsync<PagedResponse<OrganizationDto>>();
        Assert.Equal(3, first.Count);
        Assert.Equal(created.Take(2), first.Results.Select(o => o.Id));
        Assert.Null(first.Previous);
        Assert.NotNull(first.Next);
        Assert.StartsWith(server.BaseAddress.GetLeftPart(UriPartial.Authority) + Organizations + "?", first.Next, StringComparison.Ordinal);

        var second = await (await owner.Client.GetAsync(first.Next)).ReadAsync<PagedResponse<OrganizationDto>>();
        Assert.Equal([created[2]], second.Results.Select(o => o.Id));
        Assert.Null(second.Next);
        Assert.NotNull(second.Previous);

        await (await owner.Client.GetAsync($"{Organizations}?page_size=2&page=3")).DetailAsync(HttpStatusCode.NotFound);
        await (await owner.Client.GetAsync($"{Organizations}?page_size=0")).DetailAsync(HttpStatusCode.BadRequest);
        await (await owner.Client.GetAsync($"{Organizations}?page=0")).DetailAsync(HttpStatusCode.BadRequest);
        await (await owner.Client.GetAsync($"{Organizations}?page=x")).DetailAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_user_in_no_organization_gets_an_empty_first_page()
    {
        var loner = await server.RegisterAsync();
        var page = await (await loner.Client.GetAsync(Organizations)).ReadAsync<PagedResponse<OrganizationDto>>();
        Assert.Equal(0, page.Count);
        Assert.Empty(page.Results);
        Assert.Null(page.Next);
        Assert.Null(page.Previous);
    }

    // ------------------------------------------------------------------ GET /organizations/{id}/

    [Fact]
    public async Task Members_can_read_the_organization_and_outsiders_cannot()
    {
        var owner = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var outsider = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        await AddAsync(owner, organization.Id, member);

        var seenByMember = await (await member.Client.GetAsync($"{Organizations}{organization.Id}/")).ReadAsync<OrganizationDto>();
        Assert.Equal((organization.Id, organization.Slug, OrganizationRoles.Member, 2), (seenByMember.Id, seenByMember.Slug, seenByMember.Role, seenByMember.MemberCount));

        await (await outsider.Client.GetAsync($"{Organizations}{organization.Id}/")).DetailAsync(HttpStatusCode.Forbidden);
        await (await outsider.Client.GetAsync($"{Organizations}{organization.Id}/members/")).DetailAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task An_unknown_organization_is_404()
    {
        var learner = await server.RegisterAsync();
        var admin = await server.AdminClientAsync();

        var detail = await (await learner.Client.GetAsync($"{Organizations}{UnknownId}/")).DetailAsync(HttpStatusCode.NotFound);
        Assert.Contains("Organization not found", detail, StringComparison.Ordinal);
        await (await learner.Client.GetAsync($"{Organizations}{UnknownId}/members/")).DetailAsync(HttpStatusCode.NotFound);
        await (await admin.GetAsync($"{Organizations}{UnknownId}/")).DetailAsync(HttpStatusCode.NotFound);
        await (await learner.Client.PostJsonAsync($"{Organizations}{UnknownId}/members/", new AddMemberRequest(learner.User.Id, null, null)))
            .DetailAsync(HttpStatusCode.NotFound);
        await (await learner.Client.DeleteAsync($"{Organizations}{UnknownId}/members/{learner.User.Id}/")).DetailAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Admins_can_read_any_organization_and_its_members()
    {
        var owner = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        var admin = await server.AdminClientAsync();

        var read = await (await admin.GetAsync($"{Organizations}{organization.Id}/")).ReadAsync<OrganizationDto>();
        Assert.Equal((organization.Id, organization.Name, organization.Slug, owner.User.Id, 1), (read.Id, read.Name, read.Slug, read.OwnerId, read.MemberCount));
        Assert.Equal("", read.Role);

        var members = await MembersAsync(admin, organization.Id);
        Assert.Equal([(owner.User.Id, owner.User.Username, OrganizationRoles.Owner)], members.Select(m => (m.UserId, m.Username, m.Role)));

        // Reading does not make the admin a member.
        Assert.DoesNotContain((await (await admin.GetAsync(Organizations)).ReadAsync<PagedResponse<OrganizationDto>>()).Results,
            o => o.Id == organization.Id);
    }

    // ------------------------------------------------------------------ POST /organizations/{id}/members/

    [Fact]
    public async Task The_owner_adds_members_by_user_id_and_by_email()
    {
        var owner = await server.RegisterAsync();
        var byId = await server.RegisterAsync();
        var byEmail = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        var url = $"{Organizations}{organization.Id}/members/";

        var response = await owner.Client.PostJsonAsync(url, new AddMemberRequest(byId.User.Id, null, null));
        var added = await response.ReadAsync<OrganizationMemberDto>(HttpStatusCode.Created);
        Assert.Equal((byId.User.Id, byId.User.Username, OrganizationRoles.Member), (added.UserId, added.Username, added.Role));
        Assert.Equal($"/api/v1/organizations/{organization.Id}/members/{byId.User.Id}/", response.Headers.Location?.OriginalString);

        // Email look-up ignores case and surrounding spaces.
        var viaEmail = await (await owner.Client.PostJsonAsync(url, new AddMemberRequest(null, $"  {byEmail.User.Email.ToUpperInvariant()} ", OrganizationRoles.Owner)))
            .ReadAsync<OrganizationMemberDto>(HttpStatusCode.Created);
        Assert.Equal((byEmail.User.Id, byEmail.User.Username, OrganizationRoles.Owner), (viaEmail.UserId, viaEmail.Username, viaEmail.Role));

        var read = await (await byId.Client.GetAsync($"{Organizations}{organization.Id}/")).ReadAsync<OrganizationDto>();
        Assert.Equal(3, read.MemberCount);

        // An added owner may add members too.
        var third = await server.RegisterAsync();
        await AddAsync(byEmail, organization.Id, third);
        Assert.Equal(4, (await MembersAsync(owner.Client, organization.Id)).Count);
    }

    [Fact]
    public async Task Only_owners_add_members()
    {
        var owner = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var outsider = await server.RegisterAsync();
        var candidate = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        await AddAsync(owner, organization.Id, member);
        var url = $"{Organizations}{organization.Id}/members/";

        var detail = await (await member.Client.PostJsonAsync(url, new AddMemberRequest(candidate.User.Id, null, null))).DetailAsync(HttpStatusCode.Forbidden);
        Assert.Contains("owner", detail, StringComparison.Ordinal);
        await (await outsider.Client.PostJsonAsync(url, new AddMemberRequest(outsider.User.Id, null, null))).DetailAsync(HttpStatusCode.Forbidden);
        // A member cannot promote themself by re-adding with the owner role.
        await (await member.Client.PostJsonAsync(url, new AddMemberRequest(member.User.Id, null, OrganizationRoles.Owner))).DetailAsync(HttpStatusCode.Forbidden);

        var members = await MembersAsync(owner.Client, organization.Id);
        Assert.Equal([(owner.User.Id, OrganizationRoles.Owner), (member.User.Id, OrganizationRoles.Member)],
            members.Select(m => (m.UserId, m.Role)).OrderBy(m => m.UserId));
    }

    [Fact]
    public async Task Adding_an_existing_member_is_400()
    {
        var owner = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        await AddAsync(owner, organization.Id, member);
        var url = $"{Organizations}{organization.Id}/members/";

        var detail = await (await owner.Client.PostJsonAsync(url, new AddMemberRequest(member.User.Id, null, null))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("already a member", detail, StringComparison.Ordinal);
        await (await owner.Client.PostJsonAsync(url, new AddMemberRequest(null, member.User.Email, OrganizationRoles.Owner))).DetailAsync(HttpStatusCode.BadRequest);
        await (await owner.Client.PostJsonAsync(url, new AddMemberRequest(owner.User.Id, null, null))).DetailAsync(HttpStatusCode.BadRequest);

        // The failed re-add did not change the member's role.
        var members = await MembersAsync(owner.Client, organization.Id);
        Assert.Equal(OrganizationRoles.Member, Assert.Single(members, m => m.UserId == member.User.Id).Role);
        Assert.Equal(2, members.Count);
    }

    [Fact]
    public async Task Adding_an_unknown_user_is_404()
    {
        var owner = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        var url = $"{Organizations}{organization.Id}/members/";

        var detail = await (await owner.Client.PostJsonAsync(url, new AddMemberRequest(UnknownId, null, null))).DetailAsync(HttpStatusCode.NotFound);
        Assert.Contains("User not found", detail, StringComparison.Ordinal);
        await (await owner.Client.PostJsonAsync(url, new AddMemberRequest(null, $"nobody-{Guid.NewGuid():N}@example.com", null))).DetailAsync(HttpStatusCode.NotFound);
        Assert.Single(await MembersAsync(owner.Client, organization.Id));
    }

    [Theory]
    [InlineData("admin")]
    [InlineData("Owner")]
    [InlineData("MEMBER")]
    [InlineData("")]
    [InlineData("creator")]
    public async Task A_bad_role_is_400(string role)
    {
        var owner = await server.RegisterAsync();
        var candidate = await server.RegisterAsync();
        var organization = await CreateAsync(owner);

        var detail = await (await owner.Client.PostJsonAsync($"{Organizations}{organization.Id}/members/", new AddMemberRequest(candidate.User.Id, null, role)))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("role", detail, StringComparison.Ordinal);
        Assert.Single(await MembersAsync(owner.Client, organization.Id));
    }

    [Theory]
    [InlineData("""{}""")]
    [InlineData("""{"role":"member"}""")]
    [InlineData("""{"user_id":null,"email":null}""")]
    [InlineData("""{"email":""}""")]
    [InlineData("""{"email":"   "}""")]
    public async Task Neither_user_id_nor_email_is_400(string json)
    {
        var owner = await server.RegisterAsync();
        var organization = await CreateAsync(owner);

        var detail = await (await owner.Client.SendRawAsync(HttpMethod.Post, $"{Organizations}{organization.Id}/members/", json))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("user_id or email is required", detail, StringComparison.Ordinal);
    }

    // ------------------------------------------------------------------ GET /organizations/{id}/members/

    [Fact]
    public async Task Members_are_listed_with_usernames_and_roles()
    {
        var owner = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var coOwner = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        await AddAsync(owner, organization.Id, member);
        await AddAsync(owner, organization.Id, coOwner, OrganizationRoles.Owner);

        var expected = new[]
        {
            (owner.User.Id, owner.User.Username, OrganizationRoles.Owner),
            (member.User.Id, member.User.Username, OrganizationRoles.Member),
            (coOwner.User.Id, coOwner.User.Username, OrganizationRoles.Owner),
        }.OrderBy(m => m.Id);

        // Every member sees the same list.
        foreach (var caller in new[] { owner, member, coOwner })
        {
            var members = await MembersAsync(caller.Client, organization.Id);
            Assert.Equal(expected, members.Select(m => (m.UserId, m.Username, m.Role)).OrderBy(m => m.UserId));
            Assert.All(members, m => Assert.NotEqual(default, m.JoinedAt));
        }
        // The creator comes first: members are listed in the order they joined.
        Assert.Equal(owner.User.Id, (await MembersAsync(member.Client, organization.Id))[0].UserId);
    }

    // ------------------------------------------------------------------ DELETE /organizations/{id}/members/{userId}/

    [Fact]
    public async Task The_owner_removes_a_member()
    {
        var owner = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        await AddAsync(owner, organization.Id, member);

        var response = await owner.Client.DeleteAsync($"{Organizations}{organization.Id}/members/{member.User.Id}/");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsStringAsync());

        Assert.Equal([owner.User.Id], (await MembersAsync(owner.Client, organization.Id)).Select(m => m.UserId));
        await (await member.Client.GetAsync($"{Organizations}{organization.Id}/")).DetailAsync(HttpStatusCode.Forbidden);
        Assert.Equal(0, (await (await member.Client.GetAsync(Organizations)).ReadAsync<PagedResponse<OrganizationDto>>()).Count);
        // Removing them again: they are no longer a member.
        await (await owner.Client.DeleteAsync($"{Organizations}{organization.Id}/members/{member.User.Id}/")).DetailAsync(HttpStatusCode.NotFound);
        // They can be added back.
        await AddAsync(owner, organization.Id, member);
    }

    [Fact]
    public async Task A_member_may_leave_by_themself()
    {
        var owner = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        await AddAsync(owner, organization.Id, member);

        var response = await member.Client.DeleteAsync($"{Organizations}{organization.Id}/members/{member.User.Id}/");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);

        Assert.Equal([owner.User.Id], (await MembersAsync(owner.Client, organization.Id)).Select(m => m.UserId));
        await (await member.Client.GetAsync($"{Organizations}{organization.Id}/")).DetailAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_member_cannot_remove_another_member()
    {
        var owner = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var another = await server.RegisterAsync();
        var outsider = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        await AddAsync(owner, organization.Id, member);
        await AddAsync(owner, organization.Id, another);

        await (await member.Client.DeleteAsync($"{Organizations}{organization.Id}/members/{another.User.Id}/")).DetailAsync(HttpStatusCode.Forbidden);
        await (await outsider.Client.DeleteAsync($"{Organizations}{organization.Id}/members/{another.User.Id}/")).DetailAsync(HttpStatusCode.Forbidden);
        await (await member.Client.DeleteAsync($"{Organizations}{organization.Id}/members/{owner.User.Id}/")).DetailAsync(HttpStatusCode.Forbidden);

        Assert.Equal(3, (await MembersAsync(owner.Client, organization.Id)).Count);
    }

    [Fact]
    public async Task The_creator_cannot_be_removed_by_anyone()
    {
        var creator = await server.RegisterAsync();
        var coOwner = await server.RegisterAsync();
        var organization = await CreateAsync(creator);
        await AddAsync(creator, organization.Id, coOwner, OrganizationRoles.Owner);
        var admin = await server.AdminClientAsync();
        var url = $"{Organizations}{organization.Id}/members/{creator.User.Id}/";

        var detail = await (await creator.Client.DeleteAsync(url)).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("creator cannot be removed", detail, StringComparison.Ordinal);
        await (await coOwner.Client.DeleteAsync(url)).DetailAsync(HttpStatusCode.BadRequest);
        await (await admin.DeleteAsync(url)).DetailAsync(HttpStatusCode.BadRequest);

        var read = await (await creator.Client.GetAsync($"{Organizations}{organization.Id}/")).ReadAsync<OrganizationDto>();
        Assert.Equal((OrganizationRoles.Owner, 2), (read.Role, read.MemberCount));
    }

    [Fact]
    public async Task Removing_someone_who_is_not_a_member_is_404()
    {
        var owner = await server.RegisterAsync();
        var stranger = await server.RegisterAsync();
        var organization = await CreateAsync(owner);

        var detail = await (await owner.Client.DeleteAsync($"{Organizations}{organization.Id}/members/{stranger.User.Id}/")).DetailAsync(HttpStatusCode.NotFound);
        Assert.Contains("Member not found", detail, StringComparison.Ordinal);
        await (await owner.Client.DeleteAsync($"{Organizations}{organization.Id}/members/{UnknownId}/")).DetailAsync(HttpStatusCode.NotFound);
        Assert.Single(await MembersAsync(owner.Client, organization.Id));
    }
}

public sealed class SqliteOrganizationsTests(SqliteCoreServer server) : OrganizationsTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresOrganizationsTests(PostgresCoreServer server) : OrganizationsTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;
