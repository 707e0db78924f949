using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>
/// Forms check themselves in the browser with the services' own rules (Contracts' FieldRules): every problem at once,
/// each at its field, in plain words, and nothing is sent until they are fixed.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed partial class FormValidationTests(WebAppFixture app, ITestOutputHelper output)
{
    [Fact]
    public async Task Register_and_login_show_every_problem_at_its_field_before_sending()
    {
        await using var web = await app.OpenAsync(output, nameof(Register_and_login_show_every_problem_at_its_field_before_sending));
        var page = web.Page;
        var posts = Watch(page);

        await web.GotoAsync("/register");
        await page.GetByLabel("Email", new() { Exact = true }).FillAsync("not-an-email");
        await page.GetByLabel("Username").FillAsync("a");
        await page.GetByLabel("Password").FillAsync("12345");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();

        await Assertions.Expect(page.GetByTestId("field-error")).ToHaveCountAsync(3);
        await ExpectErrorAtAsync(page, "email", "Enter a valid email address.");
        await ExpectErrorAtAsync(page, "username", "3 to 150 characters: letters, digits and @ . + - _ only.");
        await ExpectErrorAtAsync(page, "password", "This password is too short; it must contain at least 8 characters.");
        await Assertions.Expect(page.Locator("#email")).ToHaveAttributeAsync("aria-invalid", "true");
        await web.ShotAsync("register-invalid");

        // Fixing one field leaves the others reported, still without a request.
        await page.GetByLabel("Email", new() { Exact = true }).FillAsync("fine@example.com");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("field-error")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#email-error")).ToHaveCountAsync(0);

        await web.GotoAsync("/login");
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in", Exact = true }).ClickAsync();
        await ExpectErrorAtAsync(page, "login", "Enter your email address or username.");
        await ExpectErrorAtAsync(page, "password", "Enter your password.");
        await web.ShotAsync("login-empty");

        Assert.Empty(posts);
        foreach (var text in await page.GetByTestId("field-error").AllInnerTextsAsync())
        {
            Assert.DoesNotMatch(RawFieldName(), text);
        }
    }

    [Fact]
    public async Task The_studio_item_form_reports_type_id_and_title_together_in_plain_words()
    {
        await using var web = await app.OpenAsync(output, nameof(The_studio_item_form_reports_type_id_and_title_together_in_plain_words));
        var page = web.Page;
        var creator = await app.Api.CreateContentCreatorAsync();
        await web.GotoAsync("/login");
        await web.LogInAsync(creator.Email, creator.Password);
        await Assertions.Expect(web.NavLink("Studio")).ToBeVisibleAsync();
        await web.GotoAsync("/studio");
        var posts = Watch(page);

        await page.GetByLabel("Content ID").FillAsync("has a space");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save item" }).ClickAsync();

        await ExpectErrorAtAsync(page, "item-type", "Choose a content type.");
        await ExpectErrorAtAsync(page, "item-id", "1 to 128 characters, no spaces, slashes or control characters.");
        await ExpectErrorAtAsync(page, "item-title", "Enter a title.");
        await web.ShotAsync("studio-invalid");
        Assert.Empty(posts);
        foreach (var text in await page.GetByTestId("field-error").AllInnerTextsAsync())
        {
            Assert.DoesNotMatch(RawFieldName(), text);
        }
    }

    private static async Task ExpectErrorAtAsync(IPage page, string id, string message)
    {
        await Assertions.Expect(page.Locator($"#{id}-error")).ToHaveTextAsync(message);
        await Assertions.Expect(page.Locator($"#{id}")).ToHaveAttributeAsync("aria-invalid", "true");
    }

    /// <summary>The API calls that would change something (the forms' submissions), as they leave the page.</summary>
    private static ConcurrentQueue<string> Watch(IPage page)
    {
        var posts = new ConcurrentQueue<string>();
        page.Request += (_, request) =>
        {
            if (request.Method is "POST" or "PUT" or "PATCH" && request.Url.Contains("/api/v1/", StringComparison.Ordinal) && !request.Url.Contains("/token/refresh", StringComparison.Ordinal))
            {
                posts.Enqueue($"{request.Method} {request.Url}");
            }
        };
        return posts;
    }

    [GeneratedRegex(@"^[a-z_]+(:| is required)")]
    private static partial Regex RawFieldName();
}
