using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>The watch every browser test runs under: it must catch what it claims to catch.</summary>
[Collection(WebAppCollection.Name)]
public sealed class GuardTests(WebAppFixture app, ITestOutputHelper output)
{
    [Fact]
    public async Task Requests_off_loopback_are_aborted_and_console_errors_are_caught()
    {
        await using var web = await app.OpenAsync(output, nameof(Requests_off_loopback_are_aborted_and_console_errors_are_caught));
        // Chromium's own line for the aborted navigation; the guard has recorded the request itself.
        web.AllowConsoleError("ERR_BLOCKED_BY_CLIENT|ERR_FAILED");

        // A navigation, which the app's Content-Security-Policy (connect-src) does not stop before the guard sees it.
        // 192.0.2.0/24 is reserved for documentation: were the guard to let it through, nothing would answer anyway.
        // In a page of its own: Chromium follows the aborted navigation with its error page, which would cut into the
        // next navigation of the same page.
        var probe = await web.Context.NewPageAsync();
        var blocked = await Assert.ThrowsAsync<PlaywrightException>(() => probe.GotoAsync("http://192.0.2.1/beacon"));
        Assert.Contains("ERR_BLOCKED_BY_CLIENT", blocked.Message);
        await probe.CloseAsync();
        await web.GotoAsync("/login");
        await web.Page.EvaluateAsync("() => console.error('a deliberate console error')");

        var violations = web.TakeViolations();
        Assert.Contains(violations, v => v.Contains("blocked a request off loopback: GET http://192.0.2.1/beacon", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains("a deliberate console error", StringComparison.Ordinal));
    }
}
