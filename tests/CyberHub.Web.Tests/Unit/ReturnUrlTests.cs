using CyberHub.Web.Layout;

namespace CyberHub.Web.Tests.Unit;

/// <summary>
/// The page the login sends the user to: a page of the app, decided by parsing the remembered address, whatever
/// an attacker puts in <c>?returnUrl=</c>.
/// </summary>
public sealed class ReturnUrlTests
{
    private const string App = "https://app.example:8443/";
    private const string Dashboard = "https://app.example:8443/dashboard";

    [Theory]
    [InlineData("/insights", "https://app.example:8443/insights")]
    [InlineData("/content/lab/sql-injection-lab?x=1", "https://app.example:8443/content/lab/sql-injection-lab?x=1")]
    [InlineData("/content/lab/a%20b", "https://app.example:8443/content/lab/a%20b")]
    [InlineData("/catalog?q=xss&type=lab#top", "https://app.example:8443/catalog?q=xss&type=lab#top")]
    [InlineData("/insights/../dashboard", "https://app.example:8443/dashboard")]
    [InlineData("/https:/evil.example/", "https://app.example:8443/https:/evil.example/")]
    [InlineData("/javascript:alert(1)", "https://app.example:8443/javascript:alert(1)")]
    [InlineData("/@evil.example", "https://app.example:8443/@evil.example")]
    [InlineData("/../../etc", "https://app.example:8443/etc")]
    public void A_path_of_the_app_is_kept_on_the_apps_origin(string candidate, string expected) =>
        Assert.Equal(expected, ReturnUrl.Safe(candidate, App));

    [Theory]
    // Other sites, however written (a path that merely contains a host name stays a path of the app).
    [InlineData("/https://evil.example/")]
    [InlineData("/http://evil.example")]
    [InlineData("//evil.example/")]
    [InlineData("///evil.example/")]
    [InlineData("/\\evil.example")]
    [InlineData("\\\\evil.example")]
    [InlineData("\\/evil.example")]
    [InlineData("https://evil.example/")]
    [InlineData("https:evil.example")]
    [InlineData("HTTPS://EVIL.EXAMPLE")]
    [InlineData("javascript:alert(1)")]
    [InlineData("data:text/html,<script>alert(1)</script>")]
    [InlineData("evil.example")]
    [InlineData("insights")]
    [InlineData("./insights")]
    [InlineData("?returnUrl=//evil.example")]
    [InlineData("#/evil")]
    [InlineData("/insights//evil.example")]
    // The same, percent-encoded once or twice.
    [InlineData("/%2Fevil.example")]
    [InlineData("/%2fevil.example")]
    [InlineData("%2F%2Fevil.example")]
    [InlineData("/%5Cevil.example")]
    [InlineData("/%5cevil.example")]
    [InlineData("/%252F%252Fevil.example")]
    [InlineData("/%25252F%25252Fevil.example")]
    [InlineData("/https:%2F%2Fevil.example")]
    [InlineData("/https%3A%2F%2Fevil.example%2F")]
    // Control, invisible and line-breaking characters, raw or encoded: browsers drop some of them (/\t/evil -> //evil).
    [InlineData("/\t/evil.example")]
    [InlineData("/\n/evil.example")]
    [InlineData("/\r\n/evil.example")]
    [InlineData("/%09/evil.example")]
    [InlineData("/%0A/evil.example")]
    [InlineData("/%0d%0a/evil.example")]
    [InlineData("/%00/evil.example")]
    [InlineData("/\u0000insights")]
    [InlineData("/\u200B/evil.example")]
    [InlineData("/\u2028/evil.example")]
    [InlineData("/%E2%80%8B/evil.example")]
    [InlineData(" /insights")]
    // Outside the base path, the login page itself, nothing at all.
    [InlineData("/login")]
    [InlineData("/LOGIN")]
    [InlineData("/login?returnUrl=/insights")]
    [InlineData("/%6Cogin")]
    [InlineData("/")]
    [InlineData("")]
    [InlineData(null)]
    public void Anything_else_goes_to_the_dashboard(string? candidate) =>
        Assert.Equal(Dashboard, ReturnUrl.Safe(candidate, App));

    [Fact]
    public void Under_a_base_path_the_destination_stays_inside_it()
    {
        const string based = "https://app.example/cyberhub/";
        Assert.Equal("https://app.example/cyberhub/insights", ReturnUrl.Safe("/insights", based));
        Assert.Equal("https://app.example/cyberhub/dashboard", ReturnUrl.Safe("/../admin", based));
        Assert.Equal("https://app.example/cyberhub/dashboard", ReturnUrl.Safe("/%2e%2e/admin", based));
        Assert.Equal("https://app.example/cyberhub/dashboard", ReturnUrl.Safe("/https://evil.example/", based));
    }

    [Fact]
    public void Every_answer_is_on_the_apps_origin()
    {
        // Every two-character path from a set that has broken naive checks, and each of them encoded.
        string[] parts = ["/", "\\", ":", "@", ".", "%", "%2F", "%5C", "%2E", "%40", "%3A", "%25", "a", "\t", "?", "#", ";", " "];
        foreach (var a in parts)
        {
            foreach (var b in parts)
            {
                foreach (var c in parts)
                {
                    var candidate = "/" + a + b + c + "evil.example";
                    var answer = new Uri(ReturnUrl.Safe(candidate, App));
                    Assert.True(answer.GetLeftPart(UriPartial.Authority) == "https://app.example:8443" && answer.UserInfo.Length == 0,
                        $"{candidate} -> {answer}");
                }
            }
        }
    }
}
