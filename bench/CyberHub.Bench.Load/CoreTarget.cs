using CyberHub.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Npgsql;

namespace CyberHub.Bench.Load;

/// <summary>
/// The Core under test: an already-running one named by --url, or one started in this process on a free
/// loopback port with a fresh SQLite data directory or a fresh PostgreSQL database, removed afterwards.
/// </summary>
public sealed class CoreTarget : IAsyncDisposable
{
    private WebApplication? _app;
    private string? _dataDirectory;
    private string? _adminConnectionString;
    private string? _database;
    private bool _dropDatabase;

    public required Uri BaseAddress { get; init; }
    public required string Description { get; init; }
    public bool InProcess => _app is not null;
    /// <summary>The PostgreSQL database the in-process Core uses; null for SQLite (inside Core) or --url.</summary>
    public string? PostgresDatabase => _database;

    public static Task<CoreTarget> AttachAsync(Uri url) =>
        Task.FromResult(new CoreTarget { BaseAddress = url, Description = $"already-running Core at {url}" });

    /// <param name="keptDatabase">
    /// PostgreSQL only: the database to use, created if it does not exist, and kept afterwards (so that a later run can
    /// reuse what this one wrote); by default a fresh database, dropped afterwards.
    /// </param>
    public static async Task<CoreTarget> StartAsync(
        Database database, string? postgres, IReadOnlyDictionary<string, string?>? extraSettings = null, string? keptDatabase = null)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-bench", Guid.NewGuid().ToString("N"));
        string? databaseName = null;
        string? connectionString = null;
        if (database == Database.Postgres)
        {
            databaseName = keptDatabase ?? $"bench_{Guid.NewGuid():N}";
            if (keptDatabase is null || !await ExistsAsync(postgres!, keptDatabase))
            {
                await ExecuteAsync(postgres!, $"CREATE DATABASE {databaseName}");
            }
            connectionString = new NpgsqlConnectionStringBuilder(postgres) { Database = databaseName }.ConnectionString;
        }

        var settings = new Dictionary<string, string?>
        {
            ["CYBERHUB_DATA_DIR"] = dataDirectory,
            ["CYBERHUB_CORE_URL"] = "http://127.0.0.1:0",
            ["ConnectionStrings:core"] = connectionString,
            // A load generator is one client address and a few users sending far more than a person would.
            ["RateLimiting:Enabled"] = "false",
            // The levels the cyberhub host ships with: one event per request, warnings and errors.
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Warning",
        };
        foreach (var (key, value) in extraSettings ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        WebApplication? app = null;
        try
        {
            app = CoreApp.Build([], builder =>
            {
                builder.Configuration.AddInMemoryCollection(settings);
                builder.Logging.ClearProviders();
                // Server logs go to stderr so that stdout stays the report.
                builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
                builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            });
            await app.StartAsync();
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }
            await CleanUpAsync(null, dataDirectory, postgres, keptDatabase is null ? databaseName : null);
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new CoreTarget
        {
            BaseAddress = new Uri(address),
            Description = database == Database.Postgres
                ? $"in-process Core, PostgreSQL database {databaseName} ({new NpgsqlConnectionStringBuilder(postgres) { Password = null }.ConnectionString})"
                : $"in-process Core, SQLite in {dataDirectory}",
            _app = app,
            _dataDirectory = dataDirectory,
            _adminConnectionString = postgres,
            _database = databaseName,
            _dropDatabase = keptDatabase is null,
        };
    }

    public ValueTask DisposeAsync() => new(CleanUpAsync(_app, _dataDirectory, _adminConnectionString, _dropDatabase ? _database : null));

    private static async Task CleanUpAsync(WebApplication? app, string? dataDirectory, string? adminConnectionString, string? database)
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        if (database is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(adminConnectionString!, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }
        if (dataDirectory is not null && Directory.Exists(dataDirectory))
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    private static async Task<bool> ExistsAsync(string connectionString, string database)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
        command.Parameters.AddWithValue("name", database);
        return await command.ExecuteScalarAsync() is not null;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
