using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CyberHub.Core.Data;

/// <summary>
/// SQLite admits one writer at a time. Without a busy timeout a locked write fails at once and the driver
/// retries after a blocking 150 ms sleep, which gives writes under contention a tail of seconds; with it,
/// SQLite itself waits for the lock and takes it as soon as it is free.
/// </summary>
internal sealed class SqliteBusyTimeout : DbConnectionInterceptor
{
    private const string Pragma = "PRAGMA busy_timeout = 30000;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    private static void Apply(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        command.ExecuteNonQuery();
    }
}
