using System.Data.Common;
using Npgsql;

namespace CyberHub.ServiceDefaults.Data;

/// <summary>How both services open PostgreSQL.</summary>
public static class PostgresConnections
{
    /// <summary>
    /// Statements kept prepared per connection: room for every statement of the hot paths (a PATCH, a progress list, a
    /// recommendation miss); beyond that Npgsql replaces the least recently used.
    /// </summary>
    public const int MaxAutoPrepare = 64;

    /// <summary>
    /// The configured connection string with Npgsql's automatic preparation on, unless the string sets
    /// <c>Max Auto Prepare</c> itself (0 turns it off). Each service repeats a few dozen statements; once one has run
    /// five times on a connection, PostgreSQL keeps it parsed and planned there instead of doing both on every call.
    /// </summary>
    public static string Tuned(string connectionString)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        if (given.Keys.Cast<string>().Any(IsMaxAutoPrepare))
        {
            return connectionString;
        }
        return new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = MaxAutoPrepare }.ConnectionString;
    }

    /// <summary>
    /// Drops every statement prepared on <paramref name="connection"/>, on PostgreSQL and in Npgsql's own account of
    /// them, once a statement has failed on it; if that cannot be done, the pool's connections are all replaced.
    /// Call it after the failed transaction has ended (PostgreSQL takes nothing but a rollback in an aborted one).
    /// </summary>
    /// <remarks>
    /// A statement PostgreSQL refuses while binding its parameters, in the round trip where Npgsql prepares it, stays
    /// prepared with no description of its rows: its next run on that connection, whoever makes it, fails with
    /// "Received unexpected backend message DataRow" (npgsql/npgsql#6391). Dropping them all after any failure is
    /// cheap (failures are rare; the statements are prepared again after five runs) and does not depend on knowing
    /// which failures leave that state behind.
    /// </remarks>
    public static void ForgetPreparedStatements(NpgsqlConnection connection)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            // Closed or broken: Npgsql does not give a broken connection back to the pool.
            return;
        }
        try
        {
            connection.UnprepareAll();
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // Still inside the failed transaction, or the connection broke: no one may draw it as it is.
            NpgsqlConnection.ClearPool(connection);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a connection of <paramref name="dataSource"/> and, if it fails, forgets the
    /// statements prepared on that connection before it goes back to the pool (see <see cref="ForgetPreparedStatements"/>).
    /// <paramref name="work"/> must end its transactions itself (<c>await using</c>), as it does when it throws.
    /// </summary>
    public static async Task<T> RunAsync<T>(NpgsqlDataSource dataSource, Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            return await work(connection);
        }
        catch
        {
            ForgetPreparedStatements(connection);
            throw;
        }
    }

    /// <summary>
    /// <see cref="Tuned"/>, and without the session reset Npgsql otherwise sends each time a pooled connection is drawn
    /// again (<c>No Reset On Close</c>), unless the string sets it itself. That reset is seven statements
    /// (<c>SET SESSION AUTHORIZATION DEFAULT; RESET ALL; CLOSE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all();
    /// DISCARD SEQUENCES; DISCARD TEMP</c>) parsed and run by PostgreSQL on every draw: for a service whose requests
    /// draw a connection once or twice, a measurable share of the database's work. Only for code that leaves no session
    /// state behind: no <c>SET</c> outside a transaction (<c>SET LOCAL</c> is fine), no <c>LISTEN</c>, no session-level
    /// advisory locks, no temporary tables, no open cursors. Transactions are still rolled back on return to the pool.
    /// </summary>
    public static string TunedStateless(string connectionString)
    {
        var tuned = Tuned(connectionString);
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        if (given.Keys.Cast<string>().Any(IsNoResetOnClose))
        {
            return tuned;
        }
        return new NpgsqlConnectionStringBuilder(tuned) { NoResetOnClose = true }.ConnectionString;
    }

    private static bool IsMaxAutoPrepare(string keyword) =>
        keyword.Replace(" ", "", StringComparison.Ordinal).Equals("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase);

    private static bool IsNoResetOnClose(string keyword) =>
        keyword.Replace(" ", "", StringComparison.Ordinal).Equals("NoResetOnClose", StringComparison.OrdinalIgnoreCase);
}
