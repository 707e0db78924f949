using CyberHub.Contracts;
using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>Small things on a phone: the catalog offers only types it holds, and toasts leave the progress form usable.</summary>
[Collection(WebAppCollection.Name)]
public sealed class PolishTests(WebAppFixture app, ITestOutputHelper output)
{
    [Fact]
    public async Task The_type_filter_offers_only_types_the_catalog_holds_and_toasts_leave_the_completion_field_clear()
    {
        await using var web = await app.OpenAsync(output, nameof(The_type_filter_offers_only_types_the_catalog_holds_and_toasts_leave_the_completion_field_clear),
            new ViewportSize { Width = 375, Height = 740 });
        var page = web.Page;
        var learner = Learner.New("polish");
        var registered = await app.Api.RegisterAsync(learner);
        var lesson = (await app.Api.LessonsAsync(registered.Access))[0];
        await web.GotoAsync("/login");
        await web.LogInAsync(learner.Email, learner.Password);
        await web.ExpectAtAsync("/dashboard", "Dashboard");

        var held = new List<string>();
        foreach (var type in ContentTypes.All)
        {
            if (await app.Api.ContentCountAsync(registered.Access, type) > 0)
            {
                held.Add(type);
            }
        }
        Assert.NotEqual(ContentTypes.All.Count, held.Count);
        await web.GotoAsync("/catalog");
        var options = page.Locator("#catalog-type option:not([value=''])");
        await Assertions.Expect(options).ToHaveCountAsync(held.Count);
        Assert.Equal(held, await options.EvaluateAllAsync<string[]>("os => os.map(o => o.value)"));

        // The item page: start, then save; the confirmation toast must not lie over the field just typed in.
        await web.GotoAsync($"/content/lesson/{lesson.ContentId}");
        await web.WaitForHeadingAsync(lesson.Title);
        await page.GetByRole(AriaRole.Button, new() { Name = "Start" }).ClickAsync();
        var completion = page.GetByLabel("Completion (%)");
        await completion.FillAsync("30");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save progress" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("toast").Last).ToBeVisibleAsync();
        // Wherever the learner has scrolled the field to (low on the screen, or in the middle), the toasts leave it clear.
        foreach (var block in new[] { "end", "center" })
        {
            await completion.EvaluateAsync("(e, block) => e.scrollIntoView({ block })", block);
            var field = await completion.BoundingBoxAsync();
            Assert.NotNull(field);
            var toasts = await page.GetByTestId("toast").AllAsync();
            Assert.NotEmpty(toasts);
            foreach (var toast in toasts)
            {
                var box = await toast.BoundingBoxAsync();
                Assert.NotNull(box);
                var overlaps = box.X < field.X + field.Width && field.X < box.X + box.Width && box.Y < field.Y + field.Height && field.Y < box.Y + box.Height;
                Assert.False(overlaps, $"field scrolled to the {block}: a toast at {box.X},{box.Y} {box.Width}x{box.Height} covers the completion field at {field.X},{field.Y} {field.Width}x{field.Height}");
            }
        }
        await web.ShotAsync("toast-and-field");
    }
}
