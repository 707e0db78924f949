using CyberHub.ServiceDefaults.Idempotency;
using Microsoft.EntityFrameworkCore;

namespace CyberHub.Core.Data;

/// <summary>
/// Reads and writes of <c>idempotency_keys</c>. Look-ups and writes happen inside the transaction of the change,
/// after it has taken its owner's lock (see <c>OutboxWriter.BeginOutboxTransactionAsync</c>): a retry that arrives
/// while the first attempt is still running waits for that lock and then finds the committed key.
/// </summary>
public static class IdempotencyKeyStore
{
    private const int PurgeChunk = 1000;

    /// <summary>
    /// The stored answer for <paramref name="request"/>, or null when its key is new. An expired key is deleted, so the
    /// key can be stored afresh; a key first used with a different body is refused with 422.
    /// </summary>
    public static async Task<IdempotentAnswer?> FindAnswerAsync(this CoreDbContext db, IdempotentRequest request, DateTime now, CancellationToken cancellationToken)
    {
        var stored = await db.IdempotencyKeys.AsNoTracking()
            .FirstOrDefaultAsync(k => k.Caller == request.Caller && k.Route == request.Route && k.Key == request.Key, cancellationToken);
        if (stored is null)
        {
            return null;
        }
        if (stored.ExpiresAt <= now)
        {
            await db.IdempotencyKeys.Where(k => k.Id == stored.Id).ExecuteDeleteAsync(cancellationToken);
            return null;
        }
        return stored.Fingerprint == request.Fingerprint ? stored.ToAnswer() : throw IdempotentRequest.Reused();
    }

    /// <summary>Adds the key with its answer; it is saved with the change by the next SaveChanges.</summary>
    public static void AddAnswer(this CoreDbContext db, IdempotentRequest request, IdempotentAnswer answer, DateTime now) =>
        db.IdempotencyKeys.Add(IdempotencyKey.For(request, answer, now));

    /// <summary>Deletes keys expired by <paramref name="now"/>, in chunks so that no transaction grows large.</summary>
    public static async Task<int> PurgeExpiredAsync(this CoreDbContext db, DateTime now, CancellationToken cancellationToken)
    {
        var total = 0;
        int deleted;
        do
        {
            deleted = await db.IdempotencyKeys.Where(k => k.ExpiresAt <= now)
                .OrderBy(k => k.Id).Take(PurgeChunk).ExecuteDeleteAsync(cancellationToken);
            total += deleted;
        }
        while (deleted == PurgeChunk);
        return total;
    }
}
