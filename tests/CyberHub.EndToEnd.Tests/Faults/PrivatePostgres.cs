using System.Diagnostics;
using System.Runtime.Versioning;
using CyberHub.Testing;
using Npgsql;

namespace CyberHub.EndToEnd.Tests.Faults;

/// <summary>
/// A PostgreSQL server of one test's own, which the test may stop and start: a throwaway cluster from Debian's
/// binaries (initdb into a temporary directory, pg_ctl on a free loopback port, its socket in that directory). The
/// shared test server (<c>CYBERHUB_TEST_POSTGRES</c>) serves other test projects running meanwhile and is never
/// restarted. PostgreSQL refuses to run as root, so as root (CI) every server-side command runs as the
/// <c>postgres</c> user, as scripts/test-services.sh does. A server that cannot be started fails the test.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private const string Bin = "/usr/lib/postgresql/15/bin";
    private const string ServerUser = "postgres";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "cyberhub-faults", $"pg-{Guid.NewGuid():N}"[..15]);
    private readonly string _password = Guid.NewGuid().ToString("N");

    private PrivatePostgres()
    {
        Port = LoopbackPorts.Free();
    }

    public int Port { get; }

    private string DataDirectory => Path.Combine(_root, "data");
    private string SocketDirectory => Path.Combine(_root, "run");
    public string LogFile => Path.Combine(DataDirectory, "server.log");

    /// <summary>The superuser, over TCP with a password, as the services connect.</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = ServerUser,
        Password = _password,
        Database = database,
        Timeout = 5,
    }.ConnectionString;

    public static async Task<PrivatePostgres> StartAsync()
    {
        if (OperatingSystem.IsWindows() || !File.Exists(Path.Combine(Bin, "initdb")))
        {
            throw new InvalidOperationException($"{Bin}/initdb is missing: the fault tests need Debian's postgresql-15 (scripts/test-services.sh installs it).");
        }
        var server = new PrivatePostgres();
        try
        {
            await server.InitializeAsync();
            await server.StartServerAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates a database (pgvector's extension is installed system-wide, so <c>CREATE EXTENSION vector</c> works in it).</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = TestPostgres.NewName(prefix);
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection))
        {
            await create.ExecuteNonQueryAsync();
        }
        return ConnectionString(name);
    }

    /// <summary><c>pg_ctl stop -m fast</c>: sessions are ended at once, running transactions roll back.</summary>
    public Task StopAsync() => PgCtlAsync("stop", "-D", DataDirectory, "-w", "-t", "60", "-m", "fast");

    public Task StartServerAsync() => PgCtlAsync("start", "-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-o",
        $"-c listen_addresses=127.0.0.1 -p {Port} -c unix_socket_directories={SocketDirectory} -c max_connections=200 " +
        "-c fsync=off -c full_page_writes=off");

    public async ValueTask DisposeAsync()
    {
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try
            {
                await PgCtlAsync("stop", "-D", DataDirectory, "-w", "-t", "30", "-m", "immediate");
            }
            catch (InvalidOperationException)
            {
                // Already stopped; the directory goes either way.
            }
        }
        NpgsqlConnection.ClearAllPools();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [UnsupportedOSPlatform("windows")]
    private async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        // The server user must reach its directories through ours.
        File.SetUnixFileMode(_root, (UnixFileMode)0b111_101_101);
        var passwordFile = Path.Combine(_root, "password");
        await File.WriteAllTextAsync(passwordFile, _password);
        File.SetUnixFileMode(passwordFile, (UnixFileMode)0b110_100_100);
        foreach (var directory in new[] { DataDirectory, SocketDirectory })
        {
            if (AsRoot)
            {
                await RunAsync(new ProcessStartInfo("install", ["-d", "-o", ServerUser, "-g", ServerUser, "-m", "700", directory]));
            }
            else
            {
                Directory.CreateDirectory(directory, (UnixFileMode)0b111_000_000);
            }
        }
        await RunAsync(ServerCommand("initdb", "-D", DataDirectory, "-U", ServerUser, "-E", "UTF8", "--locale=C.UTF-8", "-N",
            "--auth-local=trust", "--auth-host=scram-sha-256", $"--pwfile={passwordFile}"));
        File.Delete(passwordFile);
    }

    private Task PgCtlAsync(params string[] arguments) => RunAsync(ServerCommand("pg_ctl", arguments));

    private static bool AsRoot => Environment.IsPrivilegedProcess;

    private static ProcessStartInfo ServerCommand(string program, params string[] arguments)
    {
        var path = Path.Combine(Bin, program);
        var start = AsRoot ? new ProcessStartInfo("runuser", ["-u", ServerUser, "--", path, .. arguments]) : new ProcessStartInfo(path, arguments);
        // The server user may not be allowed into the test's working directory.
        start.WorkingDirectory = "/";
        foreach (var variable in new[] { "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGOPTIONS" })
        {
            start.Environment.Remove(variable);
        }
        return start;
    }

    private async Task RunAsync(ProcessStartInfo start)
    {
        var (code, output) = await ChildProcess.RunAsync(start, TimeSpan.FromSeconds(90));
        if (code != 0)
        {
            var log = File.Exists(LogFile) ? string.Join('\n', File.ReadLines(LogFile).TakeLast(20)) : "(no server log)";
            throw new InvalidOperationException(
                $"The private PostgreSQL server failed: {start.FileName} {string.Join(' ', start.ArgumentList)} exited with {code}:\n{output}\n{log}");
        }
    }
}
