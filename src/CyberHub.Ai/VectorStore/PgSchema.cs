using Npgsql;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// Creates the AI service's tables in PostgreSQL. Several instances may start together on an empty database,
/// and <c>CREATE ... IF NOT EXISTS</c> is not safe against a concurrent twin (both see nothing, one fails on
/// the catalog's unique index), so the DDL runs in a transaction holding one advisory lock.
/// <para>
/// Neither the DDL nor the wait for the lock has a time limit: upgrading a large catalog in place may rewrite a table
/// (adding a stored column), and an instance starting meanwhile waits for it. Nothing slower belongs here: an index over
/// an existing catalog is built concurrently, after start (<see cref="PgVectorStore"/>'s search index).
/// </para>
/// </summary>
internal static class PgSchema
{
    // Any fixed key works; it only has to be the same for every instance initialising one database.
    private const long LockKey = 0x43_79_62_65_72_48_75_62;

    public static async Task ApplyAsync(NpgsqlConnection connection, string ddl, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({LockKey})", connection, transaction) { CommandTimeout = 0 })
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var schema = new NpgsqlCommand(ddl, connection, transaction) { CommandTimeout = 0 })
        {
            await schema.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// DDL adding <paramref name="column"/> to <paramref name="table"/> unless it has it. Unlike <c>ADD COLUMN IF NOT
    /// EXISTS</c>, which takes the table's exclusive lock before it looks, this takes no lock on the table when there is
    /// nothing to do: a start must not queue behind a concurrent index build on the table (and every query behind it).
    /// </summary>
    public static string AddColumnIfMissing(string table, string column, string definition) => $"""
        DO $ddl$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attname = '{column}' AND NOT attisdropped) THEN
                ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {definition};
            END IF;
        END $ddl$;
        """;

    /// <summary>
    /// DDL creating index <paramref name="index"/> on <paramref name="table"/> unless the table has one of that name;
    /// as <see cref="AddColumnIfMissing"/>, no lock on the table when it has (<c>CREATE INDEX IF NOT EXISTS</c> takes a
    /// share lock first, which waits for a concurrent index build). <paramref name="definition"/> follows <c>ON table</c>.
    /// </summary>
    public static string CreateIndexIfMissing(string table, string index, string definition) => $"""
        DO $ddl$ BEGIN
            IF NOT EXISTS ({IndexOf(table, index)}) THEN
                CREATE INDEX IF NOT EXISTS {index} ON {table} {definition};
            END IF;
        END $ddl$;
        """;

    /// <summary>A query for the <c>pg_index</c> row of <paramref name="table"/>'s index named <paramref name="index"/> (as <c>x</c>, its class as <c>c</c>).</summary>
    public static string IndexOf(string table, string index) =>
        $"SELECT x.indexrelid, x.indisvalid FROM pg_index AS x JOIN pg_class AS c ON c.oid = x.indexrelid WHERE x.indrelid = '{table}'::regclass AND c.relname = '{index}'";
}
