using CyberHub.Contracts;
using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>The item page's progress form: what it refuses, what it stores, and the score of quizzes and labs.</summary>
[Collection(WebAppCollection.Name)]
public sealed class ProgressFormTests(WebAppFixture app, ITestOutputHelper output)
{
    [Fact]
    public async Task Empty_or_invalid_completion_is_refused_at_the_field_and_decimals_are_kept()
    {
        await using var web = await app.OpenAsync(output, nameof(Empty_or_invalid_completion_is_refused_at_the_field_and_decimals_are_kept));
        var page = web.Page;
        var learner = Learner.New("form");
        var registered = await app.Api.RegisterAsync(learner);
        var lesson = (await app.Api.LessonsAsync(registered.Access))[0];
        await web.GotoAsync("/login");
        await web.LogInAsync(learner.Email, learner.Password);
        await Assertions.Expect(web.LogOutButton()).ToBeVisibleAsync();

        await web.GotoAsync($"/content/lesson/{lesson.ContentId}");
        await web.WaitForHeadingAsync(lesson.Title);
        await page.GetByRole(AriaRole.Button, new() { Name = "Start" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-status")).ToContainTextAsync("In progress");
        var completion = page.GetByLabel("Completion (%)");
        var save = page.GetByRole(AriaRole.Button, new() { Name = "Save progress" });
        await completion.FillAsync("40");
        await save.ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-completion")).ToHaveTextAsync("40%");
        Assert.Equal(40, await StoredAsync(registered, lesson.ContentId));

        foreach (var bad in new[] { "", "   ", "1e3", "abc", "-5", "150", "50,5" })
        {
            await completion.FillAsync(bad);
            await save.ClickAsync();
            var error = page.Locator("#completion-error");
            await Assertions.Expect(error).ToBeVisibleAsync();
            output.WriteLine($"“{bad}”: {await error.InnerTextAsync()}");
            await Assertions.Expect(completion).ToHaveAttributeAsync("aria-invalid", "true");
            await Assertions.Expect(page.GetByTestId("progress-completion")).ToHaveTextAsync("40%");
            Assert.Equal(40, await StoredAsync(registered, lesson.ContentId));
        }
        await web.ShotAsync("completion-refused");

        await completion.FillAsync("50.5");
        await save.ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-completion")).ToHaveTextAsync("50.5%");
        await Assertions.Expect(page.Locator("#completion-error")).ToHaveCountAsync(0);
        Assert.Equal(50.5, await StoredAsync(registered, lesson.ContentId));

        // Time: whole minutes as typed, by the same shared rules; a bad entry changes nothing, the other fields included.
        var time = page.GetByLabel("Time spent (minutes)");
        foreach (var bad in new[] { "", "soon", "-5", "1.5" })
        {
            await completion.FillAsync("60");
            await time.FillAsync(bad);
            await save.ClickAsync();
            await Assertions.Expect(page.Locator("#time-error")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("#completion-error")).ToHaveCountAsync(0);
            output.WriteLine($"time “{bad}”: {await page.Locator("#time-error").InnerTextAsync()}");
            Assert.Equal(50.5, await StoredAsync(registered, lesson.ContentId));
        }
        await time.FillAsync("45");
        await save.ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-time")).ToHaveTextAsync("45 min 0 s");
        var stored = (await app.Api.ProgressAsync(registered.Access)).Single(p => p.ContentId == lesson.ContentId);
        Assert.Equal((60.0, 2700L), (stored.CompletionPercentage, stored.TimeSpentSeconds));
    }

    [Fact]
    public async Task A_lab_takes_a_score_and_the_dashboard_averages_it()
    {
        await using var web = await app.OpenAsync(output, nameof(A_lab_takes_a_score_and_the_dashboard_averages_it));
        var page = web.Page;
        var learner = Learner.New("score");
        var registered = await app.Api.RegisterAsync(learner);
        var lab = (await app.Api.ContentAsync(registered.Access, "lab"))[0];
        var lesson = (await app.Api.LessonsAsync(registered.Access))[0];
        await web.GotoAsync("/login");
        await web.LogInAsync(learner.Email, learner.Password);
        await Assertions.Expect(web.LogOutButton()).ToBeVisibleAsync();

        // A lesson has no score to give.
        await web.GotoAsync($"/content/lesson/{lesson.ContentId}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start" }).ClickAsync();
        await Assertions.Expect(page.GetByLabel("Completion (%)")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByLabel("Score (%)")).ToHaveCountAsync(0);

        await web.GotoAsync($"/content/lab/{lab.ContentId}");
        await web.WaitForHeadingAsync(lab.Title);
        await page.GetByRole(AriaRole.Button, new() { Name = "Start" }).ClickAsync();
        var score = page.GetByLabel("Score (%)");
        await score.FillAsync("abc");
        await page.GetByRole(AriaRole.Button, new() { Name = "Mark as complete" }).ClickAsync();
        await Assertions.Expect(page.Locator("#score-error")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("progress-status")).ToContainTextAsync("In progress");
        await score.FillAsync("85.5");
        await page.GetByRole(AriaRole.Button, new() { Name = "Mark as complete" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-status")).ToContainTextAsync("Completed");
        await Assertions.Expect(page.GetByTestId("progress-score")).ToHaveTextAsync("85.5%");
        await web.ShotAsync("lab-scored");
        var stored = (await app.Api.ProgressAsync(registered.Access)).Single(p => p.ContentId == lab.ContentId);
        Assert.Equal(85.5, stored.Score);

        await web.GotoAsync("/dashboard");
        await Assertions.Expect(page.GetByTestId("average-score")).ToHaveTextAsync("86");
    }

    private async Task<double> StoredAsync(RegisterResponse learner, string contentId) =>
        (await app.Api.ProgressAsync(learner.Access)).Single(p => p.ContentId == contentId).CompletionPercentage;
}
