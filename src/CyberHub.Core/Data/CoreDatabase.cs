using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CyberHub.Core.Data;

public static class CoreDatabase
{
    /// <summary>
    /// PostgreSQL when <c>ConnectionStrings:core</c> is set, otherwise an SQLite file in the data directory; and the
    /// hourly purge of its expired idempotency keys.
    /// </summary>
    public static IServiceCollection AddCoreDatabase(this IServiceCollection services, IConfiguration configuration, string dataDirectory)
    {
        var postgres = configuration.GetConnectionString("core");
        if (!string.IsNullOrWhiteSpace(postgres))
        {
            // Core keeps no session state on its connections (transaction-scoped locks only), so a connection drawn
            // again from the pool needs no reset.
            services.AddDbContextPool<CoreDbContext, PostgresCoreDbContext>(o => o.UseNpgsql(PostgresConnections.TunedStateless(postgres))
                .AddInterceptors(QueryDurationInterceptor.PostgreSql, FailedStatementReset.Instance));
        }
        else
        {
            var file = Path.Combine(dataDirectory, "core.db");
            // 0700 directory, 0600 database (and its -wal/-shm), before SQLite first opens it.
            DataDirectory.PrepareSqliteFile(file);
            var sqlite = new SqliteConnectionStringBuilder
            {
                DataSource = file,
                Pooling = true,
                DefaultTimeout = 30,
            }.ToString();
            services.AddDbContextPool<CoreDbContext, SqliteCoreDbContext>(o => o.UseSqlite(sqlite)
                .AddInterceptors(new SqliteBusyTimeout(), QueryDurationInterceptor.Sqlite));
        }
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database");
        services.AddHostedService<IdempotencyKeyPurge>();
        return services;
    }

    /// <summary>Creates or upgrades the schema; on SQLite also switches to WAL so readers never wait for the writer.</summary>
    public static async Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
        await db.Database.MigrateAsync(cancellationToken);
        await Users.UsersService.FillMissingSkeletonsAsync(db, cancellationToken);
        if (!db.OnPostgres)
        {
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
    }

    private sealed class DatabaseHealthCheck(CoreDbContext db) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                return await db.Database.CanConnectAsync(cancellationToken)
                    ? HealthCheckResult.Healthy(db.OnPostgres ? "postgresql" : "sqlite")
                    : HealthCheckResult.Unhealthy("cannot connect");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy("cannot connect", e);
            }
        }
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build each provider's context without starting the service.</summary>
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteCoreDbContext>
{
    public SqliteCoreDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteCoreDbContext>().UseSqlite("Data Source=design.db").Options);
}

internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresCoreDbContext>
{
    public PostgresCoreDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresCoreDbContext>().UseNpgsql("Host=localhost;Database=design").Options);
}
