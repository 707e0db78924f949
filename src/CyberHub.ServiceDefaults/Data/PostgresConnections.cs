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

    private static bool IsMaxAutoPrepare(string keyword) =>
        keyword.Replace(" ", "", StringComparison.Ordinal).Equals("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase);
}
