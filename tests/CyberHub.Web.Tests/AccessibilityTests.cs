using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>
/// axe-core (the engine Deque.AxeCore.Playwright bundles, run inside the page) finds nothing on any page, signed out
/// and signed in as an admin (who sees every page a learner or a content creator sees, and the admin's own), at a
/// desktop width and a phone width. Each page is also kept as a screenshot at both widths.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class AccessibilityTests(WebAppFixture app, ITestOutputHelper output)
{
    private static readonly ViewportSize[] Widths = [new() { Width = 1440, Height = 900 }, new() { Width = 375, Height = 740 }];

    [Fact]
    public async Task Every_page_passes_axe_at_1440_and_375_px()
    {
        await using var web = await app.OpenAsync(output, nameof(Every_page_passes_axe_at_1440_and_375_px));
        var page = web.Page;
        var problems = new List<string>();

        await web.GotoAsync("/register");
        await CheckAsync(web, "register", problems);
        await web.GotoAsync("/login");
        await CheckAsync(web, "login", problems);

        await web.LogInAsync(PlatformProcess.AdminEmail, PlatformProcess.AdminPassword);
        await web.ExpectAtAsync("/dashboard", "Dashboard");
        await Assertions.Expect(page.GetByTestId("recommendation").First.Or(page.GetByTestId("recommendations-error"))).ToBeVisibleAsync();
        await CheckAsync(web, "dashboard", problems);

        // Each check ends at the phone width, where the links sit behind the menu button: go by address.
        await web.GotoAsync("/catalog");
        await web.ExpectAtAsync("/catalog", "Catalog");
        await Assertions.Expect(page.GetByTestId("catalog-item").First).ToBeVisibleAsync();
        await CheckAsync(web, "catalog", problems);

        await page.GetByTestId("catalog-item").First.GetByRole(AriaRole.Link).First.ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress-status")).ToBeVisibleAsync();
        await CheckAsync(web, "content", problems);

        foreach (var (path, heading) in new[] { ("/insights", "Insights"), ("/studio", "Content studio"), ("/admin/users", "Users") })
        {
            await web.GotoAsync(path);
            await web.ExpectAtAsync(path, heading);
            await Assertions.Expect(page.Locator(".loading")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
            await CheckAsync(web, path.Trim('/').Replace('/', '-'), problems);
        }

        Assert.True(problems.Count == 0, $"axe found:\n{string.Join('\n', problems)}");
    }

    private async Task CheckAsync(WebSession web, string name, List<string> problems)
    {
        foreach (var size in Widths)
        {
            await web.Page.SetViewportSizeAsync(size.Width, size.Height);
            var results = await web.Page.RunAxe(new AxeRunOptions
            {
                RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
            });
            foreach (var violation in results.Violations)
            {
                var targets = string.Join(", ", violation.Nodes.Take(3).Select(n => n.Target?.ToString()));
                problems.Add($"{name} at {size.Width} px: {violation.Id} ({violation.Impact}) {violation.Help}: {targets}");
            }
            await web.ShotAsync($"{name}-{size.Width}");
        }
        output.WriteLine($"{name}: checked");
    }
}
