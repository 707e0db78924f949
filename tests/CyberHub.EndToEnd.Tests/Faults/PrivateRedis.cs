using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using CyberHub.Testing;

namespace CyberHub.EndToEnd.Tests.Faults;

/// <summary>
/// A redis-server of one test's own (no persistence), a child of the test process on a free loopback port, which the
/// test may kill and start again on the same port. The shared test Redis is never touched. A server that cannot be
/// started fails the test.
/// </summary>
public sealed class PrivateRedis : IAsyncDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "cyberhub-faults", $"redis-{Guid.NewGuid():N}"[..18]);
    private Process? _process;

    public int Port { get; } = LoopbackPorts.Free();

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<PrivateRedis> StartAsync()
    {
        var redis = new PrivateRedis();
        try
        {
            await redis.StartServerAsync();
            return redis;
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }
    }

    public async Task StartServerAsync()
    {
        Directory.CreateDirectory(_directory);
        var start = new ProcessStartInfo("redis-server",
            ["--bind", "127.0.0.1", "--port", Port.ToString(), "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--dir", _directory, "--logfile", Path.Combine(_directory, "redis.log")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("redis-server is not installed: the fault tests need it (scripts/test-services.sh installs it).", e);
        }
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await PingAsync())
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                var log = Path.Combine(_directory, "redis.log");
                throw new InvalidOperationException(
                    $"The private redis-server on port {Port} did not answer PING:\n{(File.Exists(log) ? File.ReadAllText(log) : "(no log)")}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Stops the server at once (SIGKILL), as a crash would; clients see their connections drop.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    public async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync("127.0.0.1", Port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
