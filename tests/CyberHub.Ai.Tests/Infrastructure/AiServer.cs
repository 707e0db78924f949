using CyberHub.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CyberHub.Ai.Tests.Infrastructure;

/// <summary>
/// A real Core and a real AI service, each on its own loopback port: AI verifies tokens through Core's
/// JWKS over HTTP, as in production. The AI catalog starts seeded with the demo catalog.
/// </summary>
public abstract class AiServer : LoopbackService, IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));
    public SqliteCoreServer Core { get; } = new();

    protected abstract Task<string?> CreateVectorDatabaseAsync();
    protected virtual Task DropVectorDatabaseAsync() => Task.CompletedTask;

    /// <summary>A Core started elsewhere, instead of the server's own.</summary>
    protected virtual Uri? ExternalCore => null;
    protected virtual IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        if (ExternalCore is null)
        {
            await Core.InitializeAsync();
        }
        var settings = new Dictionary<string, string?>
        {
            ["CYBERHUB_DATA_DIR"] = _dataDirectory,
            ["CYBERHUB_AI_URL"] = "http://127.0.0.1:0",
            ["CYBERHUB_CORE_API_URL"] = (ExternalCore ?? Core.BaseAddress).ToString(),
            ["ConnectionStrings:vectors"] = await CreateVectorDatabaseAsync(),
        };
        foreach (var (key, value) in ExtraSettings)
        {
            settings[key] = value;
        }
        await StartAsync(AiApp.Build, settings);
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        await DropVectorDatabaseAsync();
        if (ExternalCore is null)
        {
            await Core.DisposeAsync();
        }
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    /// <summary>A learner registered in Core, with a client for the AI service carrying their token.</summary>
    public async Task<HttpClient> LearnerClientAsync() => CreateClient((await Core.RegisterAsync()).Access);

    public async Task<HttpClient> AdminClientAsync()
    {
        using var core = await Core.AdminClientAsync();
        return CreateClient(core.DefaultRequestHeaders.Authorization!.Parameter);
    }
}

public sealed class EmbeddedAiServer : AiServer
{
    protected override Task<string?> CreateVectorDatabaseAsync() => Task.FromResult<string?>(null);
}

public sealed class PgVectorAiServer : AiServer
{
    private readonly ThrowawayDatabase _database = new("vectors_test");

    protected override async Task<string?> CreateVectorDatabaseAsync() => await _database.CreateAsync();

    protected override Task DropVectorDatabaseAsync() => _database.DropAsync();
}
