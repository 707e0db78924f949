using System.Data.Common;
using CyberHub.ServiceDefaults.Observability;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CyberHub.Core.Data;

/// <summary>
/// Records every EF Core command in <see cref="CyberHubTelemetry.DbQueryDuration"/>, by <c>db.system</c> and
/// <c>db.operation</c> (the statement's first keyword, or <c>batch</c>), with <c>error.type</c> when it failed. The duration is EF
/// Core's own measure: until the database answered (for a query, until the reader was in hand; reading its rows
/// is the caller's time). One instance per provider, shared by every context: it holds no state.
/// </summary>
internal sealed class QueryDurationInterceptor : DbCommandInterceptor
{
    public static readonly QueryDurationInterceptor Sqlite = new("sqlite");
    public static readonly QueryDurationInterceptor PostgreSql = new("postgresql");

    private readonly KeyValuePair<string, object?> _system;

    private QueryDurationInterceptor(string system) => _system = new("db.system", system);

    public override DbDataReader ReaderExecuted(DbCommand command, CommandExecutedEventData eventData, DbDataReader result)
    {
        Record(command, eventData.Duration);
        return result;
    }

    public override ValueTask<DbDataReader> ReaderExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
    {
        Record(command, eventData.Duration);
        return ValueTask.FromResult(result);
    }

    public override int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        Record(command, eventData.Duration);
        return result;
    }

    public override ValueTask<int> NonQueryExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Record(command, eventData.Duration);
        return ValueTask.FromResult(result);
    }

    public override object? ScalarExecuted(DbCommand command, CommandExecutedEventData eventData, object? result)
    {
        Record(command, eventData.Duration);
        return result;
    }

    public override ValueTask<object?> ScalarExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, object? result, CancellationToken cancellationToken = default)
    {
        Record(command, eventData.Duration);
        return ValueTask.FromResult(result);
    }

    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData) =>
        Record(command, eventData.Duration, eventData.Exception.GetType().FullName);

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Record(command, eventData.Duration, eventData.Exception.GetType().FullName);
        return Task.CompletedTask;
    }

    public override void CommandCanceled(DbCommand command, CommandEndEventData eventData) =>
        Record(command, eventData.Duration, "canceled");

    public override Task CommandCanceledAsync(DbCommand command, CommandEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Record(command, eventData.Duration, "canceled");
        return Task.CompletedTask;
    }

    private void Record(DbCommand command, TimeSpan duration)
    {
        CyberHubTelemetry.DbQueryDuration.Record(duration.TotalSeconds, _system, new("db.operation", Operation(command.CommandText)));
    }

    private void Record(DbCommand command, TimeSpan duration, string? errorType)
    {
        CyberHubTelemetry.DbQueryDuration.Record(duration.TotalSeconds,
            _system, new("db.operation", Operation(command.CommandText)), new("error.type", errorType ?? "_OTHER"));
    }

    /// <summary>
    /// The statement's first keyword in lower case: select, insert, update or delete; anything else is "other".
    /// Leading comments (EF Core's query tags) are skipped. Several statements in one command are a "batch": on
    /// PostgreSQL, SaveChanges sends a change and its outbox event together, and a delete timed as an insert
    /// would mislead.
    /// </summary>
    internal static string Operation(string? sql)
    {
        var text = sql.AsSpan();
        while (true)
        {
            text = text.TrimStart();
            int end;
            if (text.StartsWith("--"))
            {
                end = text.IndexOf('\n');
                text = end < 0 ? [] : text[(end + 1)..];
            }
            else if (text.StartsWith("/*"))
            {
                end = text.IndexOf("*/");
                text = end < 0 ? [] : text[(end + 2)..];
            }
            else
            {
                break;
            }
        }
        var length = 0;
        while (length < text.Length && char.IsAsciiLetter(text[length]))
        {
            length++;
        }
        var keyword = text[..length];
        // EF Core ends each statement of a batch with a semicolon; values are parameters, so a semicolon
        // inside a literal is rare enough to ignore.
        var semicolon = text.IndexOf(';');
        if (semicolon >= 0 && !text[(semicolon + 1)..].IsWhiteSpace())
        {
            return "batch";
        }
        return keyword.Equals("select", StringComparison.OrdinalIgnoreCase) ? "select"
            : keyword.Equals("insert", StringComparison.OrdinalIgnoreCase) ? "insert"
            : keyword.Equals("update", StringComparison.OrdinalIgnoreCase) ? "update"
            : keyword.Equals("delete", StringComparison.OrdinalIgnoreCase) ? "delete"
            : "other";
    }
}
