using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>
/// axe-core (the engine Deque.AxeCore.Playwright bundles, run inside the page) finds nothing on any page, at a
/// desktop width and a phone width, for each role separately, since each sees pages and states the others do not:
/// signed out and as a learner with progress (the forms with their errors shown too), as a content creator (the
/// studio, editing an item), as an admin (the users). Each page is also kept as a screenshot at both widths.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class AccessibilityTests(WebAppFixture app, ITestOutputHelper output)
{
    [Fact]
    public async Task Signed_out_and_learner_pages_pass_axe_at_1440_and_375_px()
    {
        await using var web = await app.OpenAsync(output, nameof(Signed_out_and_learner_pages_pass_axe_at_1440_and_375_px));
        var page = web.Page;
        var problems = new List<string>();
        var learner = Learner.New("axe");
        var registered = await app.Api.RegisterAsync(learner);
        var lesson = (await app.Api.LessonsAsync(registered.Access))[0];
        await app.Api.CreateProgressAsync(registered.Access,
            new CyberHub.Contracts.CreateProgressRequest(lesson.ContentId, lesson.ContentType, CyberHub.Contracts.ProgressStatus.InProgress, 30, null, 600, null));

        await web.GotoAsync("/register");
        await web.WaitForHeadingAsync("Create your account");
        await web.CheckAxeAsync("register", problems);
        await web.GotoAsync("/login");
        await web.WaitForHeadingAsync("Log in");
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("field-error")).ToHaveCountAsync(2);
        await web.CheckAxeAsync("login-refused", problems);

        await web.LogInAsync(learner.Email, learner.Password);
        await web.ExpectAtAsync("/dashboard", "Dashboard");
        await Assertions.Expect(page.GetByTestId("continue-item")).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByTestId("recommendation").First.Or(page.GetByTestId("recommendations-error"))).ToBeVisibleAsync();
        await web.CheckAxeAsync("dashboard", problems);

        // Each check ends at the phone width, where the links sit behind the menu button: go by address.
        await web.GotoAsync("/catalog");
        await web.ExpectAtAsync("/catalog", "Catalog");
        await Assertions.Expect(page.GetByTestId("catalog-item").First).ToBeVisibleAsync();
        await web.CheckAxeAsync("catalog", problems);

        // The item in progress, its form refusing what it cannot store.
        await web.GotoAsync($"/content/lesson/{lesson.ContentId}");
        await web.WaitForHeadingAsync(lesson.Title);
        await page.GetByLabel("Completion (%)").FillAsync("");
        await page.GetByLabel("Time spent (minutes)").FillAsync("soon");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save progress" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("field-error")).ToHaveCountAsync(2);
        await web.CheckAxeAsync("content", problems);

        foreach (var (path, heading) in new[] { ("/insights", "Insights"), ("/account", "Your account") })
        {
            await web.GotoAsync(path);
            await web.ExpectAtAsync(path, heading);
            await Assertions.Expect(page.Locator(".loading")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
            await web.CheckAxeAsync(path.Trim('/').Replace('/', '-'), problems);
        }

        Assert.True(problems.Count == 0, $"axe found:\n{string.Join('\n', problems)}");
    }

    [Fact]
    public async Task Content_creator_pages_pass_axe_at_1440_and_375_px()
    {
        await using var web = await app.OpenAsync(output, nameof(Content_creator_pages_pass_axe_at_1440_and_375_px));
        var page = web.Page;
        var problems = new List<string>();
        var creator = await app.Api.CreateContentCreatorAsync();
        var tokens = await app.Api.LoginAsync(creator.Email, creator.Password);
        var lesson = (await app.Api.LessonsAsync(tokens.Access))[0];

        await web.GotoAsync("/login");
        await web.LogInAsync(creator.Email, creator.Password);
        await web.ExpectAtAsync("/dashboard", "Dashboard");

        await web.GotoAsync("/studio");
        await web.ExpectAtAsync("/studio", "Content studio");
        await Assertions.Expect(page.Locator(".loading")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        await web.CheckAxeAsync("studio", problems);

        // An item opened for editing.
        await web.GotoAsync($"/studio?type=lesson&id={Uri.EscapeDataString(lesson.ContentId)}");
        await web.WaitForHeadingAsync("Content studio");
        await Assertions.Expect(page.Locator(".loading")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        await web.CheckAxeAsync("studio-edit", problems);

        Assert.True(problems.Count == 0, $"axe found:\n{string.Join('\n', problems)}");
    }

    [Fact]
    public async Task Admin_pages_pass_axe_at_1440_and_375_px()
    {
        await using var web = await app.OpenAsync(output, nameof(Admin_pages_pass_axe_at_1440_and_375_px));
        var problems = new List<string>();
        await web.GotoAsync("/login");
        await web.LogInAsync(PlatformProcess.AdminEmail, PlatformProcess.AdminPassword);
        await web.ExpectAtAsync("/dashboard", "Dashboard");
        await web.GotoAsync("/admin/users");
        await web.ExpectAtAsync("/admin/users", "Users");
        await Assertions.Expect(web.Page.Locator(".loading")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        await web.CheckAxeAsync("admin-users", problems);
        Assert.True(problems.Count == 0, $"axe found:\n{string.Join('\n', problems)}");
    }
}
