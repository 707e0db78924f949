using System.Net.Http.Headers;
using System.Net.Http.Json;
using CyberHub.Contracts;
using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>
/// The instructor's flow: invite from the cohort page, the learner accepts in their inbox (having read that the
/// instructors will see their progress), works, and the instructor sees it, stuck list first, and the learner's analysis.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class CohortTests(WebAppFixture app, ITestOutputHelper output)
{
    [Theory]
    [InlineData(1440, 900)]
    [InlineData(375, 740)]
    public async Task Invite_accept_work_and_the_instructor_sees_it(int width, int height)
    {
        var viewport = new ViewportSize { Width = width, Height = height };
        var instructor = Learner.New("teacher");
        var learner = Learner.New("pupil");
        var owner = await app.Api.RegisterAsync(instructor);
        var registered = await app.Api.RegisterAsync(learner);
        var organization = await CreateOrganizationAsync(owner.Access, $"Class of {width}");
        var labs = await app.Api.ContentAsync(registered.Access, "lab");
        var lessons = await app.Api.LessonsAsync(registered.Access);

        // The instructor invites the learner from the cohort page.
        await using (var teacher = await app.OpenAsync(output, $"{nameof(Invite_accept_work_and_the_instructor_sees_it)}-{width}-invite", viewport))
        {
            await teacher.GotoAsync("/login");
            await teacher.LogInAsync(instructor.Email, instructor.Password);
            await SignedInAsync(teacher);
            await teacher.GotoAsync($"/organizations/{organization.Id}/cohort");
            await Assertions.Expect(teacher.Page.GetByRole(AriaRole.Heading, new() { Name = organization.Name, Level = 1 })).ToBeVisibleAsync();
            await Assertions.Expect(teacher.Page.GetByText("No learners yet")).ToBeVisibleAsync();
            await teacher.Page.GetByLabel("Email").FillAsync(learner.Email);
            await teacher.Page.GetByTestId("invite-send").ClickAsync();
            await Assertions.Expect(teacher.Page.GetByTestId("pending-invitations")).ToContainTextAsync(learner.Email);
        }

        // The learner reads what accepting means, and accepts.
        await using (var pupil = await app.OpenAsync(output, $"{nameof(Invite_accept_work_and_the_instructor_sees_it)}-{width}-accept", viewport))
        {
            await pupil.GotoAsync("/login");
            await pupil.LogInAsync(learner.Email, learner.Password);
            await SignedInAsync(pupil);
            await pupil.GotoAsync("/organizations");
            var invitation = pupil.Page.GetByTestId("invitation").Filter(new() { HasText = organization.Name });
            await Assertions.Expect(invitation).ToHaveCountAsync(1);
            await Assertions.Expect(invitation.GetByTestId("invitation-consent")).ToContainTextAsync("owners and instructors will see your progress");
            await pupil.ShotAsync($"organizations-inbox-{width}");
            await invitation.GetByTestId("accept-invitation").ClickAsync();
            await Assertions.Expect(pupil.Page.GetByTestId("organization").Filter(new() { HasText = organization.Name })).ToHaveCountAsync(1);
            await Assertions.Expect(pupil.Page.GetByTestId("no-invitations")).ToBeVisibleAsync();
        }

        // The learner works: a lab started (just now), a quiz completed.
        await app.Api.CreateProgressAsync(registered.Access,
            new CreateProgressRequest(labs[0].ContentId, "lab", ProgressStatus.InProgress, 30, null, 900, null));
        await app.Api.CreateProgressAsync(registered.Access,
            new CreateProgressRequest(lessons[0].ContentId, "lesson", ProgressStatus.Completed, 100, 90, 300, null));

        await using var web = await app.OpenAsync(output, $"{nameof(Invite_accept_work_and_the_instructor_sees_it)}-{width}-cohort", viewport);
        var page = web.Page;
        await web.GotoAsync("/login");
        await web.LogInAsync(instructor.Email, instructor.Password);
        await SignedInAsync(web);
        await web.GotoAsync($"/organizations/{organization.Id}/cohort");
        await Assertions.Expect(page.GetByTestId("stat-members")).ToHaveTextAsync("1");
        await Assertions.Expect(page.GetByTestId("stat-completed")).ToHaveTextAsync("1");
        // Seven idle days by default: a lab touched just now is not stuck yet.
        await Assertions.Expect(page.GetByTestId("nobody-stuck")).ToBeVisibleAsync();
        var row = page.GetByTestId("learner-row").Filter(new() { HasText = learner.Username });
        await Assertions.Expect(row).ToHaveCountAsync(1);

        // idle_days=0: every item in progress counts, and the stuck list names the lab by its title.
        await page.GetByLabel("Stuck after").SelectOptionAsync("0");
        var stuck = page.GetByTestId("stuck-item");
        await Assertions.Expect(stuck).ToHaveCountAsync(1);
        await Assertions.Expect(stuck).ToContainTextAsync("1 learner");
        await Assertions.Expect(stuck).ToContainTextAsync(labs[0].Title);
        await Assertions.Expect(stuck).ToContainTextAsync(learner.Username);
        await Assertions.Expect(page.GetByTestId("stat-stuck")).ToHaveTextAsync("1");
        await Assertions.Expect(row).ToContainTextAsync(labs[0].Title);
        var items = page.GetByTestId("item-row");
        await Assertions.Expect(items).ToHaveCountAsync(2);
        await Assertions.Expect(items.First).ToContainTextAsync(labs[0].Title);   // the most stuck first

        // The table sorts by a column on request, and says so to assistive technology.
        // The table sorts on request: by its header buttons on a wide screen, by the select above it on a phone (where
        // the header is hidden and each cell is labelled); either way the header says so to assistive technology.
        if (width >= 1000)
        {
            await page.GetByTestId("sort-completed").ClickAsync();
        }
        else
        {
            await page.GetByLabel("Sort learners by").SelectOptionAsync("-completed");
        }
        await Assertions.Expect(page.Locator("th[aria-sort='descending']")).ToContainTextAsync("Completed");

        await web.ShotAsync($"cohort-{width}");
        var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, window.innerWidth]");
        Assert.True(widths[0] <= widths[1], $"the cohort page is {widths[0]} px wide in a {widths[1]} px window");

        // The learner's name opens their personality analysis, which the AI service shows the instructor.
        await row.GetByTestId("learner-analysis").ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"How {learner.Username} learns", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("records-analyzed")).ToHaveTextAsync("2");
        await Assertions.Expect(page.GetByTestId("trait")).ToHaveCountAsync(6);
        await web.ShotAsync($"cohort-learner-{width}");
    }

    /// <summary>Signed in: the menu has the signed-in links (on a phone it is folded, so they are looked for in the page, not by role).</summary>
    private static Task SignedInAsync(WebSession web) =>
        Assertions.Expect(web.Page.Locator("nav a[href='organizations']")).ToHaveCountAsync(1, new() { Timeout = 60_000 });

    private async Task<OrganizationDto> CreateOrganizationAsync(string access, string name)
    {
        using var http = new HttpClient { BaseAddress = app.Platform.Core };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", access);
        using var response = await http.PostAsJsonAsync("/api/v1/organizations/",
            new CreateOrganizationRequest(name, $"class-{Guid.NewGuid():N}"[..20], null), CyberHubJson.Options);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<OrganizationDto>(CyberHubJson.Options))!;
    }
}
