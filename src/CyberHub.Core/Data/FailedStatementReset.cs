using System.Data.Common;
using System.Runtime.CompilerServices;
using CyberHub.ServiceDefaults.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace CyberHub.Core.Data;

/// <summary>
/// After a command failed on a PostgreSQL connection, drops the statements prepared on it
/// (<see cref="PostgresConnections.ForgetPreparedStatements"/>) as soon as its transaction is over: when it is rolled
/// back, or else before the connection goes back to the pool. One caller's failed write can then never leave a
/// half-prepared statement for the next caller on that connection (npgsql/npgsql#6391). One instance serves every
/// context; a connection is marked in a weak table, so a marked connection that is dropped is forgotten with it.
/// </summary>
internal sealed class FailedStatementReset : DbCommandInterceptor, IDbConnectionInterceptor, IDbTransactionInterceptor
{
    public static readonly FailedStatementReset Instance = new();

    private static readonly object Marked = new();
    private readonly ConditionalWeakTable<DbConnection, object> _failed = [];

    private FailedStatementReset()
    {
    }

    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData) => Mark(command.Connection);

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Mark(command.Connection);
        return Task.CompletedTask;
    }

    // A cancelled command may have been cancelled by PostgreSQL at any point of its round trip, binding included.
    public override void CommandCanceled(DbCommand command, CommandEndEventData eventData) => Mark(command.Connection);

    public override Task CommandCanceledAsync(DbCommand command, CommandEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Mark(command.Connection);
        return Task.CompletedTask;
    }

    public void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => Reset(eventData.Context);

    public Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Reset(eventData.Context);
        return Task.CompletedTask;
    }

    public InterceptionResult ConnectionClosing(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        Reset(connection);
        return result;
    }

    public ValueTask<InterceptionResult> ConnectionClosingAsync(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        Reset(connection);
        return ValueTask.FromResult(result);
    }

    private void Mark(DbConnection? connection)
    {
        if (connection is NpgsqlConnection)
        {
            _failed.AddOrUpdate(connection, Marked);
        }
    }

    private void Reset(DbContext? context)
    {
        if (context is not null)
        {
            Reset(context.Database.GetDbConnection());
        }
    }

    private void Reset(DbConnection connection)
    {
        if (connection is NpgsqlConnection npgsql && _failed.Remove(connection))
        {
            PostgresConnections.ForgetPreparedStatements(npgsql);
        }
    }
}
