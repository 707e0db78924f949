using System.Net.Http.Headers;
using System.Net.Http.Json;
using CyberHub.Contracts;
using CyberHub.Core;
using Xunit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CyberHub.Testing;

/// <summary>
/// A real Core service on a free loopback port, with its own database: a fresh SQLite file, or a fresh
/// PostgreSQL database on the server scripts/test.sh provides. Tests talk to it over real HTTP.
/// </summary>
public abstract class CoreServer : LoopbackService, IAsyncLifetime
{
    public const string AdminEmail = "admin@cyberhub.test";
    public const string AdminPassword = "admin-password-1";

    /// <summary>Where the service keeps its SQLite file and keys; a fresh one, removed afterwards, unless a subclass says otherwise.</summary>
    protected virtual string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));
    protected virtual bool OwnsDataDirectory => true;

    protected abstract Task<string?> CreateDatabaseAsync();
    protected virtual Task DropDatabaseAsync() => Task.CompletedTask;
    protected virtual IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        var connectionString = await CreateDatabaseAsync();
        var settings = new Dictionary<string, string?>
        {
            ["CYBERHUB_DATA_DIR"] = DataDirectory,
            ["CYBERHUB_CORE_URL"] = "http://127.0.0.1:0",
            ["CYBERHUB_ADMIN_EMAIL"] = AdminEmail,
            ["CYBERHUB_ADMIN_PASSWORD"] = AdminPassword,
            ["ConnectionStrings:core"] = connectionString,
            // Events go nowhere unless a test says where: by default a Core under test would post them to
            // localhost:8001, which may be a developer's own running AI service.
            ["Outbox:Enabled"] = "false",
        };
        foreach (var (key, value) in ExtraSettings)
        {
            settings[key] = value;
        }
        await StartAsync(CoreApp.Build, settings);
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        await DropDatabaseAsync();
        if (OwnsDataDirectory && Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }

    /// <summary>Registers a new learner with a unique name and returns a client that carries their token.</summary>
    public async Task<Learner> RegisterAsync(string prefix = "learner")
    {
        var name = $"{prefix}{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 12, 40)];
        var password = $"pw-{Guid.NewGuid():N}";
        using var anonymous = CreateClient();
        var response = await anonymous.PostAsJsonAsync("/api/v1/users/",
            new RegisterRequest($"{name}@example.com", name, password, "Test", "Learner"), CyberHubJson.Options);
        response.EnsureSuccessStatusCode();
        var registered = (await response.Content.ReadFromJsonAsync<RegisterResponse>(CyberHubJson.Options))!;
        return new Learner(registered.User, password, registered.Access, registered.Refresh, CreateClient(registered.Access));
    }

    public async Task<HttpClient> AdminClientAsync()
    {
        using var anonymous = CreateClient();
        var response = await anonymous.PostAsJsonAsync("/api/v1/token/", new TokenRequest(AdminEmail, null, AdminPassword), CyberHubJson.Options);
        response.EnsureSuccessStatusCode();
        var pair = (await response.Content.ReadFromJsonAsync<TokenPair>(CyberHubJson.Options))!;
        return CreateClient(pair.Access);
    }
}

public sealed record Learner(UserDto User, string Password, string Access, string Refresh, HttpClient Client);

public sealed class SqliteCoreServer : CoreServer
{
    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
}

public sealed class PostgresCoreServer : CoreServer
{
    private readonly ThrowawayDatabase _database = new("core_test");

    protected override async Task<string?> CreateDatabaseAsync() => await _database.CreateAsync();

    protected override Task DropDatabaseAsync() => _database.DropAsync();
}
