using System.Diagnostics;
using System.Net;
using System.Text;
using CyberHub.Testing;

namespace CyberHub.Core.Tests;

/// <summary>
/// Core as deployed: <c>dotnet cyberhub.dll core</c>, the built host with the web app among its static web assets,
/// so its page fallback is mapped (a Core started in the test process serves the API alone).
/// </summary>
public sealed class CoreHostProcess : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", $"host-{Guid.NewGuid():N}");
    private readonly OutputTail _output = new(100);
    private Process? _process;

    public Uri BaseAddress { get; } = new($"http://127.0.0.1:{LoopbackPorts.Free()}");

    public async Task InitializeAsync()
    {
        var dll = await HostProgram.EnsureBuiltAsync("CyberHub.Core.dll", "CyberHub.ServiceDefaults.dll", "CyberHub.Contracts.dll");
        Directory.CreateDirectory(_dataDirectory);
        var environment = new Dictionary<string, string>
        {
            ["CYBERHUB_DATA_DIR"] = _dataDirectory,
            ["CYBERHUB_CORE_URL"] = BaseAddress.ToString().TrimEnd('/'),
            ["ConnectionStrings__core"] = "",
            ["ConnectionStrings__redis"] = "",
            ["Outbox__Enabled"] = "false",
            ["RateLimiting__PerUserPerMinute"] = "1000000",
            ["RateLimiting__AuthPerMinute"] = "1000000",
            ["Logging__LogLevel__CyberHub.ServiceDefaults.Observability.RequestLoggingMiddleware"] = "Warning",
        };
        _process = ProgramProcess.Start(dll, "core", _dataDirectory, environment, _output);
        await ProgramProcess.WaitUntilReadyAsync(_process, new Uri(BaseAddress, "/api/v1/health/"), _output);
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}

/// <summary>
/// A method a route does not take is 405 with <c>Allow</c>, a body of another type 415, an unknown API path 404,
/// all with <c>{"detail"}</c>, on every API route of Core as deployed (with the web app's page fallback), as listed
/// by Core's own routing table.
/// </summary>
public sealed class RoutingAnswersTests(CoreHostProcess host, SqliteCoreServer routes) : IClassFixture<CoreHostProcess>, IClassFixture<SqliteCoreServer>
{
    [Fact]
    public async Task Every_api_route_answers_405_to_other_methods_and_415_to_other_content_types()
    {
        var apiRoutes = RoutingAnswers.ApiRoutes(routes.Services);
        Assert.True(apiRoutes.Count >= 15, $"only {apiRoutes.Count} API routes found");
        using var client = host.CreateClient();
        var wrong = await RoutingAnswers.WrongAnswersAsync(client, apiRoutes);
        Assert.True(wrong.Count == 0, $"{wrong.Count} wrong answers:\n{string.Join("\n", wrong)}");
    }

