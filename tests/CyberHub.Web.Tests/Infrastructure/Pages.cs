using System.Text.RegularExpressions;

namespace CyberHub.Web.Tests.Infrastructure;

/// <summary>Steps many tests take, written against the pages' roles, labels and test ids.</summary>
public static class Pages
{
    /// <summary>Signs in and waits for the page the sign-in leads to.</summary>
    public static async Task LogInAsync(this WebSession web, string login, string password)
    {
        var page = web.Page;
        await web.SubmitLogInAsync(login, password);
        // The sign-in page is Core's, without the app: the destination loads the app, whose runtime boots now.
        await Assertions.Expect(page).Not.ToHaveURLAsync(new Regex(@"/login/?(\?.*)?$"), new() { Timeout = (float)WebSession.BootTimeout.TotalMilliseconds });
        await web.WaitForHeadingAsync(timeout: WebSession.BootTimeout);
    }

    /// <summary>Fills in the sign-in form and sends it, without waiting for where it leads (a refusal stays on the page).</summary>
    public static async Task SubmitLogInAsync(this WebSession web, string login, string password)
    {
        var page = web.Page;
        await web.WaitForHeadingAsync("Log in");
        await page.GetByLabel("Email or username").FillAsync(login);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in", Exact = true }).ClickAsync();
    }

    public static async Task RegisterAsync(this WebSession web, Learner learner)
    {
        var page = web.Page;
        await web.GotoAsync("/register");
        await web.WaitForHeadingAsync("Create your account");
        await page.GetByLabel("Email", new() { Exact = true }).FillAsync(learner.Email);
        await page.GetByLabel("Username").FillAsync(learner.Username);
        await page.GetByLabel("Password").FillAsync(learner.Password);
        await page.GetByLabel("First name").FillAsync(learner.FirstName);
        await page.GetByLabel("Last name").FillAsync(learner.LastName);
        await web.ShotAsync("register");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
    }

    /// <summary>Waits until the app shows <paramref name="path"/> (an app route, without query) with its heading.</summary>
    public static async Task ExpectAtAsync(this WebSession web, string path, string heading)
    {
        await Assertions.Expect(web.Page).ToHaveURLAsync(new Regex($"^[^?]*{Regex.Escape(path)}(\\?.*)?$"));
        await web.WaitForHeadingAsync(heading);
    }

    public static ILocator Nav(this WebSession web) => web.Page.GetByRole(AriaRole.Navigation, new() { Name = "Main" });

    public static ILocator NavLink(this WebSession web, string name) => web.Nav().GetByRole(AriaRole.Link, new() { Name = name, Exact = true });

    public static ILocator LogOutButton(this WebSession web) => web.Nav().GetByRole(AriaRole.Button, new() { Name = "Log out" });

    /// <summary>The token pair the app keeps in localStorage.</summary>
    public static Task<string?> StoredTokensAsync(this WebSession web) =>
        web.Page.EvaluateAsync<string?>("() => localStorage.getItem('cyberhub.tokens')");
}
