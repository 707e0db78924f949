using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>
/// The layout at a desktop and a phone width, asserted on the boxes the browser lays out: a stylesheet that loses
/// its desktop rules (an unclosed media query, say) or lets long text widen the page fails here.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class LayoutTests(WebAppFixture app, ITestOutputHelper output)
{
    /// <summary>One unbroken word longer than any screen, in a title of an ordinary length otherwise.</summary>
    private static readonly string LongTitle = "Hardening " + new string('x', 40) + string.Concat(Enumerable.Repeat("Supercalifragilistic", 8)) + " against everything";

    private static readonly string LongDescription = string.Join(' ', Enumerable.Repeat(
        "A description far longer than a catalog card should show, which the card clamps to a few lines while the item page shows it whole.", 30));

    [Theory]
    [InlineData(1440, 900)]
    [InlineData(375, 740)]
    public async Task Catalog_item_and_studio_pages_keep_their_layout(int width, int height)
    {
        var name = $"{nameof(Catalog_item_and_studio_pages_keep_their_layout)}-{width}";
        await using var web = await app.OpenAsync(output, name, new ViewportSize { Width = width, Height = height });
        var page = web.Page;
        var desktop = width >= 1000;
        var creator = await app.Api.CreateContentCreatorAsync();
        var tokens = await app.Api.LoginAsync(creator.Email, creator.Password);
        // First by id among articles (the demo catalog has none), so it is on the first page of that type.
        var contentId = $"aaa-layout-{PlatformApi.Next()}-{Guid.NewGuid().ToString("N")[..6]}";
        await app.Api.StoreItemAsync(tokens.Access, "article", contentId, LongTitle, LongDescription);

        await web.GotoAsync("/login");
        await web.LogInAsync(creator.Email, creator.Password);
        // Signed in (the phone's menu is folded, so its links are looked for in the page, not by role).
        await Assertions.Expect(page.Locator("nav a[href='studio']")).ToHaveCountAsync(1);

        // Catalog: the search form on one row at desktop width, long descriptions clamped, nothing wider than the window.
        await web.GotoAsync("/catalog?type=article");
        var card = page.GetByTestId("catalog-item").Filter(new() { Has = page.Locator($"a[href$='{contentId}']") });
        await Assertions.Expect(card).ToHaveCountAsync(1);
        await web.ShotAsync($"catalog-{width}");
        if (desktop)
        {
            var query = await BoxAsync(page.GetByLabel("Search the catalog"));
            var type = await BoxAsync(page.GetByLabel("Content type"));
            var search = await BoxAsync(page.GetByRole(AriaRole.Button, new() { Name = "Search", Exact = true }));
            Assert.True(type.X >= query.X + query.Width && search.X >= type.X + type.Width,
                $"the search form is not on one row at {width} px: query {query}, type {type}, button {search}");
            Assert.True(Math.Abs(query.Y - type.Y) < 4, $"query and type are not side by side: {query} {type}");
            Assert.True(search.Y < query.Y + query.Height && search.Y + search.Height > query.Y,
                $"the search button is not beside the fields: {search} {query}");
        }
        var description = card.Locator(".content-description");
        var lines = await description.EvaluateAsync<double>("e => e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight)");
        Assert.True(lines <= 4.5, $"a long description takes {lines:0.#} lines on its card at {width} px; it should be clamped to 4");
        var cardBox = await BoxAsync(card);
        Assert.True(cardBox.Height < 400, $"the card is {cardBox.Height:0} px tall at {width} px");
        await AssertNoHorizontalOverflowAsync(web, $"catalog at {width} px");

        // The item page: about and progress side by side on a desktop, the long title wrapped everywhere.
        await card.GetByRole(AriaRole.Link).First.ClickAsync();
        await web.WaitForHeadingAsync(LongTitle);
        await Assertions.Expect(page.GetByTestId("progress-status")).ToBeVisibleAsync();
        await web.ShotAsync($"item-{width}");
        await AssertNoHorizontalOverflowAsync(web, $"item page at {width} px");
        var about = await BoxAsync(page.Locator(".content-layout > *").First);
        var progress = await BoxAsync(page.Locator(".progress-card"));
        if (desktop)
        {
            Assert.True(progress.X >= about.X + about.Width && Math.Abs(progress.Y - about.Y) < 4,
                $"the item page is not two columns at {width} px: about {about}, progress {progress}");
        }
        else
        {
            Assert.True(progress.Y >= about.Y + about.Height, $"the item page should stack at {width} px: about {about}, progress {progress}");
        }

        // The studio: the editor beside the bulk upload and the item list on a desktop.
        await web.GotoAsync("/studio");
        await web.WaitForHeadingAsync("Content studio");
        await web.ShotAsync($"studio-{width}");
        await AssertNoHorizontalOverflowAsync(web, $"studio at {width} px");
        var editor = await BoxAsync(page.Locator(".studio-layout > *").First);
        var side = await BoxAsync(page.Locator(".studio-side"));
        if (desktop)
        {
            Assert.True(side.X >= editor.X + editor.Width && Math.Abs(side.Y - editor.Y) < 4,
                $"the studio is not two columns at {width} px: editor {editor}, side {side}");
        }
        else
        {
            Assert.True(side.Y >= editor.Y + editor.Height, $"the studio should stack at {width} px: editor {editor}, side {side}");
        }
    }

    [Theory]
    [InlineData(1440, 900)]
    [InlineData(375, 740)]
    public async Task Chart_labels_are_at_least_12_px_on_screen(int width, int height)
    {
        var name = $"{nameof(Chart_labels_are_at_least_12_px_on_screen)}-{width}";
        await using var web = await app.OpenAsync(output, name, new ViewportSize { Width = width, Height = height });
        var learner = Learner.New("charts");
        var registered = await app.Api.RegisterAsync(learner);
        foreach (var lesson in (await app.Api.LessonsAsync(registered.Access)).Take(3))
        {
            await app.Api.CreateProgressAsync(registered.Access,
                new CyberHub.Contracts.CreateProgressRequest(lesson.ContentId, "lesson", CyberHub.Contracts.ProgressStatus.Completed, 100, null, 1800, null));
        }
        await web.GotoAsync("/login");
        await web.LogInAsync(learner.Email, learner.Password);
        await web.ExpectAtAsync("/dashboard", "Dashboard");
        await AssertChartTextAsync(web, web.Page.GetByTestId("progress-chart"), $"dashboard at {width} px");
        await web.GotoAsync("/insights");
        await AssertChartTextAsync(web, web.Page.GetByTestId("trait-chart"), $"insights at {width} px");
    }

    /// <summary>Every text of an SVG chart, at the size it is drawn on screen (its font size scaled as the SVG is).</summary>
    private async Task AssertChartTextAsync(WebSession web, ILocator chart, string where)
    {
        await Assertions.Expect(chart).ToBeVisibleAsync();
        await web.ShotAsync(where);
        var sizes = await chart.EvaluateAsync<double[]>("""
            svg => {
                const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
                return [...svg.querySelectorAll('text')].map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
            }
            """);
        Assert.NotEmpty(sizes);
        output.WriteLine($"{where}: chart text from {sizes.Min():0.#} to {sizes.Max():0.#} px");
        Assert.True(sizes.Min() >= 11.95, $"{where}: chart text drawn at {sizes.Min():0.#} px");
    }

    private static async Task<Box> BoxAsync(ILocator locator)
    {
        await Assertions.Expect(locator).ToBeVisibleAsync();
        var box = await locator.BoundingBoxAsync() ?? throw new InvalidOperationException($"{locator} has no box");
        return new Box(box.X, box.Y, box.Width, box.Height);
    }

    private sealed record Box(float X, float Y, float Width, float Height)
    {
        public override string ToString() => $"({X:0},{Y:0} {Width:0}×{Height:0})";
    }

    private static async Task AssertNoHorizontalOverflowAsync(WebSession web, string where)
    {
        var widths = await web.Page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, window.innerWidth]");
        Assert.True(widths[0] <= widths[1], $"{where}: the page is {widths[0]} px wide in a {widths[1]} px window");
    }
}
