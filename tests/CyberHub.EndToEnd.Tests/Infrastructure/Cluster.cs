using System.Diagnostics;
using System.Text;
using CyberHub.EndToEnd.Tests.Faults;
using CyberHub.Testing;
using Npgsql;

namespace CyberHub.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The multi-instance deployment of scripts/cluster.sh: two Core and two AI processes behind nginx on loopback,
/// over fresh PostgreSQL databases and a fresh Redis prefix. Started with <c>cluster.sh up</c> and always
/// stopped with <c>cluster.sh down</c>; the services run from the Release build of src/CyberHub.Host.
/// </summary>
public sealed class Cluster : IAsyncDisposable
{
    private readonly string _state = Path.Combine(Path.GetTempPath(), "cyberhub-cluster-tests", Guid.NewGuid().ToString("N")[..12]);
    private readonly string _coreDb = TestPostgres.NewName("cluster_core");
    private readonly string _vectorsDb = TestPostgres.NewName("cluster_vectors");
    private bool _started;

    private Cluster()
    {
        FrontDoor = new Uri($"http://127.0.0.1:{LoopbackPorts.Free()}");
        CorePorts = [LoopbackPorts.Free(), LoopbackPorts.Free()];
        AiPorts = [LoopbackPorts.Free(), LoopbackPorts.Free()];
    }

    /// <summary>nginx: every request of the test goes through it.</summary>
    public Uri FrontDoor { get; }
    public IReadOnlyList<int> CorePorts { get; }
    public IReadOnlyList<int> AiPorts { get; }

    public string CoreConnectionString => new NpgsqlConnectionStringBuilder(TestPostgres.AdminConnectionString) { Database = _coreDb }.ConnectionString;
    public string VectorsConnectionString => new NpgsqlConnectionStringBuilder(TestPostgres.AdminConnectionString) { Database = _vectorsDb }.ConnectionString;

    /// <summary>Runs <c>cluster.sh up</c>; on failure the cluster is taken down again and the script's output is in the exception.</summary>
    public static async Task<Cluster> StartAsync(IDictionary<string, string> serviceSettings)
    {
        // What the cluster needs, first: a missing service fails the test with its own message.
        var postgres = TestPostgres.AdminConnectionString;
        var redis = TestRedis.ConnectionString;
        var nginx = NginxPath;
        var cluster = new Cluster();
        try
        {
            var hostDll = await HostBuild.EnsureAsync();
            var environment = new Dictionary<string, string>(serviceSettings)
            {
                ["CYBERHUB_CLUSTER_DIR"] = cluster._state,
                ["CYBERHUB_CLUSTER_PORT"] = cluster.FrontDoor.Port.ToString(),
                ["CYBERHUB_CLUSTER_CORE_PORTS"] = string.Join(' ', cluster.CorePorts),
                ["CYBERHUB_CLUSTER_AI_PORTS"] = string.Join(' ', cluster.AiPorts),
                ["CYBERHUB_CLUSTER_POSTGRES"] = postgres,
                ["CYBERHUB_CLUSTER_CORE_DB"] = cluster._coreDb,
                ["CYBERHUB_CLUSTER_VECTORS_DB"] = cluster._vectorsDb,
                ["CYBERHUB_CLUSTER_REDIS"] = redis,
                ["CYBERHUB_CLUSTER_CACHE_PREFIX"] = TestRedis.NewPrefix(),
                ["CYBERHUB_CLUSTER_NGINX"] = nginx,
                ["CYBERHUB_CLUSTER_HOST_DLL"] = hostDll,
                ["CYBERHUB_CLUSTER_START_TIMEOUT"] = "120",
            };
            cluster._started = true;
            var (code, output) = await RunScriptAsync("up", environment, TimeSpan.FromMinutes(4));
            if (code != 0)
            {
                throw new InvalidOperationException($"scripts/cluster.sh up failed (exit {code}):\n{output}");
            }
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills an instance at once (SIGKILL), as a crash would: "core-1", "ai-2", ...</summary>
    public void Kill(string instance)
    {
        var pid = int.Parse(File.ReadAllText(Path.Combine(_state, "pids", $"{instance}.pid")).Trim());
        using (var process = Process.GetProcessById(pid))
        {
            process.Kill();
        }
        // Not a child of this process, so no waiting for it: gone (or a zombie) is dead enough.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Runs(pid))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{instance} (pid {pid}) still runs after SIGKILL");
            Thread.Sleep(20);
        }
    }

    private static bool Runs(int pid)
    {
        try
        {
            return !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The last lines of every log of the cluster, for failure messages.</summary>
    public string Diagnostics()
    {
        var logs = Path.Combine(_state, "logs");
        if (!Directory.Exists(logs))
        {
            return "(no logs)";
        }
        var text = new StringBuilder();
        foreach (var file in Directory.EnumerateFiles(logs).Order())
        {
            var lines = File.ReadAllLines(file);
            text.AppendLine($"--- {Path.GetFileName(file)} (last 25 of {lines.Length} lines)");
            foreach (var line in lines.TakeLast(25))
            {
                text.AppendLine(line);
            }
        }
        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_started)
        {
            return;
        }
        var (code, output) = await RunScriptAsync("down", new Dictionary<string, string> { ["CYBERHUB_CLUSTER_DIR"] = _state }, TimeSpan.FromMinutes(1));
        Assert.True(code == 0, $"scripts/cluster.sh down failed (exit {code}):\n{output}");
        await TestPostgres.DropDatabaseAsync(_coreDb);
        await TestPostgres.DropDatabaseAsync(_vectorsDb);
        if (Directory.Exists(_state) && Environment.GetEnvironmentVariable("CYBERHUB_TEST_KEEP_CLUSTER") != "1")
        {
            Directory.Delete(_state, recursive: true);
        }
    }

    private static string NginxPath =>
        Environment.GetEnvironmentVariable("CYBERHUB_TEST_NGINX") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("CYBERHUB_TEST_NGINX is not set: run the suite with scripts/test.sh, which installs nginx.");

    private static async Task<(int Code, string Output)> RunScriptAsync(string command, IDictionary<string, string> environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(HostBuild.RepositoryRoot, "scripts", "cluster.sh"), command])
        {
            WorkingDirectory = HostBuild.RepositoryRoot,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        return await ChildProcess.RunAsync(start, timeout);
    }
}
