using Xunit.Abstractions;

namespace CyberHub.Web.Tests.Infrastructure;

/// <summary>
/// One platform process and one browser for the whole collection; each test gets a fresh browser context
/// (<see cref="OpenAsync"/>), so no cookie, storage or cache crosses from one test to the next.
/// </summary>
public sealed class WebAppFixture : IAsyncLifetime
{
    /// <summary>Exactly these: no sandbox (root in a container), no GPU, and nothing Chromium would fetch by itself.</summary>
    public static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    /// <summary>
    /// How long an action or an expectation waits. On a loaded two-core machine a page's rendering has been seen to
    /// stall for more than 20 s (no animation frame, so Playwright cannot tell that a button is stable); a longer wait
    /// costs nothing when the page is well and only delays a failure that would come anyway.
    /// </summary>
    public const int WaitMilliseconds = 45_000;

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public PlatformProcess Platform { get; } = new();
    public PlatformApi Api { get; }

    public WebAppFixture() => Api = new PlatformApi(Platform);

    /// <summary>
    /// Debian's chromium, from scripts/test-services.sh. Playwright's own browser builds are never downloaded: without
    /// the variable the tests fail and say how to provide it.
    /// </summary>
    public static string ChromiumPath =>
        Environment.GetEnvironmentVariable("CYBERHUB_TEST_CHROMIUM") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("CYBERHUB_TEST_CHROMIUM is not set: run the suite with scripts/test.sh, which installs Debian's chromium (or eval \"$(bash scripts/test-services.sh)\").");

    public async Task InitializeAsync()
    {
        var chromium = ChromiumPath;
        if (!File.Exists(chromium))
        {
            throw new InvalidOperationException($"CYBERHUB_TEST_CHROMIUM={chromium} does not exist.");
        }
        Assertions.SetDefaultExpectTimeout(WaitMilliseconds);
        // The driver (node and playwright-core) comes with the NuGet package, copied under .playwright/ beside this assembly.
        _playwright = await Playwright.CreateAsync();
        var platform = Platform.StartAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ChromiumArgs,
        });
        await platform;
    }

    /// <summary>A fresh browser context and page for one test; dispose it at the end of the test.</summary>
    public async Task<WebSession> OpenAsync(ITestOutputHelper output, string test, ViewportSize? viewport = null)
    {
        var browser = _browser ?? throw new InvalidOperationException("the browser did not start");
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Platform.Core.GetLeftPart(UriPartial.Authority),
            ViewportSize = viewport ?? new ViewportSize { Width = 1280, Height = 800 },
            ServiceWorkers = ServiceWorkerPolicy.Block,
        });
        context.SetDefaultTimeout(WaitMilliseconds);
        return await WebSession.StartAsync(context, output, test, Platform);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }
        _playwright?.Dispose();
        await Platform.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class WebAppCollection : ICollectionFixture<WebAppFixture>
{
    public const string Name = "web app";
}