    [Theory]
    [InlineData("GET", "/api/v1/no-such-thing/")]
    [InlineData("POST", "/api/v1/no-such-thing/")]
    [InlineData("GET", "/API/V1/NO-SUCH-THING")]
    [InlineData("GET", "/api")]
    [InlineData("GET", "/api/")]
    [InlineData("DELETE", "/api/v1/users/1/no-such-thing/")]
    public async Task An_unknown_api_path_is_a_404_with_a_detail_not_the_web_app(string method, string path)
    {
        using var client = host.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.True(await RoutingAnswers.HasDetailAsync(response), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_web_app_still_loads_on_its_own_paths()
    {
        using var client = host.CreateClient();
        foreach (var path in new[] { "/catalog", "/insights", "/content/lab/sql-injection-lab", "/apiary", "/dashboard/more" })
        {
            using var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("_framework/blazor.webassembly.js", await response.Content.ReadAsStringAsync());
        }
        using var post = await client.PostAsync("/catalog", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
    }

    /// <summary>
    /// <c>/login</c> is Core's own page, painted without the WebAssembly runtime: the form, the messages of
    /// <see cref="CyberHub.Contracts.FieldRules"/> for its fields, and the destination decided by the app's rule
    /// (a page of the app, never another site), HTML-encoded.
    /// </summary>
    [Theory]
    [InlineData("/login", "/dashboard")]
    [InlineData("/LOGIN/", "/dashboard")]
    [InlineData("/login?returnUrl=%2Finsights", "/insights")]
    [InlineData("/login?returnUrl=%2Fcatalog%3Fq%3Dxss%26type%3Dlab", "/catalog?q=xss&amp;type=lab")]
    [InlineData("/login?returnUrl=%2F%2Fevil.example%2F", "/dashboard")]
    [InlineData("/login?returnUrl=https%3A%2F%2Fevil.example%2F", "/dashboard")]
    [InlineData("/login?returnUrl=%2F%22%3E%3Cscript%3E", "/%22%3E%3Cscript%3E")]
    public async Task The_sign_in_page_is_served_without_the_app(string path, string destination)
    {
        var html = await ServedWithoutTheAppAsync(path, "js/login.js");
        Assert.Contains($"data-return=\"{destination}\"", html);
        Assert.Contains("<h1>Log in</h1>", html);
        Assert.Contains($"data-missing=\"{CyberHub.Contracts.FieldRules.Required(null, "login")!.Plain}\"", html);
        Assert.Contains($"data-missing=\"{CyberHub.Contracts.FieldRules.CurrentPassword(null)!.Plain}\"", html);
    }

    /// <summary>
    /// <c>/</c> and <c>/dashboard</c> on a full load are Core's own page, painted without the WebAssembly runtime: the
    /// app's top bar and headings, the number boxes drawn empty, the limits and texts of
    /// <see cref="CyberHub.Contracts.DashboardRules"/> and <see cref="CyberHub.Contracts.LearningGoalRules"/> for its
    /// script, and the sign-in address that brings the visitor back here, HTML-encoded whatever the address held.
    /// </summary>
    [Theory]
    [InlineData("/dashboard", "login?returnUrl=%2Fdashboard")]
    [InlineData("/Dashboard/", "login?returnUrl=%2FDashboard%2F")]
    [InlineData("/", "login?returnUrl=%2F")]
    [InlineData("/dashboard?x=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E", "login?returnUrl=%2Fdashboard%3Fx%3D%2522%253E%253Cscript%253Ealert%281%29%253C%252Fscript%253E")]
    [InlineData("/dashboard?x=\"><script>", "login?returnUrl=%2Fdashboard%3Fx%3D%2522%253E%253Cscript%253E")]
    public async Task The_dashboard_is_served_without_the_app(string path, string login)
    {
        var html = await ServedWithoutTheAppAsync(path, "js/dashboard.js");
        Assert.Contains($"data-login=\"{login}\"", html);
        Assert.Contains("<h1>Dashboard</h1>", html);
        Assert.Contains("class=\"stats stats-pending\"", html);
        Assert.Contains("data-ai=\"http://localhost:8001\"", html);
        Assert.Contains($"data-ended=\"{CyberHub.Contracts.DashboardRules.SessionEnded}\"", html);
        Assert.Contains($"data-goal-invalid=\"{CyberHub.Contracts.LearningGoalRules.Invalid}\"", html);
        Assert.Contains($"data-continue=\"{CyberHub.Contracts.DashboardRules.ContinueLimit}\"", html);
    }

    /// <summary>
    /// What every page Core renders without the app answers: HTML that is not cached, the app's policy (scripts from
    /// Core alone, none inline; calls to Core and the AI service only), the shared script and the page's own (both
    /// served), no WebAssembly runtime, HEAD with the page's length and no body, and 405 with <c>Allow</c> to a POST.
    /// </summary>
    private async Task<string> ServedWithoutTheAppAsync(string path, string script)
    {
        using var client = host.CreateClient();
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        Assert.Contains("script-src 'self' 'wasm-unsafe-eval';", string.Join(";", response.Headers.GetValues("Content-Security-Policy")));
        var html = await response.Content.ReadAsStringAsync();
        // The shared script runs first: the page's own uses what it defines.
        var shared = html.IndexOf("<script src=\"js/page.js\" defer></script>", StringComparison.Ordinal);
        var own = html.IndexOf($"<script src=\"{script}\" defer></script>", StringComparison.Ordinal);
        Assert.True(shared >= 0 && own > shared, html);
        Assert.DoesNotContain("blazor.webassembly.js", html);
        Assert.DoesNotContain("<script>", html);
        foreach (var file in new[] { "/js/page.js", "/" + script })
        {
            using var served = await client.GetAsync(file);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(Encoding.UTF8.GetByteCount(html), head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        using var post = await client.PostAsync(path, new StringContent("login=x", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal(["GET", "HEAD"], post.Content.Headers.Allow);
        return html;
    }
}
