using CyberHub.Ai;
using CyberHub.Testing;

namespace CyberHub.Contract.Tests;

/// <summary>
/// Core and AI as they run together on loopback ports, each knowing the other, Core's outbox delivering to AI. Their
/// public addresses are the README's defaults (localhost:8000 and :8001), so the documents they serve name the same
/// servers as the committed ones.
/// </summary>
public sealed class ContractServices : IAsyncLifetime
{
    public const string CorePublicUrl = "http://localhost:8000";
    public const string AiPublicUrl = "http://localhost:8001";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "cyberhub-contract", Guid.NewGuid().ToString("N"));

    public CoreService Core { get; private set; } = null!;
    public AiService Ai { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var corePort = LoopbackPorts.Free();
        var aiPort = LoopbackPorts.Free();
        Core = new CoreService(corePort, aiPort, Path.Combine(_root, "core"));
        Ai = new AiService(aiPort, corePort, Path.Combine(_root, "ai"));
        await Core.InitializeAsync();
        await Ai.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Ai.StopAsync();
        await Core.DisposeAsync();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    public sealed class CoreService(int port, int aiPort, string dataDirectory) : CoreServer
    {
        protected override string DataDirectory => dataDirectory;
        protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);

        protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
        {
            ["CYBERHUB_CORE_URL"] = $"http://127.0.0.1:{port}",
            ["CYBERHUB_CORE_PUBLIC_URL"] = CorePublicUrl,
            ["CYBERHUB_AI_API_URL"] = $"http://127.0.0.1:{aiPort}",
            ["CYBERHUB_AI_PUBLIC_URL"] = AiPublicUrl,
            ["Outbox:Enabled"] = "true",
            ["Outbox:PollInterval"] = "00:00:00.200",
            ["Outbox:MinBackoff"] = "00:00:00.200",
            ["Outbox:MaxBackoff"] = "00:00:01",
        };
    }

    public sealed class AiService(int port, int corePort, string dataDirectory) : LoopbackService
    {
        public Task StartAsync() => StartAsync(AiApp.Build, new Dictionary<string, string?>
        {
            ["CYBERHUB_DATA_DIR"] = dataDirectory,
            ["CYBERHUB_AI_URL"] = $"http://127.0.0.1:{port}",
            ["CYBERHUB_AI_PUBLIC_URL"] = AiPublicUrl,
            ["CYBERHUB_CORE_API_URL"] = $"http://127.0.0.1:{corePort}",
        });

        public new Task StopAsync() => base.StopAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ContractCollection : ICollectionFixture<ContractServices>
{
    public const string Name = "contract";
}
