using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>The item page and the menu driven from the keyboard: focus lands somewhere sensible, Escape closes what floats.</summary>
[Collection(WebAppCollection.Name)]
public sealed class KeyboardTests(WebAppFixture app, ITestOutputHelper output)
{
    [Fact]
    public async Task Start_and_complete_keep_the_focus_and_Escape_closes_toasts_and_the_menu()
    {
        await using var web = await app.OpenAsync(output, nameof(Start_and_complete_keep_the_focus_and_Escape_closes_toasts_and_the_menu),
            new ViewportSize { Width = 375, Height = 740 });
        var page = web.Page;
        var learner = Learner.New("keys");
        var registered = await app.Api.RegisterAsync(learner);
        var lesson = (await app.Api.LessonsAsync(registered.Access))[0];
        await web.GotoAsync("/login");
        await web.LogInAsync(learner.Email, learner.Password);
        await web.ExpectAtAsync("/dashboard", "Dashboard");

        await web.GotoAsync($"/content/lesson/{lesson.ContentId}");
        await web.WaitForHeadingAsync(lesson.Title);
        await page.GetByRole(AriaRole.Button, new() { Name = "Start" }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.GetByTestId("progress-status")).ToContainTextAsync("In progress");
        await Assertions.Expect(page.GetByLabel("Completion (%)")).ToBeFocusedAsync();

        // The confirmation toast goes with Escape.
        await Assertions.Expect(page.GetByTestId("toast")).ToHaveCountAsync(1);
        await page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(page.GetByTestId("toast")).ToHaveCountAsync(0);

        await page.GetByRole(AriaRole.Button, new() { Name = "Mark as complete" }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.GetByTestId("progress-status")).ToContainTextAsync("Completed");
        await Assertions.Expect(page.GetByTestId("progress-completed")).ToBeFocusedAsync();

        // The phone menu: opened from its button, closed by Escape, the focus back on the button.
        var toggle = web.Nav().GetByRole(AriaRole.Button, new() { Name = "Menu" });
        await toggle.ClickAsync();
        await Assertions.Expect(web.NavLink("Catalog")).ToBeVisibleAsync();
        await web.NavLink("Catalog").FocusAsync();
        await page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(web.NavLink("Catalog")).ToBeHiddenAsync();
        await Assertions.Expect(toggle).ToBeFocusedAsync();
        await Assertions.Expect(toggle).ToHaveAttributeAsync("aria-expanded", "false");
    }
}
