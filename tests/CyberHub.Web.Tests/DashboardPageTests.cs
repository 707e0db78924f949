using System.Text.Json;
using System.Text.RegularExpressions;
using CyberHub.Contracts;
using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>
/// The dashboard on a full page load is Core's own page (src/CyberHub.Core/Web/DashboardPage.cs with js/dashboard.js):
/// it shows the learner's real numbers, goal, track, work in progress and picks without fetching the WebAssembly
/// runtime, shows what the app's own dashboard shows for the same learner, refreshes an expired access token, and
/// sends a visitor without a session (or whose session ended) to log in and back.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class DashboardPageTests(WebAppFixture app, ITestOutputHelper output)
{
    private static readonly ViewportSize[] Widths = WebSession.Widths;

    /// <summary>What both dashboards must show alike, read from the page: each block's visible text.</summary>
    private static readonly string[] Blocks =
    [
        "h1", "h2", "#main .stat", "[data-testid=weekly-goal]", "[data-testid=track-item]", "[data-testid=continue-item]",
        "[data-testid=recommendation]", "[data-testid=empty-state]",
    ];

    [Fact]
    public async Task The_first_load_shows_the_learners_dashboard_without_the_runtime_and_as_the_app_shows_it()
    {
        await using var web = await app.OpenAsync(output, nameof(The_first_load_shows_the_learners_dashboard_without_the_runtime_and_as_the_app_shows_it), Widths[0]);
        var page = web.Page;
        var learner = Learner.New("firstload");
        var registered = await app.Api.RegisterAsync(learner);
        var lab = (await app.Api.ContentAsync(registered.Access, "lab"))[0];
        await app.Api.CreateProgressAsync(registered.Access,
            new CreateProgressRequest("introduction-to-web-application-security", "course", ProgressStatus.Completed, 100, null, 3600, null));
        await app.Api.CreateProgressAsync(registered.Access,
            new CreateProgressRequest(lab.ContentId, lab.ContentType, ProgressStatus.Completed, 100, 85, 1200, null));
        await app.Api.CreateProgressAsync(registered.Access,
            new CreateProgressRequest("owasp-top-10-explained", "lesson", ProgressStatus.InProgress, 40, null, 600, null));
        var picks = await SettledRecommendationsAsync(registered.Access, registered.User.Id);
        Assert.NotEmpty(picks);

        var runtime = new List<string>();
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/_framework/", StringComparison.Ordinal))
            {
                runtime.Add(request.Url);
            }
        };
        await StoreTokensAsync(web, registered.Access, registered.Refresh);
        await page.GotoAsync("/dashboard");
        await web.WaitForHeadingAsync("Dashboard");

        await Assertions.Expect(page.GetByTestId("completed-count")).ToHaveTextAsync("2");
        await Assertions.Expect(page.GetByTestId("in-progress-count")).ToHaveTextAsync("1");
        await Assertions.Expect(page.GetByTestId("time-spent")).ToHaveTextAsync("1 h 30 min");
        await Assertions.Expect(page.GetByTestId("average-score")).ToHaveTextAsync("85");
        await Assertions.Expect(page.Locator("#main .stat-label").Nth(3)).ToHaveTextAsync("Average score of 1 scored item");
        await Assertions.Expect(page.GetByTestId("week-completed")).ToHaveTextAsync("2");
        await Assertions.Expect(page.GetByTestId("continue-item")).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByTestId("continue-item")).ToContainTextAsync("OWASP Top 10");
        await Assertions.Expect(page.GetByTestId("continue-item")).ToContainTextAsync("40% done");
        await Assertions.Expect(page.GetByTestId("current-track").GetByRole(AriaRole.Heading, new() { Name = "Your track: Web security" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("progress-chart")).ToHaveAttributeAsync("aria-label", new Regex("2 items completed in this period"));
        await Assertions.Expect(page.GetByTestId("recommendation").Locator("h3")).ToHaveTextAsync(picks.ToArray());
        await Assertions.Expect(web.Nav()).ToContainTextAsync(learner.Email);
        await Assertions.Expect(web.LogOutButton()).ToBeVisibleAsync();
        await Assertions.Expect(web.NavLink("Studio")).ToHaveCountAsync(0);
        Assert.Empty(runtime);
        // Nothing painted moved as the blocks arrived (Lighthouse's target is 0.05).
        Assert.True(await LayoutShiftAsync(web) < 0.05, "the page shifted as it filled in");
        foreach (var size in Widths)
        {
            await page.SetViewportSizeAsync(size.Width, size.Height);
            await web.ShotAsync($"dashboard-first-load-{size.Width}");
        }
        await page.SetViewportSizeAsync(Widths[0].Width, Widths[0].Height);
        var corePage = await BlocksAsync(web);
        var chartLabel = await page.GetByTestId("progress-chart").GetAttributeAsync("aria-label");

        // The app's own dashboard (the runtime loads for the catalog; then a client-side navigation) shows the same.
        await web.NavLink("Catalog").ClickAsync();
        await web.WaitForHeadingAsync("Catalog", WebSession.BootTimeout);
        Assert.NotEmpty(runtime);
        await page.EvaluateAsync("() => { window.stillTheApp = true; }");
        await web.NavLink("Dashboard").ClickAsync();
        await web.ExpectAtAsync("/dashboard", "Dashboard");
        Assert.True(await page.EvaluateAsync<bool>("() => window.stillTheApp === true"), "the app's link loaded a new page");
        foreach (var (selector, texts) in corePage)
        {
            await Assertions.Expect(page.Locator(selector)).ToHaveTextAsync(texts, new() { UseInnerText = true });
        }
        await Assertions.Expect(page.GetByTestId("progress-chart")).ToHaveAttributeAsync("aria-label", chartLabel ?? "");
        await web.ShotAsync("dashboard-in-app-1440");
    }

    [Fact]
    public async Task An_expired_access_token_is_refreshed_before_the_page_asks_for_anything()
    {
        await using var web = await app.OpenAsync(output, nameof(An_expired_access_token_is_refreshed_before_the_page_asks_for_anything));
        var page = web.Page;
        var learner = Learner.New("refresh");
        var registered = await app.Api.RegisterAsync(learner);

        await StoreTokensAsync(web, Expired(registered.Access), registered.Refresh);
        await page.GotoAsync("/dashboard");
        await web.WaitForHeadingAsync("Dashboard");
        await Assertions.Expect(page.GetByTestId("completed-count")).ToHaveTextAsync("0");
        await Assertions.Expect(page.GetByTestId("empty-state").First).ToContainTextAsync("You have not started any learning yet");
        await Assertions.Expect(page.GetByTestId("weekly-goal").GetByTestId("streak-days")).ToHaveTextAsync("0");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/dashboard$"));

        using var stored = JsonDocument.Parse(await web.StoredTokensAsync() ?? "{}");
        Assert.NotEqual(registered.Refresh, stored.RootElement.GetProperty("refresh").GetString());
        Assert.NotEqual(Expired(registered.Access), stored.RootElement.GetProperty("access").GetString());

        // The goal form works from this page: refused at the field, then saved by Core.
        var goal = page.GetByTestId("weekly-goal");
        await goal.GetByLabel("Weekly goal (items)").FillAsync("101");
        await goal.GetByRole(AriaRole.Button, new() { Name = "Set goal" }).ClickAsync();
        await Assertions.Expect(goal.Locator("#goal-error")).ToHaveTextAsync(LearningGoalRules.Invalid);
        await goal.GetByLabel("Weekly goal (items)").FillAsync("4");
        await goal.GetByRole(AriaRole.Button, new() { Name = "Set goal" }).ClickAsync();
        await Assertions.Expect(goal.GetByTestId("week-completed")).ToHaveTextAsync("0 / 4");
        await Assertions.Expect(goal.GetByTestId("goal-status")).ToHaveTextAsync("4 to go by Sunday.");
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByTestId("week-completed")).ToHaveTextAsync("0 / 4");
    }

    [Theory]
    [InlineData("/dashboard", "%2Fdashboard", "/dashboard")]
    [InlineData("/", "%2F", "/dashboard")] // the sign-in page's rule (ReturnAddress) sends "/" to the dashboard's own address
    public async Task Without_a_session_the_page_sends_the_visitor_to_log_in_and_back(string path, string returnUrl, string destination)
    {
        await using var web = await app.OpenAsync(output, nameof(Without_a_session_the_page_sends_the_visitor_to_log_in_and_back));
        var learner = Learner.New("nosession");
        await app.Api.RegisterAsync(learner);

        await web.Page.GotoAsync(path);
        await Assertions.Expect(web.Page).ToHaveURLAsync(new Regex($@"/login\?returnUrl={Regex.Escape(returnUrl)}$"));
        await web.SubmitLogInAsync(learner.Email, learner.Password);
        await Assertions.Expect(web.Page).ToHaveURLAsync(app.Platform.Core.GetLeftPart(UriPartial.Authority) + destination);
        await web.WaitForHeadingAsync("Dashboard");
        await Assertions.Expect(web.Page.GetByTestId("completed-count")).ToHaveTextAsync("0");
    }

    [Fact]
    public async Task An_ended_session_goes_to_log_in_with_the_reason_and_logging_out_ends_it()
    {
        await using var web = await app.OpenAsync(output, nameof(An_ended_session_goes_to_log_in_with_the_reason_and_logging_out_ends_it));
        // The refused refresh is Chromium's console line; the page answers it by sending the user to log in.
        web.AllowConsoleError("status of 401");
        var page = web.Page;
        var learner = Learner.New("ended");
        var registered = await app.Api.RegisterAsync(learner);
        await app.Api.RevokeAsync(registered.Refresh);

        await StoreTokensAsync(web, Expired(registered.Access), registered.Refresh);
        await page.GotoAsync("/dashboard");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"/login\?returnUrl=%2Fdashboard$"));
        await web.WaitForHeadingAsync("Log in");
        await Assertions.Expect(page.GetByTestId("toast")).ToHaveTextAsync(new Regex(Regex.Escape(DashboardRules.SessionEnded)));
        Assert.Null(await web.StoredTokensAsync());

        // Signing in again comes back here; logging out from this page revokes the new session.
        await web.SubmitLogInAsync(learner.Email, learner.Password);
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/dashboard$"));
        await web.WaitForHeadingAsync("Dashboard");
        using var tokens = JsonDocument.Parse(await web.StoredTokensAsync() ?? "{}");
        var refresh = tokens.RootElement.GetProperty("refresh").GetString()!;
        await web.LogOutButton().ClickAsync();
        await web.ExpectAtAsync("/login", "Log in");
        Assert.Null(await web.StoredTokensAsync());
        var refused = await new HttpClient { BaseAddress = app.Platform.Core }.PostAsync("/api/v1/token/refresh/",
            new StringContent(JsonSerializer.Serialize(new RefreshRequest(refresh), CyberHubJson.Options), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task The_first_load_passes_axe_at_1440_and_375_px()
    {
        await using var web = await app.OpenAsync(output, nameof(The_first_load_passes_axe_at_1440_and_375_px), Widths[0]);
        var page = web.Page;
        var learner = Learner.New("axefirst");
        var registered = await app.Api.RegisterAsync(learner);
        await app.Api.CreateProgressAsync(registered.Access,
            new CreateProgressRequest("introduction-to-web-application-security", "course", ProgressStatus.Completed, 100, null, 3600, null));
        await app.Api.CreateProgressAsync(registered.Access,
            new CreateProgressRequest("owasp-top-10-explained", "lesson", ProgressStatus.InProgress, 40, null, 600, null));

        await StoreTokensAsync(web, registered.Access, registered.Refresh);
        await page.GotoAsync("/dashboard");
        await Assertions.Expect(page.GetByTestId("current-track")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("recommendation").First.Or(page.GetByTestId("recommendations-error"))).ToBeVisibleAsync();
        var problems = new List<string>();
        await web.CheckAxeAsync("dashboard-first-load", problems);

        // With the goal form's error shown, and the menu open at the phone width.
        await page.SetViewportSizeAsync(Widths[0].Width, Widths[0].Height);
        await page.GetByLabel("Weekly goal (items)").FillAsync("0");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set goal" }).ClickAsync();
        await Assertions.Expect(page.Locator("#goal-error")).ToHaveTextAsync(LearningGoalRules.Invalid);
        await web.CheckAxeAsync("dashboard-first-load-goal-error", problems);
        await page.GetByRole(AriaRole.Button, new() { Name = "Menu" }).ClickAsync();
        await Assertions.Expect(web.NavLink("Catalog")).ToBeVisibleAsync();
        await Assertions.Expect(web.LogOutButton()).ToBeVisibleAsync();
        await web.ShotAsync("dashboard-first-load-menu-375");
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"),
            "the page is wider than a 375 px phone screen");
        await page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Menu" })).ToHaveAttributeAsync("aria-expanded", "false");

        Assert.True(problems.Count == 0, $"axe found:\n{string.Join('\n', problems)}");
    }

    [Fact]
    public async Task Texts_from_the_services_are_shown_as_text_never_as_markup()
    {
        await using var web = await app.OpenAsync(output, nameof(Texts_from_the_services_are_shown_as_text_never_as_markup));
        var page = web.Page;
        var creator = await app.Api.CreateContentCreatorAsync();
        var creatorTokens = await app.Api.LoginAsync(creator.Email, creator.Password);
        var id = $"markup-{PlatformApi.Next()}-{Guid.NewGuid():N}";
        const string title = "<img src=x id=injected onerror=\"document.title='owned'\"> Markup & \"quotes\"";
        await app.Api.StoreItemAsync(creatorTokens.Access, "lesson", id, title, "<b id=\"bold\">not bold</b>");
        var learner = Learner.New("markup");
        var registered = await app.Api.RegisterAsync(learner);
        await app.Api.CreateProgressAsync(registered.Access, new CreateProgressRequest(id, "lesson", ProgressStatus.InProgress, 10, null, 60, null));

        await StoreTokensAsync(web, registered.Access, registered.Refresh);
        await page.GotoAsync("/dashboard");
        var item = page.GetByTestId("continue-item");
        await Assertions.Expect(item.GetByRole(AriaRole.Link)).ToHaveTextAsync(title);
        await Assertions.Expect(item.GetByRole(AriaRole.Link)).ToHaveAttributeAsync("href", $"content/lesson/{id}");
        await Assertions.Expect(page.Locator("#recommendations .loading")).ToHaveCountAsync(0);
        Assert.Equal(0, await page.Locator("#injected, #bold").CountAsync());
        Assert.NotEqual("owned", await page.TitleAsync());
    }

    /// <summary>The pair put where the app keeps it, from a page of the app's origin that does not start the runtime.</summary>
    private static async Task StoreTokensAsync(WebSession web, string access, string refresh)
    {
        await web.Page.GotoAsync("/login");
        await web.WaitForHeadingAsync("Log in");
        await web.Page.EvaluateAsync("([access, refresh]) => localStorage.setItem('cyberhub.tokens', JSON.stringify({ access, refresh }))",
            new[] { access, refresh });
    }

    /// <summary>The access token with its expiry moved a minute into the past (its signature no longer matches, as no service must see).</summary>
    private static string Expired(string access)
    {
        var parts = access.Split('.');
        var claims = System.Text.Json.Nodes.JsonNode.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]))!.AsObject();
        claims["exp"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds();
        parts[1] = System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(claims.ToJsonString()));
        return string.Join('.', parts);
    }

    /// <summary>
    /// The learner's picks once the AI service has taken in their progress (Core's outbox delivers it shortly after):
    /// the titles, when two answers a second apart agree.
    /// </summary>
    private async Task<IReadOnlyList<string>> SettledRecommendationsAsync(string access, long userId)
    {
        IReadOnlyList<string> last = [];
        for (var attempt = 0; attempt < 30; attempt++)
        {
            var titles = (await app.Api.RecommendationsAsync(access, userId)).Recommendations.Select(r => r.Title).ToList();
            if (attempt > 0 && titles.SequenceEqual(last) && titles.Count > 0)
            {
                return titles;
            }
            last = titles;
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        return last;
    }

    private static async Task<IReadOnlyList<(string Selector, string[] Texts)>> BlocksAsync(WebSession web)
    {
        var blocks = new List<(string, string[])>();
        foreach (var selector in Blocks)
        {
            var texts = await web.Page.Locator(selector).EvaluateAllAsync<string[]>("all => all.map(e => e.innerText)");
            blocks.Add((selector, [.. texts.Select(t => Regex.Replace(t, @"\s+", " ").Trim())]));
        }
        return blocks;
    }

    /// <summary>The page's cumulative layout shift so far, as Chromium reports it (buffered layout-shift entries).</summary>
    private static Task<double> LayoutShiftAsync(WebSession web) => web.Page.EvaluateAsync<double>("""
        () => new Promise(resolve => {
            let total = 0;
            new PerformanceObserver(list => {
                for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
            }).observe({ type: 'layout-shift', buffered: true });
            setTimeout(() => resolve(total), 100);
        })
        """);
}
