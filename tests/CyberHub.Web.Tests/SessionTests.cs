using System.Text.Json;
using System.Text.RegularExpressions;
using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>Signing up, in and out in a real browser: the pages, the session in localStorage and its end.</summary>
[Collection(WebAppCollection.Name)]
public sealed class SessionTests(WebAppFixture app, ITestOutputHelper output)
{
    [Fact]
    public async Task Register_log_out_and_log_in_again()
    {
        await using var web = await app.OpenAsync(output, nameof(Register_log_out_and_log_in_again));
        var learner = Learner.New("reg");

        await web.RegisterAsync(learner);
        await Assertions.Expect(web.Page).ToHaveURLAsync(new Regex("/dashboard$"));
        await Assertions.Expect(web.LogOutButton()).ToBeVisibleAsync();
        await Assertions.Expect(web.Nav()).ToContainTextAsync(learner.Email);
        await Assertions.Expect(web.NavLink("Studio")).ToHaveCountAsync(0);
        await web.ShotAsync("after-register");

        await web.LogOutButton().ClickAsync();
        await web.ExpectAtAsync("/login", "Log in");
        Assert.Null(await web.StoredTokensAsync());

        await web.LogInAsync(learner.Username, learner.Password);
        await Assertions.Expect(web.Page).ToHaveURLAsync(new Regex("/dashboard$"));
        await Assertions.Expect(web.LogOutButton()).ToBeVisibleAsync();
        Assert.NotNull(await web.StoredTokensAsync());
    }

    [Fact]
    public async Task Wrong_password_is_refused_inline()
    {
        await using var web = await app.OpenAsync(output, nameof(Wrong_password_is_refused_inline));
        web.AllowConsoleError("status of 401");
        var learner = Learner.New("wrong");
        await app.Api.RegisterAsync(learner);

        await web.GotoAsync("/login");
        await web.SubmitLogInAsync(learner.Email, "not-the-password");

        var error = web.Page.GetByTestId("form-error").Or(web.Page.GetByTestId("field-error"));
        await Assertions.Expect(error.First).ToBeVisibleAsync();
        await Assertions.Expect(web.Page).ToHaveURLAsync(new Regex("/login"));
        await web.ShotAsync("login-refused");
    }

    [Fact]
    public async Task Registration_with_a_taken_email_shows_the_APIs_detail_inline()
    {
        await using var web = await app.OpenAsync(output, nameof(Registration_with_a_taken_email_shows_the_APIs_detail_inline));
        web.AllowConsoleError("status of 400");
        var first = Learner.New("taken");
        await app.Api.RegisterAsync(first);

        await web.RegisterAsync(first with { Username = first.Username + "x" });

        // Core's detail reads "email: a user with that email already exists."; the page shows it at the field, in plain words.
        await Assertions.Expect(web.Page.Locator("#email-error")).ToHaveTextAsync("A user with that email already exists.");
        await Assertions.Expect(web.Page).ToHaveURLAsync(new Regex("/register$"));
        Assert.Null(await web.StoredTokensAsync());
        await web.ShotAsync("register-taken");
    }

