using System.Text.RegularExpressions;
using CyberHub.Contracts;
using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>
/// The AI service unreachable from the browser (every request to its origin refused, as when it is down): what
/// lives in Core still works, and the pages say what is missing and why, once.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class AiDownTests(WebAppFixture app, ITestOutputHelper output)
{
    [Fact]
    public async Task Progress_is_recorded_from_Core_alone_and_one_toast_says_the_AI_is_down()
    {
        await using var web = await app.OpenAsync(output, nameof(Progress_is_recorded_from_Core_alone_and_one_toast_says_the_AI_is_down));
        var page = web.Page;
        var learner = Learner.New("aidown");
        var registered = await app.Api.RegisterAsync(learner);
        var lesson = (await app.Api.LessonsAsync(registered.Access))[0];
        await app.Api.CreateProgressAsync(registered.Access,
            new CreateProgressRequest(lesson.ContentId, "lesson", ProgressStatus.InProgress, 30, null, 600, null));

        await AiDownAsync(web);
        await web.GotoAsync("/login");
        await web.LogInAsync(learner.Email, learner.Password);
        await web.ExpectAtAsync("/dashboard", "Dashboard");

        // Continue learning: the item is there, shown by its id, and the page says why.
        var item = page.GetByTestId("continue-item");
        await Assertions.Expect(item).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByTestId("recommendations-error")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("continue-titles-missing")).ToBeVisibleAsync();
        await AssertNoDuplicateToastsAsync(web);
        await web.ShotAsync("dashboard-ai-down");

        // The item page: what Core knows, and the progress controls.
        await item.GetByRole(AriaRole.Link).First.ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex($"/content/lesson/{Regex.Escape(lesson.ContentId)}$"));
        await web.WaitForHeadingAsync();
        await Assertions.Expect(page.GetByTestId("catalog-unavailable")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("progress-status")).ToContainTextAsync("In progress");
        await Assertions.Expect(page.GetByTestId("progress-completion")).ToHaveTextAsync("30%");
        await AssertNoDuplicateToastsAsync(web);
        await web.ShotAsync("item-ai-down");
        await page.GetByLabel("Completion (%)").FillAsync("60");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save progress" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-completion")).ToHaveTextAsync("60%");
        await page.GetByRole(AriaRole.Button, new() { Name = "Mark as complete" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-status")).ToContainTextAsync("Completed");
        var stored = (await app.Api.ProgressAsync(registered.Access)).Single(p => p.ContentId == lesson.ContentId);
        Assert.Equal(ProgressStatus.Completed, stored.Status);

        // An item never started, opened by its address: it can be started from Core alone as well.
        var other = (await app.Api.LessonsAsync(registered.Access))[1];
        await web.GotoAsync($"/content/lesson/{other.ContentId}");
        await Assertions.Expect(page.GetByTestId("catalog-unavailable")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Start" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-status")).ToContainTextAsync("In progress");
        await AssertNoDuplicateToastsAsync(web);
    }

    /// <summary>Every request to the AI service's origin is refused, as the browser sees a service that is down.</summary>
    internal static async Task AiDownAsync(WebSession web)
    {
        web.AllowConsoleError("ERR_CONNECTION_REFUSED|Failed to load resource|Failed to fetch|TypeError");
        var ai = web.Platform.Ai.GetLeftPart(UriPartial.Authority);
        await web.Page.RouteAsync($"{ai}/**", route => route.AbortAsync("connectionrefused"));
    }

    private async Task AssertNoDuplicateToastsAsync(WebSession web)
    {
        // Toasts of one failure arrive together; give the slowest a moment before counting.
        await web.Page.WaitForTimeoutAsync(1500);
        var texts = (await web.Page.GetByTestId("toast").Locator(".toast-message").AllInnerTextsAsync()).Select(t => t.Trim()).ToList();
        output.WriteLine($"toasts: {string.Join(" | ", texts)}");
        Assert.Equal(texts.Distinct().Count(), texts.Count);
    }
}
