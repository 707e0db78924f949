using System.Globalization;
using System.Text.Encodings.Web;
using CyberHub.Contracts;
using Microsoft.AspNetCore.Http;

namespace CyberHub.Core.Web;

/// <summary>
/// The learner's dashboard on a full page load (<c>/</c> and <c>/dashboard</c>), rendered here as plain HTML so it
/// paints and fills in without the web app's WebAssembly runtime, which a first visit on a phone would otherwise wait
/// seconds for. The page is the app's dashboard as markup: its stylesheet, top bar, headings and the number boxes
/// drawn empty (the frame is <see cref="PageFrame"/>'s). Its script (<c>js/dashboard.js</c>) takes the token pair where the app keeps it
/// (<c>localStorage</c>), refreshes it as the app does, asks Core and the AI service what the app's dashboard asks
/// (the same endpoints, with <see cref="DashboardRules"/> written into the page) and draws the same blocks; without a
/// session it goes to the sign-in page, with the address Core wrote here. Every link goes to the app's pages, which
/// load the runtime. Within the app (client-side navigation) the dashboard stays the app's own page.
/// </summary>
public static class DashboardPage
{
    private static readonly HtmlEncoder Html = PageFrame.Html;

    /// <summary>The page for this request; <paramref name="aiUrl"/> is where browsers reach the AI service.</summary>
    public static string Render(HttpRequest request, string aiUrl)
    {
        // Where the sign-in page brings the learner back to: this page, as the app's RedirectToLogin would say it.
        var here = request.Path.ToUriComponent() + request.QueryString.ToUriComponent();
        var login = "login?returnUrl=" + Uri.EscapeDataString(here.Length == 0 ? "/" : here);
        string Data(string name, object value) =>
            $" data-{name}=\"{Html.Encode(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")}\"";
        var data = string.Concat(
            Data("ai", aiUrl),
            Data("login", login),
            Data("ended", DashboardRules.SessionEnded),
            Data("continue", DashboardRules.ContinueLimit),
            Data("recommendations", DashboardRules.Recommendations),
            Data("description", DashboardRules.DescriptionLength),
            Data("track-items", DashboardRules.TrackItems),
            Data("track-candidates", DashboardRules.TrackCandidates),
            Data("chart-days", DashboardRules.ChartDays),
            Data("goal-min", LearningGoalRules.MinItems),
            Data("goal-max", LearningGoalRules.MaxItems),
            Data("goal-invalid", LearningGoalRules.Invalid),
            Data("author", Roles.ContentCreator),
            Data("admin", Roles.Admin));

        return PageFrame.Render(request, "Dashboard", "js/dashboard.js", data,
            navigation: """
                            <li><a href="dashboard" class="active" aria-current="page">Dashboard</a></li>
                            <li><a href="catalog">Catalog</a></li>
                            <li><a href="insights">Insights</a></li>
                            <li><a href="organizations">Organizations</a></li>
                            <li data-role="author" hidden><a href="studio">Studio</a></li>
                            <li data-role="admin" hidden><a href="admin/users">Admin</a></li>
                            <li><a href="account">Account</a></li>
                            <li class="nav-user"><span id="nav-email"></span></li>
                            <li><button type="button" class="link-button" id="log-out">Log out</button></li>
            """,
            main: """
                    <section class="page dashboard" id="dashboard">
                        <h1>Dashboard</h1>
                        <section aria-labelledby="stats-heading" id="stats">
                            <h2 id="stats-heading" class="visually-hidden">Your numbers</h2>
                            <div class="stats stats-pending" aria-hidden="true">
                                <div class="stat"><span class="stat-value">–</span><span class="stat-label">Completed</span></div>
                                <div class="stat"><span class="stat-value">–</span><span class="stat-label">In progress</span></div>
                                <div class="stat"><span class="stat-value">–</span><span class="stat-label">Time spent learning</span></div>
                                <div class="stat"><span class="stat-value">–</span><span class="stat-label">Average score</span></div>
                            </div>
                            <div class="loading" role="status" aria-live="polite"><span class="spinner" aria-hidden="true"></span><span>Loading your progress…</span></div>
                        </section>
                    </section>
            """);
    }
}
