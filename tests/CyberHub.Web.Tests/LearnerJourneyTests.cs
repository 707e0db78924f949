using System.Text.Json;
using System.Text.RegularExpressions;
using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>The seed's learner journey, page by page, in a real browser against the whole platform.</summary>
[Collection(WebAppCollection.Name)]
public sealed class LearnerJourneyTests(WebAppFixture app, ITestOutputHelper output)
{
    [Fact]
    public async Task Register_complete_two_lessons_then_dashboard_and_insights_show_it()
    {
        await using var web = await app.OpenAsync(output, nameof(Register_complete_two_lessons_then_dashboard_and_insights_show_it));
        var page = web.Page;
        var learner = Learner.New("journey");

        await web.RegisterAsync(learner);
        await web.ExpectAtAsync("/dashboard", "Dashboard");
        await Assertions.Expect(page.GetByTestId("completed-count")).ToHaveTextAsync("0");
        var before = await RecommendationsAsync(web);
        output.WriteLine($"recommendations before: {string.Join(" | ", before)}");
        await web.ShotAsync("dashboard-new");

        // The first lesson is picked from the catalog page.
        await web.NavLink("Catalog").ClickAsync();
        await web.ExpectAtAsync("/catalog", "Catalog");
        await Assertions.Expect(page.GetByTestId("catalog-item").First).ToBeVisibleAsync();
        await page.GetByLabel("Content type").SelectOptionAsync("lesson");
        var firstCard = page.GetByTestId("catalog-item").First;
        await Assertions.Expect(firstCard.GetByRole(AriaRole.Link).First).ToHaveAttributeAsync("href", new Regex("content/lesson/"));
        await web.ShotAsync("catalog-lessons");
        var firstLink = firstCard.GetByRole(AriaRole.Link).First;
        var firstTitle = (await firstLink.InnerTextAsync()).Trim();
        await firstLink.ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/content/lesson/[^/]+$"));
        var firstId = page.Url.Split('/')[^1];
        await web.WaitForHeadingAsync(firstTitle);
        await Assertions.Expect(page.GetByTestId("progress-status")).ToContainTextAsync("Not started");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-status")).ToContainTextAsync("In progress");
        await page.GetByRole(AriaRole.Button, new() { Name = "Mark as complete" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-status")).ToContainTextAsync("Completed");
        await web.ShotAsync("lesson-1-completed");

        // The second one by its address: started, saved part-way, then completed.
        var access = await AccessTokenAsync(web);
        var second = (await app.Api.LessonsAsync(access)).First(l => l.ContentId != firstId);
        await web.GotoAsync($"/content/lesson/{second.ContentId}");
        await web.WaitForHeadingAsync(second.Title);
        await page.GetByRole(AriaRole.Button, new() { Name = "Start" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-status")).ToContainTextAsync("In progress");
        await page.GetByLabel("Completion (%)").FillAsync("40");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save progress" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-status")).ToContainTextAsync("In progress");
        await page.GetByRole(AriaRole.Button, new() { Name = "Mark as complete" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-status")).ToContainTextAsync("Completed");
        await web.ShotAsync("lesson-2-completed");
        var progress = await app.Api.ProgressAsync(access);
        Assert.Equal(2, progress.Count(p => p.Status == CyberHub.Contracts.ProgressStatus.Completed));

        // Core tells the AI about progress through its outbox, so the new recommendations may take a moment.
        await web.NavLink("Dashboard").ClickAsync();
        await web.ExpectAtAsync("/dashboard", "Dashboard");
        await Assertions.Expect(page.GetByTestId("completed-count")).ToHaveTextAsync("2");
        var after = await RecommendationsAsync(web);
        for (var deadline = DateTime.UtcNow.AddSeconds(60); (after.Count == 0 || after.SequenceEqual(before)) && DateTime.UtcNow < deadline;)
        {
            await page.ReloadAsync();
            await Assertions.Expect(page.GetByTestId("completed-count")).ToHaveTextAsync("2");
            after = await RecommendationsAsync(web);
        }
        output.WriteLine($"recommendations after: {string.Join(" | ", after)}");
        Assert.NotEmpty(after);
        Assert.NotEqual(before, after);
        // Completed lessons are not recommended again; the reasons say what each pick builds on.
        var recommendedTitles = after.Select(text => text.Split('\n')[0].Trim()).ToList();
        Assert.DoesNotContain(firstTitle, recommendedTitles);
        Assert.DoesNotContain(second.Title, recommendedTitles);
        var reasons = await page.GetByTestId("recommendation").Locator(".reason").AllInnerTextsAsync();
        Assert.Equal(after.Count, reasons.Count);
        Assert.All(reasons, reason => Assert.False(string.IsNullOrWhiteSpace(reason), "a recommendation without its reason"));
        Assert.Contains(reasons, reason => reason.Contains(firstTitle, StringComparison.Ordinal) || reason.Contains(second.Title, StringComparison.Ordinal));
        await web.ShotAsync("dashboard-after");

        await web.NavLink("Insights").ClickAsync();
        await web.ExpectAtAsync("/insights", "Insights");
        await Assertions.Expect(page.GetByTestId("trait").First).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("insights-summary")).Not.ToBeEmptyAsync();
        await web.ShotAsync("insights");

        await web.LogOutButton().ClickAsync();
        await web.ExpectAtAsync("/login", "Log in");
        await page.GotoAsync("/dashboard");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"/login\?returnUrl=%2Fdashboard$"));
    }

    /// <summary>The dashboard's recommendation texts once it has loaded them (none is a valid answer for a new learner).</summary>
    private static async Task<IReadOnlyList<string>> RecommendationsAsync(WebSession web)
    {
        var items = web.Page.GetByTestId("recommendation");
        try
        {
            await Assertions.Expect(items.First).ToBeVisibleAsync(new() { Timeout = 5_000 });
        }
        catch (PlaywrightException)
        {
            return [];
        }
        return [.. (await items.AllInnerTextsAsync()).Select(t => t.Trim())];
    }

    private static async Task<string> AccessTokenAsync(WebSession web)
    {
        using var tokens = JsonDocument.Parse(await web.StoredTokensAsync() ?? throw new InvalidOperationException("not signed in"));
        return tokens.RootElement.GetProperty("access").GetString()!;
    }
}
