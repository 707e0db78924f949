using Npgsql;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// Creates the AI service's tables in PostgreSQL. Several instances may start together on an empty database,
/// and <c>CREATE ... IF NOT EXISTS</c> is not safe against a concurrent twin (both see nothing, one fails on
/// the catalog's unique index), so the DDL runs in a transaction holding one advisory lock.
/// <para>
/// Neither the DDL nor the wait for the lock has a time limit: upgrading a large catalog in place may build an index
/// over all its rows (minutes at a million items; docs/operations.md), and an instance starting meanwhile waits for it.
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
}