    [Fact]
    public async Task Login_form_can_be_filled_and_sent_with_the_keyboard()
    {
        await using var web = await app.OpenAsync(output, nameof(Login_form_can_be_filled_and_sent_with_the_keyboard));
        var learner = Learner.New("keys");
        await app.Api.RegisterAsync(learner);
        await web.GotoAsync("/login");
        var keyboard = web.Page.Keyboard;

        // From the top of the page, Tab reaches the first field of the form.
        var login = web.Page.GetByLabel("Email or username");
        for (var presses = 0; presses < 12 && !await IsFocusedAsync(login); presses++)
        {
            await keyboard.PressAsync("Tab");
        }
        await Assertions.Expect(login).ToBeFocusedAsync();
        await keyboard.TypeAsync(learner.Email);
        await keyboard.PressAsync("Tab");
        await Assertions.Expect(web.Page.GetByLabel("Password")).ToBeFocusedAsync();
        await keyboard.TypeAsync(learner.Password);
        await web.ShotAsync("login-keyboard");
        await keyboard.PressAsync("Enter");

        await Assertions.Expect(web.Page).ToHaveURLAsync(new Regex("/dashboard$"));
        await Assertions.Expect(web.LogOutButton()).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Phone_width_has_a_menu_button_that_opens_the_navigation()
    {
        await using var web = await app.OpenAsync(output, nameof(Phone_width_has_a_menu_button_that_opens_the_navigation),
            new ViewportSize { Width = 375, Height = 740 });
        var learner = Learner.New("phone");
        await app.Api.RegisterAsync(learner);
        await web.GotoAsync("/login");
        await web.LogInAsync(learner.Email, learner.Password);
        await Assertions.Expect(web.Page).ToHaveURLAsync(new Regex("/dashboard$"));

        var menu = web.Page.GetByRole(AriaRole.Button, new() { Name = "Menu" });
        await Assertions.Expect(menu).ToBeVisibleAsync();
        await Assertions.Expect(menu).ToHaveAttributeAsync("aria-expanded", "false");
        await Assertions.Expect(web.LogOutButton()).ToBeHiddenAsync();
        Assert.True(await web.Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"),
            "the page is wider than a 375 px phone screen");
        await web.ShotAsync("phone-menu-closed");

        await menu.ClickAsync();
        await Assertions.Expect(menu).ToHaveAttributeAsync("aria-expanded", "true");
        await Assertions.Expect(web.NavLink("Catalog")).ToBeVisibleAsync();
        await web.ShotAsync("phone-menu-open");
        await web.LogOutButton().ClickAsync();
        await web.ExpectAtAsync("/login", "Log in");
    }

    [Fact]
    public async Task Signed_out_visitor_is_sent_to_log_in_and_then_to_the_page_they_asked_for()
    {
        await using var web = await app.OpenAsync(output, nameof(Signed_out_visitor_is_sent_to_log_in_and_then_to_the_page_they_asked_for));
        var learner = Learner.New("visitor");
        await app.Api.RegisterAsync(learner);

        await web.OpenToBeRedirectedAsync("/insights");
        await Assertions.Expect(web.Page).ToHaveURLAsync(new Regex(@"/login\?returnUrl=%2Finsights$"));
        await web.LogInAsync(learner.Email, learner.Password);
        await web.ExpectAtAsync("/insights", "Insights");
    }

    [Fact]
    public async Task Expired_session_returns_to_log_in_with_the_destination_remembered()
    {
        await using var web = await app.OpenAsync(output, nameof(Expired_session_returns_to_log_in_with_the_destination_remembered));
        // The refused refresh is Chromium's console line; the page answers it by sending the user to log in.
        web.AllowConsoleError("status of 401");
        var learner = Learner.New("expired");
        await app.Api.RegisterAsync(learner);
        await web.GotoAsync("/login");
        await web.LogInAsync(learner.Email, learner.Password);
        await Assertions.Expect(web.LogOutButton()).ToBeVisibleAsync();

        // The stored access token now claims to have expired, so the app must refresh; its refresh token is revoked.
        var refresh = await web.Page.EvaluateAsync<string>("""
            () => {
                const tokens = JSON.parse(localStorage.getItem('cyberhub.tokens'));
                const [header, payload, signature] = tokens.access.split('.');
                const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
                claims.exp = Math.floor(Date.now() / 1000) - 60;
                const encoded = btoa(JSON.stringify(claims)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
                tokens.access = [header, encoded, signature].join('.');
                localStorage.setItem('cyberhub.tokens', JSON.stringify(tokens));
                return tokens.refresh;
            }
            """);
        await app.Api.RevokeAsync(refresh);

        await web.OpenToBeRedirectedAsync("/dashboard");
        await Assertions.Expect(web.Page).ToHaveURLAsync(new Regex(@"/login\?returnUrl=%2Fdashboard$"));
        await web.WaitForHeadingAsync("Log in");
        Assert.Null(await web.StoredTokensAsync());
        await web.ShotAsync("session-ended");

        await web.LogInAsync(learner.Email, learner.Password);
        await web.ExpectAtAsync("/dashboard", "Dashboard");
        using var stored = JsonDocument.Parse(await web.StoredTokensAsync() ?? "{}");
        Assert.NotEqual(refresh, stored.RootElement.GetProperty("refresh").GetString());
    }

    /// <summary>
    /// The address a link in a phishing mail would carry: a return address that leaves the app, plain and encoded.
    /// After logging in the browser is on the app's own origin, on the dashboard, and never asked for another host
    /// (the session's watch fails the test on any request off loopback).
    /// </summary>
    [Theory]
    [InlineData("/login?returnUrl=%2Fhttps%3A%2F%2Fevil.example%2F")]
    [InlineData("/login?returnUrl=/https://evil.example/")]
    [InlineData("/login?returnUrl=%2F%2Fevil.example%2F")]
    [InlineData("/login?returnUrl=https%3A%2F%2Fevil.example%2Fdashboard")]
    [InlineData("/login?returnUrl=%2F%5Cevil.example%2F")]
    public async Task A_return_address_on_another_site_leads_to_the_dashboard_after_log_in(string login)
    {
        await using var web = await app.OpenAsync(output, nameof(A_return_address_on_another_site_leads_to_the_dashboard_after_log_in));
        var learner = Learner.New("redirect");
        await app.Api.RegisterAsync(learner);

        await web.GotoAsync(login);
        await web.LogInAsync(learner.Email, learner.Password);
        await web.ExpectAtAsync("/dashboard", "Dashboard");
        Assert.Equal(app.Platform.Core.GetLeftPart(UriPartial.Authority) + "/dashboard", web.Page.Url);
    }

    private static Task<bool> IsFocusedAsync(ILocator locator) => locator.EvaluateAsync<bool>("e => e === document.activeElement");
}
