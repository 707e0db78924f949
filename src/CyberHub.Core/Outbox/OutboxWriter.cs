using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Progress;
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
            if (db.OnPostgres)
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
    /// Reads progress record <paramref name="progressId"/> for a change inside an outbox transaction, taking its
    /// owner's lock (on PostgreSQL) in the same statement: one round trip instead of two. <c>FOR UPDATE</c>
    /// makes PostgreSQL return the row as the last writer committed it, even when the statement had to wait
    /// for the lock while that writer finished.
    /// </summary>
    public static async Task<ProgressRecord?> ReadForChangeAsync(this CoreDbContext db, long progressId, CancellationToken cancellationToken)
    {
        if (!db.OnPostgres)
        {
            return await db.Progress.FirstOrDefaultAsync(p => p.Id == progressId, cancellationToken);
        }
        var query = db.Progress.FromSql($"""
            SELECT p.* FROM progress AS p, LATERAL (SELECT pg_advisory_xact_lock(p."UserId")) AS owner_lock
            WHERE p."Id" = {progressId} FOR UPDATE OF p
            """);
        // Enumerated as written: composing (FirstOrDefault) would wrap the locking query in a subquery.
        await foreach (var record in query.AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            return record;
        }
        return null;
    }

    /// <summary>Adds the event for a change; it is saved with the change by the next SaveChanges.</summary>
    public static void AddProgressEvent(this CoreDbContext db, string type, ProgressDto progress, DateTime now) =>
        db.OutboxEvents.Add(OutboxEvent.For(type, progress, now));
}
