using System.Net;
using System.Text.Json;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Tests.Infrastructure;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

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

    private static async Task<OrganizationInvitationDto> InviteAsync(Learner inviter, long organizationId, string email, string? role = null)
    {
        var response = await inviter.Client.PostJsonAsync($"{Organizations}{organizationId}/invitations/", new CreateInvitationRequest(email, role));
        return await response.ReadAsync<OrganizationInvitationDto>(HttpStatusCode.Created);
    }

    /// <summary>The owner invites the learner, who accepts: the only way in.</summary>
    private static async Task AddAsync(Learner owner, long organizationId, Learner member, string? role = null)
    {
        var invitation = await InviteAsync(owner, organizationId, member.User.Email, role);
        await (await member.Client.PostAsync($"{Organizations}invitations/{invitation.Id}/accept/", null)).ReadAsync<OrganizationDto>();
    }

    private static async Task<IReadOnlyList<OrganizationInvitationDto>> InboxAsync(Learner learner) =>
        await (await learner.Client.GetAsync($"{Organizations}invitations/")).ReadAsync<IReadOnlyList<OrganizationInvitationDto>>();

    private static async Task<IReadOnlyList<OrganizationInvitationDto>> PendingAsync(HttpClient client, long organizationId) =>
        await (await client.GetAsync($"{Organizations}{organizationId}/invitations/")).ReadAsync<IReadOnlyList<OrganizationInvitationDto>>();

    private static string NewEmail() => $"nobody-{Guid.NewGuid():N}@example.com";

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
    [InlineData("PATCH", "/api/v1/organizations/1/members/1/", """{"role":"owner"}""")]
    [InlineData("DELETE", "/api/v1/organizations/1/members/1/", null)]
    [InlineData("POST", "/api/v1/organizations/1/invitations/", """{"email":"a@example.com"}""")]
    [InlineData("GET", "/api/v1/organizations/1/invitations/", null)]
    [InlineData("DELETE", "/api/v1/organizations/1/invitations/1/", null)]
    [InlineData("GET", "/api/v1/organizations/invitations/", null)]
    [InlineData("POST", "/api/v1/organizations/invitations/1/accept/", null)]
    [InlineData("POST", "/api/v1/organizations/invitations/1/decline/", null)]
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
    public async Task Members_can_read_the_organization_and_outsiders_cannot_tell_it_exists()
    {
        var owner = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var outsider = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        await AddAsync(owner, organization.Id, member);

        var seenByMember = await (await member.Client.GetAsync($"{Organizations}{organization.Id}/")).ReadAsync<OrganizationDto>();
        Assert.Equal((organization.Id, organization.Slug, OrganizationRoles.Member, 2), (seenByMember.Id, seenByMember.Slug, seenByMember.Role, seenByMember.MemberCount));

        await (await outsider.Client.GetAsync($"{Organizations}{organization.Id}/")).DetailAsync(HttpStatusCode.NotFound);
        await (await outsider.Client.GetAsync($"{Organizations}{organization.Id}/members/")).DetailAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_outsider_gets_the_answer_of_an_organization_that_does_not_exist_on_every_route()
    {
        var owner = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var outsider = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        await AddAsync(owner, organization.Id, member);
        var invitation = await InviteAsync(owner, organization.Id, NewEmail());
        // Every route under /organizations/{id}/, with what a caller would send.
        var routes = new (HttpMethod Method, string Path, string? Body)[]
        {
            (HttpMethod.Get, "", null),
            (HttpMethod.Get, "members/", null),
            (HttpMethod.Patch, $"members/{member.User.Id}/", """{"role":"owner"}"""),
            (HttpMethod.Delete, $"members/{member.User.Id}/", null),
            (HttpMethod.Post, "invitations/", $$"""{"email":"{{outsider.User.Email}}","role":"owner"}"""),
            (HttpMethod.Get, "invitations/", null),
            (HttpMethod.Delete, $"invitations/{invitation.Id}/", null),
            (HttpMethod.Get, "insights/", null),
            (HttpMethod.Get, "insights/learners/", null),
            (HttpMethod.Get, "insights/items/", null),
            (HttpMethod.Get, "insights/export.csv", null),
        };
        foreach (var (method, path, body) in routes)
        {
            async Task<string> AnswerAsync(long id)
            {
                using var request = new HttpRequestMessage(method, $"{Organizations}{id}/{path}");
                if (body is not null)
                {
                    request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
                }
                return await (await outsider.Client.SendAsync(request)).DetailAsync(HttpStatusCode.NotFound);
            }
            Assert.Equal(await AnswerAsync(UnknownId), await AnswerAsync(organization.Id));
        }
        // Nothing changed.
        Assert.Equal([owner.User.Id, member.User.Id], (await MembersAsync(owner.Client, organization.Id)).Select(m => m.UserId));
        Assert.Equal([invitation.Id], (await PendingAsync(owner.Client, organization.Id)).Select(i => i.Id));
    }

    // ------------------------------------------------------------------ GET /users/{id}/insights-access/

    [Fact]
    public async Task A_learners_insights_are_readable_by_the_owners_and_instructors_of_their_organizations_only()
    {
        var owner = await server.RegisterAsync();
        var instructor = await server.RegisterAsync();
        var learner = await server.RegisterAsync();
        var fellow = await server.RegisterAsync();
        var outsider = await server.RegisterAsync();
        var organization = await CreateAsync(owner, name: "Cohort 7");
        await AddAsync(owner, organization.Id, instructor, OrganizationRoles.Instructor);
        await AddAsync(owner, organization.Id, learner);
        await AddAsync(owner, organization.Id, fellow);
        // The outsider instructs another organization, which the learner is not in.
        await CreateAsync(outsider);
        await (await learner.Client.PostJsonAsync("/api/v1/progress/", new CreateProgressRequest("web-security-101", "course", ProgressStatus.InProgress, 40, null, 60, null)))
            .ReadAsync<ProgressDto>(HttpStatusCode.Created);
        var access = $"/api/v1/users/{learner.User.Id}/insights-access/";
        var progress = $"/api/v1/progress/?user={learner.User.Id}";
        using var admin = await server.AdminClientAsync();

        foreach (var viewer in new[] { owner, instructor })
        {
            var seen = await (await viewer.Client.GetAsync(access)).ReadAsync<LearnerAccessDto>();
            Assert.Equal((learner.User.Id, learner.User.Username), (seen.UserId, seen.Username));
            Assert.Equal([new LearnerAccessOrganization(organization.Id, "Cohort 7")], seen.Organizations);
            Assert.Equal(["web-security-101"], (await (await viewer.Client.GetAsync(progress)).ReadAsync<PagedResponse<ProgressDto>>()).Results.Select(p => p.ContentId));
        }
        Assert.Empty((await (await learner.Client.GetAsync(access)).ReadAsync<LearnerAccessDto>()).Organizations);
        Assert.Empty((await (await admin.GetAsync(access)).ReadAsync<LearnerAccessDto>()).Organizations);

        // A fellow member and an outsider: the same 404 as a learner that does not exist; the progress stays theirs.
        var unknown = await (await outsider.Client.GetAsync($"/api/v1/users/{UnknownId}/insights-access/")).DetailAsync(HttpStatusCode.NotFound);
        foreach (var viewer in new[] { fellow, outsider })
        {
            Assert.Equal(unknown, await (await viewer.Client.GetAsync(access)).DetailAsync(HttpStatusCode.NotFound));
            await (await viewer.Client.GetAsync(progress)).DetailAsync(HttpStatusCode.Forbidden);
        }
        // Members are learners; an owner does not read an instructor's insights through the organization.
        await (await owner.Client.GetAsync($"/api/v1/users/{instructor.User.Id}/insights-access/")).DetailAsync(HttpStatusCode.NotFound);

        // The learner leaves: from the next request on, the organization's instructors no longer see them.
        Assert.Equal(HttpStatusCode.NoContent, (await learner.Client.DeleteAsync($"{Organizations}{organization.Id}/members/{learner.User.Id}/")).StatusCode);
        foreach (var viewer in new[] { owner, instructor })
        {
            Assert.Equal(unknown, await (await viewer.Client.GetAsync(access)).DetailAsync(HttpStatusCode.NotFound));
            await (await viewer.Client.GetAsync(progress)).DetailAsync(HttpStatusCode.Forbidden);
        }
        // Removed by an owner is the same.
        await AddAsync(owner, organization.Id, learner);
        await (await instructor.Client.GetAsync(access)).ReadAsync<LearnerAccessDto>();
        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"{Organizations}{organization.Id}/members/{learner.User.Id}/")).StatusCode);
        await (await instructor.Client.GetAsync(access)).DetailAsync(HttpStatusCode.NotFound);
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
        await (await learner.Client.PostJsonAsync($"{Organizations}{UnknownId}/invitations/", new CreateInvitationRequest(NewEmail(), null)))
            .DetailAsync(HttpStatusCode.NotFound);
        await (await learner.Client.GetAsync($"{Organizations}{UnknownId}/invitations/")).DetailAsync(HttpStatusCode.NotFound);
        await (await learner.Client.DeleteAsync($"{Organizations}{UnknownId}/invitations/1/")).DetailAsync(HttpStatusCode.NotFound);
        await (await learner.Client.PatchJsonAsync($"{Organizations}{UnknownId}/members/{learner.User.Id}/", new ChangeMemberRoleRequest("member")))
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

    // ------------------------------------------------------------------ joining: invitations only

    [Fact]
    public async Task Nobody_can_be_added_directly()
    {
        var owner = await server.RegisterAsync();
        var victim = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        var url = $"{Organizations}{organization.Id}/members/";

        foreach (var body in new[] { $$"""{"user_id":{{victim.User.Id}}}""", $$"""{"email":"{{victim.User.Email}}","role":"owner"}""", $$"""{"user_id":{{UnknownId}}}""" })
        {
            var response = await owner.Client.SendRawAsync(HttpMethod.Post, url, body);
            await response.DetailAsync(HttpStatusCode.MethodNotAllowed);
        }
        // Nothing joined, nothing about the victim came back, and they see no organization.
        Assert.Equal([owner.User.Id], (await MembersAsync(owner.Client, organization.Id)).Select(m => m.UserId));
        Assert.Equal(0, (await (await victim.Client.GetAsync(Organizations)).ReadAsync<PagedResponse<OrganizationDto>>()).Count);
    }

    [Fact]
    public async Task An_invitation_is_answered_the_same_whether_or_not_the_email_has_an_account()
    {
        var owner = await server.RegisterAsync();
        var registered = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        await AddAsync(owner, organization.Id, member);
        var url = $"{Organizations}{organization.Id}/invitations/";

        // An account's email, an email no account holds, a member's email, the inviter's own: one shape, one status.
        var shapes = new List<string>();
        foreach (var email in new[] { registered.User.Email, NewEmail(), member.User.Email, owner.User.Email })
        {
            var response = await owner.Client.PostJsonAsync(url, new CreateInvitationRequest(email, null));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var raw = await response.Content.ReadAsStringAsync();
            using var document = JsonDocument.Parse(raw);
            shapes.Add(string.Join(",", document.RootElement.EnumerateObject().Select(p => p.Name)));
            var invitation = JsonSerializer.Deserialize<OrganizationInvitationDto>(raw, CyberHubJson.Options)!;
            Assert.Equal((organization.Id, organization.Name, email, OrganizationRoles.Member, owner.User.Username),
                (invitation.OrganizationId, invitation.OrganizationName, invitation.Email, invitation.Role, invitation.InvitedBy));
            // Nothing about an account comes back beyond the address as typed: no user id, no username but the inviter's.
            var rest = raw.Replace(email, "", StringComparison.Ordinal);
            Assert.DoesNotContain(registered.User.Username, rest, StringComparison.Ordinal);
            Assert.DoesNotContain(member.User.Username, rest, StringComparison.Ordinal);
            Assert.DoesNotContain("user", rest, StringComparison.OrdinalIgnoreCase);
        }
        Assert.Single(shapes.Distinct());
        Assert.Equal("id,organization_id,organization_name,email,role,invited_by,created_at,expires_at,consent", shapes[0]);

        // The pending list is the same shape for every address, and inviting joined nobody.
        Assert.Equal(4, (await PendingAsync(owner.Client, organization.Id)).Count);
        Assert.Equal(2, (await MembersAsync(owner.Client, organization.Id)).Count);
    }

    [Fact]
    public async Task The_invitee_sees_what_accepting_means_and_joins_with_the_role_only_by_accepting()
    {
        var owner = await server.RegisterAsync();
        var invitee = await server.RegisterAsync();
        var organization = await CreateAsync(owner, name: "Purple Team");

        // Case and spaces in the address do not matter.
        var sent = await InviteAsync(owner, organization.Id, $"  {invitee.User.Email.ToUpperInvariant()} ", OrganizationRoles.Instructor);
        Assert.Equal(sent.CreatedAt.AddDays(OrganizationInvitationRules.ExpiryDays), sent.ExpiresAt);

        // Invited is not joined: they cannot see the organization or its members yet.
        await (await invitee.Client.GetAsync($"{Organizations}{organization.Id}/")).DetailAsync(HttpStatusCode.NotFound);
        await (await invitee.Client.GetAsync($"{Organizations}{organization.Id}/members/")).DetailAsync(HttpStatusCode.NotFound);

        var inbox = Assert.Single(await InboxAsync(invitee));
        Assert.Equal((sent.Id, organization.Id, "Purple Team", OrganizationRoles.Instructor, owner.User.Username),
            (inbox.Id, inbox.OrganizationId, inbox.OrganizationName, inbox.Role, inbox.InvitedBy));
        Assert.Contains("Purple Team", inbox.Consent, StringComparison.Ordinal);
        Assert.Contains("owners and instructors will see your progress", inbox.Consent, StringComparison.Ordinal);

        var joined = await (await invitee.Client.PostAsync($"{Organizations}invitations/{sent.Id}/accept/", null)).ReadAsync<OrganizationDto>();
        Assert.Equal((organization.Id, OrganizationRoles.Instructor, 2), (joined.Id, joined.Role, joined.MemberCount));
        var members = await MembersAsync(invitee.Client, organization.Id);
        Assert.Equal(OrganizationRoles.Instructor, Assert.Single(members, m => m.UserId == invitee.User.Id).Role);

        // Answered: gone from both lists, and cannot be answered again.
        Assert.Empty(await InboxAsync(invitee));
        Assert.Empty(await PendingAsync(owner.Client, organization.Id));
        await (await invitee.Client.PostAsync($"{Organizations}invitations/{sent.Id}/accept/", null)).DetailAsync(HttpStatusCode.NotFound);
        await (await invitee.Client.PostAsync($"{Organizations}invitations/{sent.Id}/decline/", null)).DetailAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_invitation_waits_for_a_later_registration_with_that_email()
    {
        var owner = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        var name = $"later{Guid.NewGuid():N}"[..20];
        var email = $"{name}@example.com";
        var sent = await InviteAsync(owner, organization.Id, email.ToUpperInvariant());

        using var anonymous = server.CreateClient();
        var registered = await (await anonymous.PostJsonAsync("/api/v1/users/", new RegisterRequest(email, name, "a long passphrase 1", "Late", "Comer")))
            .ReadAsync<RegisterResponse>(HttpStatusCode.Created);
        using var client = server.CreateClient(registered.Access);

        var inbox = await (await client.GetAsync($"{Organizations}invitations/")).ReadAsync<IReadOnlyList<OrganizationInvitationDto>>();
        Assert.Equal([sent.Id], inbox.Select(i => i.Id));
        await (await client.PostAsync($"{Organizations}invitations/{sent.Id}/accept/", null)).ReadAsync<OrganizationDto>();
        Assert.Contains(registered.User.Id, (await MembersAsync(owner.Client, organization.Id)).Select(m => m.UserId));
    }

    [Fact]
    public async Task Only_the_invitee_can_see_accept_or_decline_and_everyone_else_gets_the_404_of_an_unknown_id()
    {
        var owner = await server.RegisterAsync();
        var invitee = await server.RegisterAsync();
        var intruder = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        var sent = await InviteAsync(owner, organization.Id, invitee.User.Email, OrganizationRoles.Owner);
        var admin = await server.AdminClientAsync();

        var unknown = await (await intruder.Client.PostAsync($"{Organizations}invitations/{UnknownId}/accept/", null)).DetailAsync(HttpStatusCode.NotFound);
        foreach (var client in new[] { intruder.Client, owner.Client, admin })
        {
            Assert.DoesNotContain(await (await client.GetAsync($"{Organizations}invitations/")).ReadAsync<IReadOnlyList<OrganizationInvitationDto>>(),
                i => i.Id == sent.Id);
            foreach (var answer in new[] { "accept", "decline" })
            {
                var detail = await (await client.PostAsync($"{Organizations}invitations/{sent.Id}/{answer}/", null)).DetailAsync(HttpStatusCode.NotFound);
                Assert.Equal(unknown, detail);
            }
        }
        Assert.Single(await MembersAsync(owner.Client, organization.Id));
        Assert.Equal([sent.Id], (await InboxAsync(invitee)).Select(i => i.Id));
    }

    [Fact]
    public async Task Declining_joins_nothing_and_ends_the_invitation()
    {
        var owner = await server.RegisterAsync();
        var invitee = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        var sent = await InviteAsync(owner, organization.Id, invitee.User.Email);

        var response = await invitee.Client.PostAsync($"{Organizations}invitations/{sent.Id}/decline/", null);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsStringAsync());

        Assert.Empty(await InboxAsync(invitee));
        Assert.Empty(await PendingAsync(owner.Client, organization.Id));
        await (await invitee.Client.PostAsync($"{Organizations}invitations/{sent.Id}/accept/", null)).DetailAsync(HttpStatusCode.NotFound);
        Assert.Single(await MembersAsync(owner.Client, organization.Id));
        // A new invitation may follow.
        await AddAsync(owner, organization.Id, invitee);
    }

    [Fact]
    public async Task Accepting_when_already_a_member_is_409_and_changes_nothing()
    {
        var owner = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        await AddAsync(owner, organization.Id, member);
        var again = await InviteAsync(owner, organization.Id, member.User.Email, OrganizationRoles.Owner);

        await (await member.Client.PostAsync($"{Organizations}invitations/{again.Id}/accept/", null)).DetailAsync(HttpStatusCode.Conflict);
        Assert.Equal(OrganizationRoles.Member, Assert.Single(await MembersAsync(owner.Client, organization.Id), m => m.UserId == member.User.Id).Role);
        // Still pending: it can be declined.
        Assert.Equal([again.Id], (await InboxAsync(member)).Select(i => i.Id));
        Assert.Equal(HttpStatusCode.NoContent, (await member.Client.PostAsync($"{Organizations}invitations/{again.Id}/decline/", null)).StatusCode);
    }

    [Fact]
    public async Task Owners_invite_any_role_instructors_only_members_and_nobody_else_invites()
    {
        var owner = await server.RegisterAsync();
        var instructor = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var outsider = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        await AddAsync(owner, organization.Id, instructor, OrganizationRoles.Instructor);
        await AddAsync(owner, organization.Id, member);
        var url = $"{Organizations}{organization.Id}/invitations/";

        foreach (var role in OrganizationRoles.All)
        {
            Assert.Equal(role, (await InviteAsync(owner, organization.Id, NewEmail(), role)).Role);
        }
        Assert.Equal(OrganizationRoles.Member, (await InviteAsync(instructor, organization.Id, NewEmail())).Role);
        foreach (var role in new[] { OrganizationRoles.Owner, OrganizationRoles.Instructor })
        {
            var detail = await (await instructor.Client.PostJsonAsync(url, new CreateInvitationRequest(NewEmail(), role))).DetailAsync(HttpStatusCode.Forbidden);
            Assert.StartsWith("role", detail, StringComparison.Ordinal);
        }
        // A member is refused; an outsider gets the answer of an organization that does not exist.
        foreach (var (caller, refused) in new[] { (member, HttpStatusCode.Forbidden), (outsider, HttpStatusCode.NotFound) })
        {
            await (await caller.Client.PostJsonAsync(url, new CreateInvitationRequest(NewEmail(), null))).DetailAsync(refused);
            await (await caller.Client.PostJsonAsync(url, new CreateInvitationRequest(caller.User.Email, OrganizationRoles.Owner))).DetailAsync(refused);
            await (await caller.Client.GetAsync(url)).DetailAsync(refused);
        }
        // Instructors see the pending list too; the refused invitations are not in it.
        Assert.Equal(4, (await PendingAsync(instructor.Client, organization.Id)).Count);
    }

    [Theory]
    [InlineData("""{}""", "email is required")]
    [InlineData("""{"email":null}""", "email is required")]
    [InlineData("""{"email":"   "}""", "email is required")]
    [InlineData("""{"email":"not-an-email"}""", "email: enter a valid email address")]
    [InlineData("""{"email":"a@b@example.com"}""", "email: enter a valid email address")]
    [InlineData("""{"email":"LONG"}""", "email: enter a valid email address")]
    [InlineData("""{"email":"ok@example.com","role":"admin"}""", "role must be one of owner, instructor, member")]
    [InlineData("""{"email":"ok@example.com","role":"Owner"}""", "role must be one of")]
    [InlineData("""{"email":"ok@example.com","role":""}""", "role must be one of")]
    [InlineData("""{"email":5}""", "Malformed JSON")]
    public async Task Bad_invitations_are_400_and_send_nothing(string json, string expected)
    {
        var owner = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        json = json.Replace("LONG", new string('a', 250) + "@example.com", StringComparison.Ordinal);

        var detail = await (await owner.Client.SendRawAsync(HttpMethod.Post, $"{Organizations}{organization.Id}/invitations/", json))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);
        Assert.Empty(await PendingAsync(owner.Client, organization.Id));
    }

    [Fact]
    public async Task A_second_invitation_to_a_pending_address_is_the_same_invitation_or_409_for_another_role()
    {
        var owner = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        var email = NewEmail();
        var url = $"{Organizations}{organization.Id}/invitations/";

        var first = await InviteAsync(owner, organization.Id, email);
        var again = await InviteAsync(owner, organization.Id, email.ToUpperInvariant(), OrganizationRoles.Member);
        Assert.Equal((first.Id, first.Email, first.CreatedAt), (again.Id, again.Email, again.CreatedAt));

        var detail = await (await owner.Client.PostJsonAsync(url, new CreateInvitationRequest(email, OrganizationRoles.Owner))).DetailAsync(HttpStatusCode.Conflict);
        Assert.Contains("already pending", detail, StringComparison.Ordinal);
        Assert.Equal([first.Id], (await PendingAsync(owner.Client, organization.Id)).Select(i => i.Id));

        // Revoked, the address may be invited again with another role.
        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"{url}{first.Id}/")).StatusCode);
        var owners = await InviteAsync(owner, organization.Id, email, OrganizationRoles.Owner);
        Assert.NotEqual(first.Id, owners.Id);
        Assert.Equal([owners.Id], (await PendingAsync(owner.Client, organization.Id)).Select(i => i.Id));
    }

    [Fact]
    public async Task Concurrent_invitations_to_one_address_make_one_invitation()
    {
        var owner = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        var email = NewEmail();

        var sent = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => InviteAsync(owner, organization.Id, email)));
        Assert.Single(sent.Select(i => i.Id).Distinct());
        Assert.Single(await PendingAsync(owner.Client, organization.Id));
    }

    [Fact]
    public async Task Owners_and_instructors_revoke_pending_invitations_and_a_revoked_one_cannot_be_accepted()
    {
        var owner = await server.RegisterAsync();
        var instructor = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var invitee = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        await AddAsync(owner, organization.Id, instructor, OrganizationRoles.Instructor);
        await AddAsync(owner, organization.Id, member);
        var url = $"{Organizations}{organization.Id}/invitations/";
        var toMember = await InviteAsync(owner, organization.Id, invitee.User.Email);
        var toOwner = await InviteAsync(owner, organization.Id, NewEmail(), OrganizationRoles.Owner);

        await (await member.Client.DeleteAsync($"{url}{toMember.Id}/")).DetailAsync(HttpStatusCode.Forbidden);
        await (await instructor.Client.DeleteAsync($"{url}{toOwner.Id}/")).DetailAsync(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.NoContent, (await instructor.Client.DeleteAsync($"{url}{toMember.Id}/")).StatusCode);
        await (await owner.Client.DeleteAsync($"{url}{toMember.Id}/")).DetailAsync(HttpStatusCode.NotFound);
        await (await owner.Client.DeleteAsync($"{url}{UnknownId}/")).DetailAsync(HttpStatusCode.NotFound);

        Assert.Empty(await InboxAsync(invitee));
        await (await invitee.Client.PostAsync($"{Organizations}invitations/{toMember.Id}/accept/", null)).DetailAsync(HttpStatusCode.NotFound);
        Assert.Equal([toOwner.Id], (await PendingAsync(owner.Client, organization.Id)).Select(i => i.Id));

        // An invitation of one organization cannot be revoked through another.
        var other = await CreateAsync(owner);
        await (await owner.Client.DeleteAsync($"{Organizations}{other.Id}/invitations/{toOwner.Id}/")).DetailAsync(HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"{url}{toOwner.Id}/")).StatusCode);
    }

    [Fact]
    public async Task An_expired_invitation_cannot_be_accepted_and_the_address_may_be_invited_again()
    {
        var owner = await server.RegisterAsync();
        var invitee = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        var sent = await InviteAsync(owner, organization.Id, invitee.User.Email);
        Assert.Equal(TimeSpan.FromDays(OrganizationInvitationRules.ExpiryDays), sent.ExpiresAt - sent.CreatedAt);

        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
            await db.OrganizationInvitations.Where(i => i.Id == sent.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(i => i.ExpiresAt, DateTime.UtcNow.AddSeconds(-1)));
        }

        Assert.Empty(await InboxAsync(invitee));
        Assert.Empty(await PendingAsync(owner.Client, organization.Id));
        await (await invitee.Client.PostAsync($"{Organizations}invitations/{sent.Id}/accept/", null)).DetailAsync(HttpStatusCode.NotFound);
        await (await owner.Client.DeleteAsync($"{Organizations}{organization.Id}/invitations/{sent.Id}/")).DetailAsync(HttpStatusCode.NotFound);
        Assert.Single(await MembersAsync(owner.Client, organization.Id));

        var renewed = await InviteAsync(owner, organization.Id, invitee.User.Email);
        Assert.NotEqual(sent.Id, renewed.Id);
        await (await invitee.Client.PostAsync($"{Organizations}invitations/{renewed.Id}/accept/", null)).ReadAsync<OrganizationDto>();
    }

    [Fact]
    public async Task An_organization_sends_a_bounded_number_of_invitations_a_day()
    {
        var owner = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        var url = $"{Organizations}{organization.Id}/invitations/";
        var first = await InviteAsync(owner, organization.Id, NewEmail());
        for (var i = 1; i < OrganizationInvitationRules.PerOrganizationPerDay; i++)
        {
            await InviteAsync(owner, organization.Id, NewEmail());
        }

        var refused = await owner.Client.PostJsonAsync(url, new CreateInvitationRequest(NewEmail(), null));
        var detail = await refused.DetailAsync(HttpStatusCode.TooManyRequests);
        Assert.Contains($"{OrganizationInvitationRules.PerOrganizationPerDay} invitations in the last 24 hours", detail, StringComparison.Ordinal);
        Assert.True(int.Parse(Assert.Single(refused.Headers.GetValues("Retry-After")), System.Globalization.CultureInfo.InvariantCulture) > 0);

        // Revoking does not give the allowance back; re-sending a pending one is no new invitation, so it still works.
        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"{url}{first.Id}/")).StatusCode);
        await (await owner.Client.PostJsonAsync(url, new CreateInvitationRequest(NewEmail(), null))).DetailAsync(HttpStatusCode.TooManyRequests);
        var pending = await PendingAsync(owner.Client, organization.Id);
        Assert.Equal(OrganizationInvitationRules.PerOrganizationPerDay - 1, pending.Count);
        Assert.Equal(pending[^1].Id, (await InviteAsync(owner, organization.Id, pending[^1].Email)).Id);

        // Another organization of the same owner has its own allowance.
        var other = await CreateAsync(owner);
        await InviteAsync(owner, other.Id, NewEmail());
    }

    [Fact]
    public async Task Service_clients_cannot_invite_or_answer()
    {
        var owner = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        var admin = await server.AdminClientAsync();
        var client = await (await admin.PostJsonAsync("/api/v1/service-clients/", new CreateServiceClientRequest("org test")))
            .ReadAsync<ServiceClientCreated>(HttpStatusCode.Created);
        using var anonymous = server.CreateClient();
        var token = await (await anonymous.PostJsonAsync("/api/v1/token/service/", new ClientCredentialsRequest(client.ClientId, client.ClientSecret)))
            .ReadAsync<ServiceTokenResponse>();
        using var service = server.CreateClient(token.Access);

        await (await service.PostJsonAsync($"{Organizations}{organization.Id}/invitations/", new CreateInvitationRequest(NewEmail(), null)))
            .DetailAsync(HttpStatusCode.Forbidden);
        await (await service.GetAsync($"{Organizations}invitations/")).DetailAsync(HttpStatusCode.Forbidden);
        await (await service.PostAsync($"{Organizations}invitations/1/accept/", null)).DetailAsync(HttpStatusCode.Forbidden);
        Assert.Empty(await PendingAsync(owner.Client, organization.Id));
    }

    // ------------------------------------------------------------------ PATCH /organizations/{id}/members/{userId}/

    [Fact]
    public async Task Owners_change_roles_and_nobody_else_does()
    {
        var owner = await server.RegisterAsync();
        var instructor = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var organization = await CreateAsync(owner);
        await AddAsync(owner, organization.Id, instructor, OrganizationRoles.Instructor);
        await AddAsync(owner, organization.Id, member);
        string Url(Learner who) => $"{Organizations}{organization.Id}/members/{who.User.Id}/";

        var changed = await (await owner.Client.PatchJsonAsync(Url(member), new ChangeMemberRoleRequest(OrganizationRoles.Instructor))).ReadAsync<OrganizationMemberDto>();
        Assert.Equal((member.User.Id, member.User.Username, OrganizationRoles.Instructor), (changed.UserId, changed.Username, changed.Role));

        // Instructors and members cannot change roles, their own included.
        await (await instructor.Client.PatchJsonAsync(Url(instructor), new ChangeMemberRoleRequest(OrganizationRoles.Owner))).DetailAsync(HttpStatusCode.Forbidden);
        await (await instructor.Client.PatchJsonAsync(Url(member), new ChangeMemberRoleRequest(OrganizationRoles.Member))).DetailAsync(HttpStatusCode.Forbidden);

        foreach (var bad in new[] { """{}""", """{"role":"admin"}""", """{"role":"OWNER"}""", """{"role":null}""" })
        {
            var detail = await (await owner.Client.SendRawAsync(HttpMethod.Patch, Url(member), bad)).DetailAsync(HttpStatusCode.BadRequest);
            Assert.StartsWith("role", detail, StringComparison.Ordinal);
        }
        var outsider = await server.RegisterAsync();
        await (await owner.Client.PatchJsonAsync(Url(outsider), new ChangeMemberRoleRequest(OrganizationRoles.Member))).DetailAsync(HttpStatusCode.NotFound);

        var members = await MembersAsync(owner.Client, organization.Id);
        Assert.Equal([(owner.User.Id, OrganizationRoles.Owner), (instructor.User.Id, OrganizationRoles.Instructor), (member.User.Id, OrganizationRoles.Instructor)],
            members.Select(m => (m.UserId, m.Role)).OrderBy(m => m.UserId));
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
        await (await member.Client.GetAsync($"{Organizations}{organization.Id}/")).DetailAsync(HttpStatusCode.NotFound);
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
        await (await member.Client.GetAsync($"{Organizations}{organization.Id}/")).DetailAsync(HttpStatusCode.NotFound);
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
        await (await outsider.Client.DeleteAsync($"{Organizations}{organization.Id}/members/{another.User.Id}/")).DetailAsync(HttpStatusCode.NotFound);
        await (await member.Client.DeleteAsync($"{Organizations}{organization.Id}/members/{owner.User.Id}/")).DetailAsync(HttpStatusCode.Forbidden);

        Assert.Equal(3, (await MembersAsync(owner.Client, organization.Id)).Count);
    }

    [Fact]
    public async Task The_last_owner_cannot_leave_be_removed_or_be_demoted()
    {
        var creator = await server.RegisterAsync();
        var member = await server.RegisterAsync();
        var organization = await CreateAsync(creator);
        await AddAsync(creator, organization.Id, member);
        var admin = await server.AdminClientAsync();
        var url = $"{Organizations}{organization.Id}/members/{creator.User.Id}/";

        var detail = await (await creator.Client.DeleteAsync(url)).DetailAsync(HttpStatusCode.Conflict);
        Assert.Contains("last owner", detail, StringComparison.Ordinal);
        await (await admin.DeleteAsync(url)).DetailAsync(HttpStatusCode.Conflict);
        await (await creator.Client.PatchJsonAsync(url, new ChangeMemberRoleRequest(OrganizationRoles.Member))).DetailAsync(HttpStatusCode.Conflict);
        await (await admin.PatchJsonAsync(url, new ChangeMemberRoleRequest(OrganizationRoles.Instructor))).DetailAsync(HttpStatusCode.Conflict);
        Assert.Equal(OrganizationRoles.Owner, (await (await creator.Client.GetAsync($"{Organizations}{organization.Id}/")).ReadAsync<OrganizationDto>()).Role);

        // With a second owner, the creator may step down and then leave.
        await (await creator.Client.PatchJsonAsync($"{Organizations}{organization.Id}/members/{member.User.Id}/", new ChangeMemberRoleRequest(OrganizationRoles.Owner)))
            .ReadAsync<OrganizationMemberDto>();
        Assert.Equal(OrganizationRoles.Member,
            (await (await creator.Client.PatchJsonAsync(url, new ChangeMemberRoleRequest(OrganizationRoles.Member))).ReadAsync<OrganizationMemberDto>()).Role);
        Assert.Equal(HttpStatusCode.NoContent, (await creator.Client.DeleteAsync(url)).StatusCode);
        Assert.Equal([(member.User.Id, OrganizationRoles.Owner)], (await MembersAsync(member.Client, organization.Id)).Select(m => (m.UserId, m.Role)));
        await (await member.Client.DeleteAsync($"{Organizations}{organization.Id}/members/{member.User.Id}/")).DetailAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Two_owners_demoting_or_removing_each_other_at_once_leave_one_owner()
    {
        for (var round = 0; round < 4; round++)
        {
            var first = await server.RegisterAsync();
            var second = await server.RegisterAsync();
            var organization = await CreateAsync(first);
            await AddAsync(first, organization.Id, second, OrganizationRoles.Owner);
            string Url(Learner who) => $"{Organizations}{organization.Id}/members/{who.User.Id}/";

            var answers = round % 2 == 0
                ? await Task.WhenAll(
                    first.Client.PatchJsonAsync(Url(second), new ChangeMemberRoleRequest(OrganizationRoles.Member)),
                    second.Client.PatchJsonAsync(Url(first), new ChangeMemberRoleRequest(OrganizationRoles.Member)))
                : await Task.WhenAll(first.Client.DeleteAsync(Url(first)), second.Client.DeleteAsync(Url(second)));

            // Exactly one wins. The other is 409 when it finds itself the last owner, or 403 when the winner demoted it
            // before it was looked at (a member changes no roles); either way one owner is left.
            Assert.Single(answers, a => a.IsSuccessStatusCode);
            Assert.Single(answers, a => a.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.Forbidden);
            var admin = await server.AdminClientAsync();
            Assert.Single(await MembersAsync(admin, organization.Id), m => m.Role == OrganizationRoles.Owner);
        }
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
