using CyberHub.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace CyberHub.Core.Users;

public static class AccountChanges
{
    // The two-key advisory locks are a key space of their own: this can never meet a user's one-key lock.
    private const int RosterLock = 0x43484155; // "CHAU"

    /// <summary>
    /// Begins the transaction of a change to an account's roles or status. Such changes are serialized with each
    /// other (so that two admins demoting each other at once cannot both pass the last-admin check) and with the
    /// account's progress writers (so that a delete's outbox event follows theirs). On PostgreSQL through advisory
    /// locks, the roster's first and then the user's; SQLite admits one writer at a time (BEGIN IMMEDIATE).
    /// </summary>
    public static async Task<IDbContextTransaction> BeginAccountChangeTransactionAsync(this CoreDbContext db, long userId, CancellationToken cancellationToken)
    {
        var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        try
        {
            if (db.OnPostgres)
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({RosterLock}, 0)", cancellationToken);
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({userId})", cancellationToken);
            }
            return transaction;
        }
        catch
        {
            await transaction.DisposeAsync();
            throw;
        }
    }
}
