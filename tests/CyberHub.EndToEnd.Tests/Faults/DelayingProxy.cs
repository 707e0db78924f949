using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CyberHub.EndToEnd.Tests.Faults;

/// <summary>
/// A loopback HTTP proxy in front of a service that can make it slow: while <see cref="Delay"/> is set, requests whose
/// path starts with <see cref="DelayedPath"/> wait that long before they are passed on (a caller that gives up meanwhile
/// cancels them). Everything else passes at once. It counts the requests it received per path, so a test can tell
/// whether a caller tried at all. No hook in the services themselves.
/// </summary>
public sealed class DelayingProxy(Uri target, string delayedPath) : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer", "Host",
    };

    private readonly HttpClient _forward = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false })
    {
        BaseAddress = target,
        Timeout = Timeout.InfiniteTimeSpan,
    };
    private WebApplication? _app;
    private long _delayTicks;
    private int _delayedRequests;

    public Uri BaseAddress { get; private set; } = null!;

    public string DelayedPath => delayedPath;

    public TimeSpan? Delay
    {
        get => Interlocked.Read(ref _delayTicks) is > 0 and var ticks ? TimeSpan.FromTicks(ticks) : null;
        set => Interlocked.Exchange(ref _delayTicks, value?.Ticks ?? 0);
    }

    /// <summary>Requests received for <see cref="DelayedPath"/>, delayed or not.</summary>
    public int DelayedPathRequests => Volatile.Read(ref _delayedRequests);

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Run(ForwardAsync);
        await app.StartAsync();
        BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        _app = app;
    }

    private async Task ForwardAsync(HttpContext http)
    {
        var path = http.Request.Path.Value ?? "/";
        if (path.StartsWith(delayedPath, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _delayedRequests);
            if (Delay is { } delay)
            {
                try
                {
                    await Task.Delay(delay, http.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        using var request = new HttpRequestMessage(new HttpMethod(http.Request.Method), path + http.Request.QueryString);
        if (http.Request.ContentLength > 0 || http.Request.Headers.TransferEncoding.Count > 0)
        {
            request.Content = new StreamContent(http.Request.Body);
        }
        foreach (var (name, values) in http.Request.Headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }
            if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }
        try
        {
            using var response = await _forward.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, http.RequestAborted);
            http.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (!HopByHop.Contains(name))
                {
                    http.Response.Headers[name] = values.ToArray();
                }
            }
            await response.Content.CopyToAsync(http.Response.Body, http.RequestAborted);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            if (!http.Response.HasStarted && !http.RequestAborted.IsCancellationRequested)
            {
                http.Response.StatusCode = StatusCodes.Status502BadGateway;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        _forward.Dispose();
    }
}
