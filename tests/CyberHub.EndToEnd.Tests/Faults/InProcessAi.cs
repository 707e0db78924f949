using CyberHub.Ai;
using CyberHub.Testing;

namespace CyberHub.EndToEnd.Tests.Faults;

/// <summary>An AI service in the test process, configured entirely by the test (where Core is, which stores, which Redis).</summary>
public sealed class InProcessAi(IDictionary<string, string?> settings) : LoopbackService, IAsyncDisposable
{
    public Task StartAsync() => StartAsync(AiApp.Build, settings);

    public new Task StopAsync() => base.StopAsync();

    public ValueTask DisposeAsync() => new(StopAsync());
}
