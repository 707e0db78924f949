using System.Text.Json;
using CyberHub.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CyberHub.Testing;

/// <summary>
/// A stand-in for the AI service's progress sync endpoint, on a loopback port: it records every batch it is
/// sent and answers as <see cref="Respond"/> says. It can be stopped and started again on the same port, so
/// that a sender meets a refused connection and then the same address working again.
/// </summary>
public sealed class ProgressEventReceiver : IAsyncDisposable
{
    public const string Path = "/api/v1/sync/progress-events";

    /// <summary>One request: the batch, its Authorization header, the status answered and when.</summary>
    public sealed record Attempt(IReadOnlyList<ProgressEvent> Events, string? Authorization, int Status, DateTime ReceivedAt);

    private readonly Lock _lock = new();
    private readonly List<Attempt> _attempts = [];
    private WebApplication? _app;
    private int _port;

    public Uri BaseAddress => new($"http://127.0.0.1:{_port}/");

    /// <summary>The status to answer a batch with; 200 unless a test says otherwise.</summary>
    public Func<IReadOnlyList<ProgressEvent>, int> Respond { get; set; } = _ => StatusCodes.Status200OK;

    public IReadOnlyList<Attempt> Attempts
    {
        get
        {
            lock (_lock)
            {
                return [.. _attempts];
            }
        }
    }

    /// <summary>Events of accepted (2xx) batches, in the order they arrived.</summary>
    public IReadOnlyList<ProgressEvent> Accepted => [.. Attempts.Where(a => a.Status is >= 200 and < 300).SelectMany(a => a.Events)];

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{_port}");
        var app = builder.Build();
        app.MapPost(Path, ReceiveAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _port = new Uri(address).Port;
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    /// <summary>Polls the accepted events until <paramref name="done"/> holds for them, or fails after the timeout.</summary>
    public async Task<IReadOnlyList<ProgressEvent>> WaitForAsync(Func<IReadOnlyList<ProgressEvent>, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var accepted = Accepted;
            if (done(accepted))
            {
                return accepted;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The receiver did not get the expected events in time; it accepted {accepted.Count} events in {Attempts.Count} requests.");
            }
            await Task.Delay(25);
        }
    }

    /// <summary>Accepted events of one user, in arrival order.</summary>
    public IReadOnlyList<ProgressEvent> AcceptedFor(long userId) => [.. Accepted.Where(e => e.UserId == userId)];

    private async Task ReceiveAsync(HttpContext http)
    {
        var batch = await JsonSerializer.DeserializeAsync<ProgressEventBatch>(http.Request.Body, CyberHubJson.Options);
        var events = batch?.Events ?? [];
        int status;
        lock (_lock)
        {
            // Decided and recorded under one lock, so the record's order is the order the answers were given in.
            status = Respond(events);
            _attempts.Add(new Attempt(events, http.Request.Headers.Authorization.ToString(), status, DateTime.UtcNow));
        }
        http.Response.StatusCode = status;
        if (status == StatusCodes.Status200OK)
        {
            await http.Response.WriteAsJsonAsync(new ProgressEventsResult(events.Count, 0), CyberHubJson.Options);
        }
        else
        {
            await http.Response.WriteAsJsonAsync(new { detail = $"Answered {status} as the test asked." });
        }
    }
}
