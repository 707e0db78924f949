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
public abstract class AiServer : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));
    private WebApplication? _app;

    public SqliteCoreServer Core { get; } = new();
    public Uri BaseAddress { get; private set; } = null!;
    public IServiceProvider Services => _app!.Services;

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
        _app = AiApp.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
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

    public HttpClient CreateClient(string? accessToken = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (accessToken is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", accessToken);
        }
        return client;
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
    private string? _database;

    protected override async Task<string?> CreateVectorDatabaseAsync()
    {
        _database = TestPostgres.NewName("vectors_test");
        return await TestPostgres.CreateDatabaseAsync(_database);
    }

    protected override Task DropVectorDatabaseAsync() => _database is null ? Task.CompletedTask : TestPostgres.DropDatabaseAsync(_database);
}
