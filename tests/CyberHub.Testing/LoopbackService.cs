using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace CyberHub.Testing;

/// <summary>One of CyberHub's services, running for real in the test process on a loopback port.</summary>
public abstract class LoopbackService
{
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;
    public IServiceProvider Services => _app!.Services;

    /// <summary>Everything the service logged (the console is left quiet); survives restarts.</summary>
    public CapturedLogs Logs { get; } = new();

    /// <summary>
    /// Whether the service keeps its production rate limits. Tests register many users and send many requests from
    /// one address, so a service under test gets limits no test reaches, unless it tests the limits themselves.
    /// </summary>
    protected virtual bool ProductionRateLimits => false;

    private static readonly Dictionary<string, string?> UnreachableRateLimits = new()
    {
        ["RateLimiting:PerUserPerMinute"] = "1000000",
        ["RateLimiting:AuthPerMinute"] = "1000000",
    };

    /// <summary>Services registered before the service's own (which leave a service given here in place where they say so, such as Core's clock).</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    /// <summary>Builds the service with <paramref name="settings"/> over its configuration and starts it.</summary>
    protected async Task StartAsync(Func<string[], Action<WebApplicationBuilder>?, WebApplication> build, IDictionary<string, string?> settings)
    {
        _app = build([], builder =>
        {
            if (!ProductionRateLimits)
            {
                builder.Configuration.AddInMemoryCollection(UnreachableRateLimits);
            }
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(Logs);
            ConfigureServices(builder.Services);
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
    }

    protected async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public HttpClient CreateClient(string? accessToken = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (accessToken is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }
        return client;
    }
}

/// <summary>For tests of the production rate limits (see <see cref="LoopbackService"/>).</summary>
public static class RateLimits
{
    /// <summary>
    /// Sends requests until one is answered 429 and returns that answer, after checking how many were let through
    /// first: the <paramref name="limit"/> less what the partition had <paramref name="alreadyUsed"/>, plus at most the
    /// permits given back meanwhile (one each <paramref name="interval"/>). No answer before it may be a 5xx.
    /// </summary>
    public static async Task<HttpResponseMessage> SendUntilLimitedAsync(
        Func<int, Task<HttpResponseMessage>> send, int limit, TimeSpan interval, int alreadyUsed = 0)
    {
        var clock = Stopwatch.StartNew();
        for (var allowed = 0; ; allowed++)
        {
            var response = await send(allowed);
            var most = limit - alreadyUsed + (int)(clock.Elapsed / interval) + 1;
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.InRange(allowed, limit - alreadyUsed, most);
                return response;
            }
            Assert.True((int)response.StatusCode < 500, $"Request {allowed + 1} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            Assert.True(allowed < most, $"{allowed + 1} requests in {clock.Elapsed.TotalSeconds:0.0} s were let through; the limit is {limit}.");
            response.Dispose();
        }
    }
}
