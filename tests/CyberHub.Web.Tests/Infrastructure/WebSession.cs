using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests.Infrastructure;

/// <summary>
/// One test's browser context and page, watched: every request that would leave loopback is aborted and fails the
/// test, and so does any console error or uncaught page error the test did not announce with
/// <see cref="AllowConsoleError"/>. <see cref="ShotAsync"/> keeps a full-page screenshot of each page visited.
/// </summary>
public sealed partial class WebSession : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _violations = new();
    // Chromium may try an aborted navigation again: one line per distinct violation, even once taken.
    private readonly ConcurrentDictionary<string, bool> _seen = new();
    private readonly List<Regex> _allowedConsoleErrors = [];
    private readonly ITestOutputHelper _output;
    private readonly string _screenshots;
    private int _shots;

    private WebSession(IBrowserContext context, IPage page, ITestOutputHelper output, string test, PlatformProcess platform)
    {
        Context = context;
        Page = page;
        Platform = platform;
        _output = output;
        _screenshots = Path.Combine(AppContext.BaseDirectory, "screenshots", test);
    }

    public IBrowserContext Context { get; }
    public IPage Page { get; }
    public PlatformProcess Platform { get; }

    public static async Task<WebSession> StartAsync(IBrowserContext context, ITestOutputHelper output, string test, PlatformProcess platform)
    {
        var page = await context.NewPageAsync();
        var session = new WebSession(context, page, output, test, platform);
        if (Directory.Exists(session._screenshots))
        {
            Directory.Delete(session._screenshots, recursive: true);
        }
        await context.RouteAsync("**/*", session.GuardAsync);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                session.ConsoleError($"console error: {message.Text} (at {message.Location})");
            }
        };
        page.PageError += (_, error) => session.ConsoleError($"page error: {error}");
        return session;
    }

    /// <summary>Console errors the test provokes on purpose, such as Chromium's line for a 400 answer.</summary>
    public void AllowConsoleError(string pattern) => _allowedConsoleErrors.Add(new Regex(pattern, RegexOptions.IgnoreCase));

    /// <summary>What the watch caught so far, which then no longer fails the test (for tests of the watch itself).</summary>
    public IReadOnlyList<string> TakeViolations()
    {
        var taken = new List<string>();
        while (_violations.TryDequeue(out var violation))
        {
            taken.Add(violation);
        }
        return taken;
    }

    /// <summary>
    /// How long a fresh page may take to boot: every test's context downloads and starts the WebAssembly runtime anew,
    /// which on a busy machine takes longer than any later step.
    /// </summary>
    public static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Opens an app path that the app is expected to leave by itself (a signed-out or ended session sent to log in),
    /// waiting only until the navigation commits: the app's own redirect may come before the page's load event, and a
    /// wait for that event would then fail as an aborted navigation. The caller asserts where the app went.
    /// </summary>
    public async Task OpenToBeRedirectedAsync(string path) => await Page.GotoAsync(path, new() { WaitUntil = WaitUntilState.Commit });

    /// <summary>Loads an app path and waits until Blazor has booted and rendered the page's heading.</summary>
    public async Task GotoAsync(string path)
    {
        await Page.GotoAsync(path);
        await WaitForHeadingAsync(timeout: BootTimeout);
    }

    public async Task WaitForHeadingAsync(string? name = null, TimeSpan? timeout = null)
    {
        var heading = name is null ? Page.Locator("h1") : Page.GetByRole(AriaRole.Heading, new() { Name = name, Level = 1, Exact = true });
        await Assertions.Expect(heading.First).ToBeVisibleAsync(new() { Timeout = (float?)timeout?.TotalMilliseconds });
    }

    /// <summary>A full-page PNG under the test output, named after the page, its path in the test's log.</summary>
    public async Task<string> ShotAsync(string name)
    {
        Directory.CreateDirectory(_screenshots);
        var file = Path.Combine(_screenshots, $"{++_shots:00}-{Safe(name)}.png");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        _output.WriteLine($"screenshot: {file}");
        return file;
    }

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        if (!_violations.IsEmpty)
        {
            Assert.Fail($"The browser did what it must not:\n{string.Join('\n', _violations)}");
        }
    }

    private async Task GuardAsync(IRoute route)
    {
        var url = route.Request.Url;
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Host is "127.0.0.1" or "localhost")
        {
            await route.ContinueAsync();
            return;
        }
        Violation($"blocked a request off loopback: {route.Request.Method} {url}");
        await route.AbortAsync("blockedbyclient");
    }

    private void ConsoleError(string text)
    {
        if (_allowedConsoleErrors.Any(allowed => allowed.IsMatch(text)))
        {
            _output.WriteLine($"expected {text}");
            return;
        }
        Violation(text);
    }

    private void Violation(string text)
    {
        if (!_seen.TryAdd(text, true))
        {
            return;
        }
        _violations.Enqueue(text);
        try
        {
            _output.WriteLine($"VIOLATION {text}");
        }
        catch (InvalidOperationException)
        {
            // The test has already ended; the violation still fails it at disposal.
        }
    }

    private static string Safe(string name) => UnsafeCharacters().Replace(name.Trim('/'), "-") is { Length: > 0 } safe ? safe : "root";

    [GeneratedRegex("[^A-Za-z0-9._-]+")]
    private static partial Regex UnsafeCharacters();
}
