using CyberHub.Contracts;
using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>The insights page shows what the analysis does not know as unknown, never as a middling number.</summary>
[Collection(WebAppCollection.Name)]
public sealed class InsightsTests(WebAppFixture app, ITestOutputHelper output)
{
    [Fact]
    public async Task Traits_without_enough_activity_say_so_instead_of_a_score()
    {
        await using var web = await app.OpenAsync(output, nameof(Traits_without_enough_activity_say_so_instead_of_a_score));
        var page = web.Page;
        var learner = Learner.New("insights");
        var registered = await app.Api.RegisterAsync(learner);
        // One day of activity: a 60-minute lab "completed" in 12 seconds, and nothing scored.
        var lab = (await app.Api.ContentAsync(registered.Access, "lab"))[0];
        await app.Api.CreateProgressAsync(registered.Access, new CreateProgressRequest(lab.ContentId, "lab", ProgressStatus.Completed, 100, null, 12, null));

        await web.GotoAsync("/login");
        await web.LogInAsync(learner.Email, learner.Password);
        await Assertions.Expect(web.LogOutButton()).ToBeVisibleAsync();
        await web.GotoAsync("/insights");
        await Assertions.Expect(page.GetByTestId("trait").First).ToBeVisibleAsync();
        await web.ShotAsync("insights-thin");

        foreach (var name in new[] { "Achievement", "Consistency", "Learning Pace" })
        {
            var trait = page.GetByTestId("trait").Filter(new() { Has = page.GetByRole(AriaRole.Heading, new() { Name = name }) });
            await Assertions.Expect(trait).ToHaveCountAsync(1);
            await Assertions.Expect(trait.GetByRole(AriaRole.Heading)).ToContainTextAsync("not enough activity yet", new() { IgnoreCase = true });
            await Assertions.Expect(trait.GetByRole(AriaRole.Heading)).Not.ToContainTextAsync("%");
        }
        var chart = await page.GetByTestId("trait-chart").GetAttributeAsync("aria-label") ?? "";
        output.WriteLine(chart);
        Assert.DoesNotContain("Achievement 50%", chart, StringComparison.Ordinal);
        Assert.DoesNotContain("Consistency 50%", chart, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"Learning Pace \d", chart);
    }
}
