using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace CyberHub.Web.Tests.Infrastructure;

public sealed partial class WebSession
{
    /// <summary>The widths every page is held to: a laptop's and a phone's.</summary>
    public static readonly ViewportSize[] Widths = [new() { Width = 1440, Height = 900 }, new() { Width = 375, Height = 740 }];

    /// <summary>
    /// Runs axe-core (the engine Deque.AxeCore.Playwright bundles, inside the page) on the page as it is, at each of
    /// <see cref="Widths"/> (WCAG 2.1 A and AA and best practice), adds what it finds to <paramref name="problems"/>
    /// and keeps a screenshot at each width named after <paramref name="name"/>.
    /// </summary>
    public async Task CheckAxeAsync(string name, List<string> problems)
    {
        foreach (var size in Widths)
        {
            await Page.SetViewportSizeAsync(size.Width, size.Height);
            var results = await Page.RunAxe(new AxeRunOptions
            {
                RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
            });
            foreach (var violation in results.Violations)
            {
                var targets = string.Join(", ", violation.Nodes.Take(3).Select(n => n.Target?.ToString()));
                problems.Add($"{name} at {size.Width} px: {violation.Id} ({violation.Impact}) {violation.Help}: {targets}");
            }
            await ShotAsync($"{name}-{size.Width}");
        }
        _output.WriteLine($"{name}: checked");
    }
}
