using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using CyberHub.Contracts;
using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>Learning paths: an author gives an item a level and prerequisites; a learner sees what to finish first.</summary>
[Collection(WebAppCollection.Name)]
public sealed class LearningPathTests(WebAppFixture app, ITestOutputHelper output)
{
    private const string SqlLesson = "SQL Injection Attacks and Parameterized Queries";

    /// <summary>A full page load: the app boots again (its runtime compiled in the browser), which takes long on a busy machine.</summary>
    private static async Task LoadAsync(WebSession web, string path)
    {
        await web.Page.GotoAsync(path, new() { Timeout = 120_000 });
        await Assertions.Expect(web.Page.Locator("h1").First).ToBeVisibleAsync(new() { Timeout = 120_000 });
    }

    [Fact]
    public async Task Author_sets_level_and_prerequisites_and_the_learner_sees_them_under_before_this()
    {
        await using var web = await app.OpenAsync(output, nameof(Author_sets_level_and_prerequisites_and_the_learner_sees_them_under_before_this));
        var page = web.Page;
        var creator = await app.Api.CreateContentCreatorAsync();
        await LoadAsync(web, "/login");
        await web.LogInAsync(creator.Email, creator.Password);
        await Assertions.Expect(web.NavLink("Studio")).ToBeVisibleAsync();
        await web.NavLink("Studio").ClickAsync();
        await web.WaitForHeadingAsync("Content studio");

        const string title = "Blind SQL Injection Against a Login Form";
        var contentId = $"blind-sqli-login-{PlatformApi.Next()}";
        await page.GetByLabel("Content type", new() { Exact = true }).SelectOptionAsync("lab");
        await page.GetByLabel("Content ID").FillAsync(contentId);
        await page.GetByLabel("Title").FillAsync(title);
        await page.GetByLabel("Description").FillAsync("Extract a password hash one bit at a time through boolean and time-based blind SQL injection.");
        await page.GetByLabel("Difficulty").SelectOptionAsync("advanced");

        var prerequisites = page.GetByLabel("Prerequisites", new() { Exact = true });
        var add = page.GetByRole(AriaRole.Button, new() { Name = "Add prerequisite" });
        // The form applies the service's rules: no unknown type, no self-reference.
        await prerequisites.FillAsync("podcast:sql-injection");
        await add.ClickAsync();
        await Assertions.Expect(page.GetByTestId("field-error")).ToContainTextAsync("'podcast' is not a content type");
        await prerequisites.FillAsync($"lab:{contentId}");
        await add.ClickAsync();
        await Assertions.Expect(page.GetByTestId("field-error")).ToContainTextAsync("may not require itself");

        await prerequisites.FillAsync("lesson:sql-injection-and-parameterized-queries");
        await add.ClickAsync();
        await prerequisites.FillAsync("course:introduction-to-web-application-security");
        await prerequisites.PressAsync("Enter");
        var chosen = page.GetByTestId("prerequisite");
        await Assertions.Expect(chosen).ToHaveCountAsync(2);
        await Assertions.Expect(chosen.First).ToContainTextAsync(SqlLesson);
        await Assertions.Expect(page.GetByTestId("field-error")).ToHaveCountAsync(0);
        await web.ShotAsync("studio-prerequisites");

        await page.GetByRole(AriaRole.Button, new() { Name = "Save item" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("item-saved")).ToBeVisibleAsync();

        // A learner who has finished the lesson but not the course.
        var learner = Learner.New("path");
        await app.Api.RegisterAsync(learner);
        var tokens = await app.Api.LoginAsync(learner.Email, learner.Password);
        using (var core = new HttpClient { BaseAddress = app.Platform.Core })
        {
            core.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.Access);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/progress/")
            {
                Content = JsonContent.Create(new CreateProgressRequest("sql-injection-and-parameterized-queries", "lesson", ProgressStatus.Completed, 100, null, 600, null),
                    options: CyberHubJson.Options),
            };
            request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
            using var response = await core.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        await web.LogOutButton().ClickAsync();
        await web.ExpectAtAsync("/login", "Log in");
        await web.LogInAsync(learner.Email, learner.Password);
        await Assertions.Expect(web.LogOutButton()).ToBeVisibleAsync();
        await Assertions.Expect(web.NavLink("Studio")).ToHaveCountAsync(0);
        await LoadAsync(web, $"/content/lab/{contentId}");
        await web.WaitForHeadingAsync(title);

        var before = page.GetByTestId("before-this");
        await Assertions.Expect(before.GetByRole(AriaRole.Heading, new() { Name = "Before this" })).ToBeVisibleAsync();
        await Assertions.Expect(before).ToContainTextAsync("1 of 2 done");
        var items = before.GetByTestId("prerequisite");
        await Assertions.Expect(items).ToHaveCountAsync(2);
        await Assertions.Expect(items.Nth(0).GetByTestId("prerequisite-status")).ToHaveTextAsync("Completed");
        await Assertions.Expect(items.Nth(1).GetByTestId("prerequisite-status")).ToHaveTextAsync("Not started");
        await Assertions.Expect(page.GetByTestId("item-facets").GetByText("Advanced", new() { Exact = true })).ToBeVisibleAsync();
        await web.ShotAsync("before-this");

        await items.Nth(0).GetByRole(AriaRole.Link, new() { Name = SqlLesson }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/content/lesson/sql-injection-and-parameterized-queries$"));
        await web.WaitForHeadingAsync(SqlLesson);
    }
}
