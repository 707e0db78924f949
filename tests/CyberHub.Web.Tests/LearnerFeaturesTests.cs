using System.Net.Http.Json;
using System.Text.RegularExpressions;
using CyberHub.Contracts;
using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>
/// What learners expect of a learning platform: level, topic and length on the catalog with filters and a beginner-first
/// order, "After this" on the item page, a weekly goal, a streak and the current track on the dashboard, an account page
/// with sessions and "sign out everywhere", and a dark theme when the system asks for one.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class LearnerFeaturesTests(WebAppFixture app, ITestOutputHelper output)
{
    private const string SqlLesson = "SQL Injection Attacks and Parameterized Queries";

    [Fact]
    public async Task The_catalog_opens_beginner_first_filters_by_facets_and_the_item_page_shows_after_this()
    {
        await using var web = await app.OpenAsync(output, nameof(The_catalog_opens_beginner_first_filters_by_facets_and_the_item_page_shows_after_this),
            new() { Width = 1440, Height = 900 });
        var page = web.Page;
        var learner = Learner.New("facets");
        await app.Api.RegisterAsync(learner);
        // The AI service learns Core's signing keys on its first token; asked first here, not by the page under test.
        await app.Api.LessonsAsync((await app.Api.LoginAsync(learner.Email, learner.Password)).Access);
        await web.GotoAsync("/login");
        await web.LogInAsync(learner.Email, learner.Password);
        await Assertions.Expect(web.LogOutButton()).ToBeVisibleAsync();

        await web.NavLink("Catalog").ClickAsync();
        await web.WaitForHeadingAsync("Catalog");
        var cards = page.GetByTestId("catalog-item");
        await Assertions.Expect(cards.First).ToBeVisibleAsync();
        // Every card carries its facets, and a new learner sees beginner items first.
        Assert.Equal(await cards.CountAsync(), await page.GetByTestId("card-facets").CountAsync());
        await Assertions.Expect(cards.First.GetByTestId("card-level")).ToHaveTextAsync("Beginner");
        await Assertions.Expect(page.GetByTestId("catalog-count")).ToContainTextAsync("beginner first");
        await web.ShotAsync("catalog-1440");

        await page.GetByLabel("Level", new() { Exact = true }).SelectOptionAsync("advanced");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("level=advanced"));
        await Assertions.Expect(cards.First.GetByTestId("card-level")).ToHaveTextAsync("Advanced");
        Assert.All(await page.GetByTestId("card-level").AllTextContentsAsync(), level => Assert.Equal("Advanced", level));

        await page.GetByLabel("Topic", new() { Exact = true }).SelectOptionAsync("web-security");
        await page.GetByLabel("Length", new() { Exact = true }).SelectOptionAsync("480");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("topic=web-security"));
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("max=480"));
        await Assertions.Expect(cards.First.GetByTestId("card-topic")).ToHaveTextAsync("Web security");
        await Assertions.Expect(page.GetByLabel("Topic", new() { Exact = true })).ToHaveValueAsync("web-security");
        Assert.All(await page.GetByTestId("card-topic").AllTextContentsAsync(), topic => Assert.Equal("Web security", topic));

        // The address is the state: a reload shows the same filtered list.
        await page.ReloadAsync();
        await web.WaitForHeadingAsync("Catalog");
        await Assertions.Expect(page.GetByLabel("Level", new() { Exact = true })).ToHaveValueAsync("advanced");
        await Assertions.Expect(page.GetByLabel("Topic", new() { Exact = true })).ToHaveValueAsync("web-security");
        await Assertions.Expect(cards.First.GetByTestId("card-topic")).ToHaveTextAsync("Web security");

        await page.GetByLabel("Order", new() { Exact = true }).SelectOptionAsync("duration");
        await page.GetByLabel("Level", new() { Exact = true }).SelectOptionAsync("");
        await Assertions.Expect(page.GetByTestId("catalog-count")).ToContainTextAsync("shortest first");
        await page.SetViewportSizeAsync(375, 800);
        await web.ShotAsync("catalog-filtered-375");
        await page.SetViewportSizeAsync(1440, 900);

        // The item page: its facets, and the items that build on it with the learner's status.
        await web.GotoAsync("/content/lesson/sql-injection-and-parameterized-queries");
        await web.WaitForHeadingAsync(SqlLesson);
        var facets = page.GetByTestId("item-facets");
        await Assertions.Expect(facets).ToContainTextAsync("Intermediate");
        await Assertions.Expect(facets).ToContainTextAsync("Web security");
        var after = page.GetByTestId("after-this");
        await Assertions.Expect(after.GetByRole(AriaRole.Heading, new() { Name = "After this" })).ToBeVisibleAsync();
        await Assertions.Expect(after.GetByRole(AriaRole.Link, new() { Name = "Exploiting and Fixing SQL Injection in a Web Login Form" })).ToBeVisibleAsync();
        await Assertions.Expect(after.GetByRole(AriaRole.Link, new() { Name = "Advanced Web Application Exploitation and Defense" })).ToBeVisibleAsync();
        await Assertions.Expect(after.GetByTestId("next-status").First).ToHaveTextAsync("Not started");
        var titles = await after.GetByTestId("next-item").Locator("a").AllTextContentsAsync();
        Assert.True(titles.ToList().IndexOf("Exploiting and Fixing SQL Injection in a Web Login Form") < titles.ToList().IndexOf("Advanced Web Application Exploitation and Defense"),
            "an intermediate item comes before an advanced one");
        await web.ShotAsync("item-after-this-1440");
        await page.SetViewportSizeAsync(375, 800);
        await web.ShotAsync("item-after-this-375");
    }

    [Fact]
    public async Task The_dashboard_keeps_a_goal_streak_and_track_and_the_account_page_signs_out_everywhere()
    {
        await using var web = await app.OpenAsync(output, nameof(The_dashboard_keeps_a_goal_streak_and_track_and_the_account_page_signs_out_everywhere),
            new() { Width = 1440, Height = 900 });
        var page = web.Page;
        var learner = Learner.New("goal");
        await app.Api.RegisterAsync(learner);
        var tokens = await app.Api.LoginAsync(learner.Email, learner.Password);
        await app.Api.CreateProgressAsync(tokens.Access,
            new CreateProgressRequest("introduction-to-web-application-security", "course", ProgressStatus.Completed, 100, null, 3600, null));
        await app.Api.CreateProgressAsync(tokens.Access,
            new CreateProgressRequest("owasp-top-10-explained", "lesson", ProgressStatus.InProgress, 40, null, 600, null));

        await web.GotoAsync("/login");
        await web.LogInAsync(learner.Email, learner.Password);
        await web.WaitForHeadingAsync("Dashboard");
        var goal = page.GetByTestId("weekly-goal");
        await Assertions.Expect(goal.GetByTestId("streak-days")).ToHaveTextAsync("1");
        await Assertions.Expect(goal.GetByTestId("week-completed")).ToHaveTextAsync("1");

        // The form refuses what Core would, at the field, and saves a goal that the figures then follow.
        await goal.GetByLabel("Weekly goal (items)").FillAsync("0");
        await goal.GetByRole(AriaRole.Button, new() { Name = "Set goal" }).ClickAsync();
        await Assertions.Expect(goal.Locator("#goal-error")).ToHaveTextAsync("Enter a whole number of items from 1 to 100.");
        await goal.GetByLabel("Weekly goal (items)").FillAsync("3");
        await goal.GetByRole(AriaRole.Button, new() { Name = "Set goal" }).ClickAsync();
        await Assertions.Expect(goal.GetByTestId("week-completed")).ToHaveTextAsync("1 / 3");
        await Assertions.Expect(goal.GetByTestId("goal-status")).ToHaveTextAsync("2 to go by Sunday.");

        var track = page.GetByTestId("current-track");
        await Assertions.Expect(track.GetByRole(AriaRole.Heading, new() { Name = "Your track: Web security" })).ToBeVisibleAsync();
        await Assertions.Expect(track.Locator("[data-state=done]")).ToContainTextAsync("Introduction to Web Application Security");
        await Assertions.Expect(track.Locator("[data-state=next]", new() { HasText = "OWASP Top 10" })).ToHaveCountAsync(1);
        await web.ShotAsync("dashboard-1440");
        await page.SetViewportSizeAsync(375, 800);
        await web.ShotAsync("dashboard-375");
        await page.SetViewportSizeAsync(1440, 900);

        // The account page: profile with its rules checked at the field, sessions, and signing out everywhere.
        await web.NavLink("Account").ClickAsync();
        await web.WaitForHeadingAsync("Your account");
        await page.GetByLabel("First name").FillAsync("Grace");
        await page.GetByLabel("About you").FillAsync("Learning web security.");
        await page.GetByLabel("Picture (address of an image)").FillAsync("http://example.com/me.png");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save profile" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("field-error")).ToContainTextAsync("https://");
        await page.GetByLabel("Picture (address of an image)").FillAsync("");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save profile" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("profile-status")).ToHaveTextAsync("Profile saved.");
        var sessions = page.GetByTestId("session");
        await Assertions.Expect(sessions).ToHaveCountAsync(3); // registration and the login through the API, and this browser
        await Assertions.Expect(sessions.Filter(new() { HasText = "This browser" })).ToHaveCountAsync(1);

        await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Dark });
        var background = await page.EvaluateAsync<string>("getComputedStyle(document.documentElement).backgroundColor");
        Assert.Equal("rgb(13, 17, 23)", background);
        await web.ShotAsync("account-dark-1440");
        await page.SetViewportSizeAsync(375, 800);
        await web.ShotAsync("account-dark-375");
        await page.GoBackAsync();
        await web.WaitForHeadingAsync("Dashboard");
        await Assertions.Expect(page.GetByTestId("current-track")).ToBeVisibleAsync();
        await web.ShotAsync("dashboard-dark-375");
        await page.GoForwardAsync();
        await web.WaitForHeadingAsync("Your account");

        await page.GetByTestId("sign-out-everywhere").ClickAsync();
        await web.ExpectAtAsync("/login", "Log in");
        // The other session (the API login) ended too.
        var refused = await new HttpClient { BaseAddress = app.Platform.Core }.PostAsJsonAsync("/api/v1/token/refresh/", new RefreshRequest(tokens.Refresh), CyberHubJson.Options);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
    }
}
