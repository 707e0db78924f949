using CyberHub.Contracts;
using CyberHub.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace CyberHub.Core.Outbox;

public static class OutboxWriter
{
    /// <summary>
    /// Begins the transaction in which a change to <paramref name="userId"/>'s progress and its event commit
    /// together. The dispatcher trusts that a user's events become visible in id order; ids are drawn at
    /// insert time, so a user's writers must also commit in that order. On PostgreSQL a transaction-scoped
    /// advisory lock on the user serializes them; SQLite already admits one writer at a time (BEGIN IMMEDIATE).
    /// </summary>
    public static async Task<IDbContextTransaction> BeginOutboxTransactionAsync(this CoreDbContext db, long userId, CancellationToken cancellationToken)
    {
        var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        try
        {
            if (db.Database.IsNpgsql())
            {
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

    /// <summary>
    /// The same, for a change to an existing record, whose owner the lock is taken for. On PostgreSQL the owner
    /// is looked up and locked in one statement, so that reading the record afterwards (a statement of its own,
    /// hence a fresh snapshot) sees the last committed change of every writer before us.
    /// </summary>
    public static async Task<IDbContextTransaction> BeginOutboxTransactionForRecordAsync(this CoreDbContext db, long progressId, CancellationToken cancellationToken)
    {
        var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        try
        {
            if (db.Database.IsNpgsql())
            {
                await db.Database.ExecuteSqlAsync(
                    $"SELECT pg_advisory_xact_lock(\"UserId\") FROM progress WHERE \"Id\" = {progressId}", cancellationToken);
            }
            return transaction;
        }
        catch
        {
            await transaction.DisposeAsync();
            throw;
        }
    }

    /// <summary>Adds the event for a change; it is saved with the change by the next SaveChanges.</summary>
    public static void AddProgressEvent(this CoreDbContext db, string type, ProgressDto progress, DateTime now) =>
        db.OutboxEvents.Add(OutboxEvent.For(type, progress, now));
}
