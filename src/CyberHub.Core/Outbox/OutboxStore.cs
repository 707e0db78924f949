using CyberHub.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace CyberHub.Core.Outbox;

/// <summary>
/// The dispatcher's reads and writes of the outbox table. Every change is a conditional UPDATE, so that
/// instances sharing one database never act on a row another one holds: a row belongs to whoever set its
/// <see cref="OutboxEvent.ClaimToken"/> while <see cref="OutboxEvent.LockedUntil"/> is in the future.
/// </summary>
public sealed class OutboxStore(CoreDbContext db)
{
    private const int PurgeChunk = 1000;

    private IQueryable<OutboxEvent> Pending => db.OutboxEvents.Where(e => e.DeliveredAt == null && e.FailedAt == null);

    /// <summary>
    /// Claims up to <paramref name="batchSize"/> undelivered events, oldest first, of users whose oldest
    /// undelivered event is due and unheld, and answers the claimed events that may be sent now, in id order.
    /// </summary>
    public async Task<List<OutboxEvent>> ClaimAsync(Guid token, DateTime now, int batchSize, TimeSpan lease, CancellationToken cancellationToken)
    {
        // A user's events go out in order, so only a user whose head (oldest undelivered event) is free is a candidate.
        var users = await Pending
            .Where(e => e.NextAttemptAt <= now && (e.LockedUntil == null || e.LockedUntil < now)
                && !db.OutboxEvents.Any(o => o.UserId == e.UserId && o.Id < e.Id && o.DeliveredAt == null && o.FailedAt == null))
            .OrderBy(e => e.Id).Select(e => e.UserId).Take(batchSize).ToListAsync(cancellationToken);
        if (users.Count == 0)
        {
            return [];
        }

        var ids = await Pending.Where(e => users.Contains(e.UserId) && (e.LockedUntil == null || e.LockedUntil < now))
            .OrderBy(e => e.Id).Select(e => e.Id).Take(batchSize).ToListAsync(cancellationToken);
        var lockedUntil = now + lease;
        // The conditions are re-checked on each row as it is updated: a row another instance claimed since
        // the reads above keeps that claim (PostgreSQL re-evaluates them on the newest row version).
        await db.OutboxEvents
            .Where(e => ids.Contains(e.Id) && e.DeliveredAt == null && e.FailedAt == null && (e.LockedUntil == null || e.LockedUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(e => e.ClaimToken, token).SetProperty(e => e.LockedUntil, lockedUntil), cancellationToken);
        var claimed = await db.OutboxEvents.AsNoTracking()
            .Where(e => ids.Contains(e.Id) && e.ClaimToken == token).OrderBy(e => e.Id).ToListAsync(cancellationToken);
        if (claimed.Count == 0)
        {
            return claimed;
        }

        // Racing another instance, we may hold some of a user's events but not the one before them (its head,
        // or one in between that it holds until it gives it back). A user's events may only go out in order, so
        // keep, per user, just the unbroken run from their oldest undelivered event on, and give back the rest.
        // No event of the user can turn up later below our ids: the user's writers commit in id order.
        var claimedUsers = claimed.Select(e => e.UserId).Distinct().ToList();
        var last = claimed[^1].Id;
        var pending = await Pending.Where(e => claimedUsers.Contains(e.UserId) && e.Id <= last)
            .OrderBy(e => e.Id).Select(e => new { e.UserId, e.Id }).ToListAsync(cancellationToken);
        var claimedIds = claimed.Select(e => e.Id).ToHashSet();
        var broken = new HashSet<long>();
        var keep = new HashSet<long>();
        foreach (var row in pending)
        {
            if (broken.Contains(row.UserId))
            {
                continue;
            }
            if (claimedIds.Contains(row.Id))
            {
                keep.Add(row.Id);
            }
            else
            {
                broken.Add(row.UserId);
            }
        }
        var giveBack = claimed.Where(e => !keep.Contains(e.Id)).Select(e => e.Id).ToList();
        if (giveBack.Count > 0)
        {
            await ReleaseAsync(token, giveBack, cancellationToken);
            claimed.RemoveAll(e => !keep.Contains(e.Id));
        }
        return claimed;
    }

    /// <summary>Events neither delivered nor set aside; the partial index on pending events answers it.</summary>
    public Task<int> CountPendingAsync(CancellationToken cancellationToken) => Pending.CountAsync(cancellationToken);

    /// <summary>Extends the claim on <paramref name="ids"/>; false when any of them is no longer ours.</summary>
    public async Task<bool> RenewAsync(Guid token, IReadOnlyCollection<long> ids, DateTime now, TimeSpan lease, CancellationToken cancellationToken)
    {
        var lockedUntil = now + lease;
        var renewed = await db.OutboxEvents.Where(e => ids.Contains(e.Id) && e.ClaimToken == token && e.DeliveredAt == null && e.FailedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(e => e.LockedUntil, lockedUntil), cancellationToken);
        return renewed == ids.Count;
    }

    public Task MarkDeliveredAsync(IReadOnlyCollection<long> ids, DateTime now, CancellationToken cancellationToken) =>
        db.OutboxEvents.Where(e => ids.Contains(e.Id) && e.DeliveredAt == null)
            .ExecuteUpdateAsync(s => s
                .SetProperty(e => e.DeliveredAt, now)
                .SetProperty(e => e.ClaimToken, (Guid?)null)
                .SetProperty(e => e.LockedUntil, (DateTime?)null), cancellationToken);

    /// <summary>A failed attempt: the events wait until <paramref name="nextAttemptAt"/>, and the user's later events with them.</summary>
    public Task MarkAttemptFailedAsync(Guid token, IReadOnlyCollection<long> ids, DateTime nextAttemptAt, string error, CancellationToken cancellationToken)
    {
        var message = OutboxEvent.Truncate(error);
        return db.OutboxEvents.Where(e => ids.Contains(e.Id) && e.ClaimToken == token)
            .ExecuteUpdateAsync(s => s
                .SetProperty(e => e.Attempts, e => e.Attempts + 1)
                .SetProperty(e => e.NextAttemptAt, nextAttemptAt)
                .SetProperty(e => e.LastError, message)
                .SetProperty(e => e.ClaimToken, (Guid?)null)
                .SetProperty(e => e.LockedUntil, (DateTime?)null), cancellationToken);
    }

    /// <summary>The receiver refused the event as invalid: it is set aside for good, and the user's later events go on.</summary>
    public Task MarkPoisonAsync(long id, DateTime now, string error, CancellationToken cancellationToken)
    {
        var message = OutboxEvent.Truncate(error);
        return db.OutboxEvents.Where(e => e.Id == id && e.DeliveredAt == null)
            .ExecuteUpdateAsync(s => s
                .SetProperty(e => e.Attempts, e => e.Attempts + 1)
                .SetProperty(e => e.FailedAt, now)
                .SetProperty(e => e.LastError, message)
                .SetProperty(e => e.ClaimToken, (Guid?)null)
                .SetProperty(e => e.LockedUntil, (DateTime?)null), cancellationToken);
    }

    /// <summary>Gives claimed events back at once, instead of letting their lease run out.</summary>
    public Task ReleaseAsync(Guid token, IReadOnlyCollection<long> ids, CancellationToken cancellationToken) =>
        ids.Count == 0
            ? Task.CompletedTask
            : db.OutboxEvents.Where(e => ids.Contains(e.Id) && e.ClaimToken == token)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(e => e.ClaimToken, (Guid?)null)
                    .SetProperty(e => e.LockedUntil, (DateTime?)null), cancellationToken);

    /// <summary>Deletes delivered events written before <paramref name="cutoff"/>, in chunks so no transaction grows large.</summary>
    public async Task<int> PurgeAsync(DateTime cutoff, CancellationToken cancellationToken)
    {
        var total = 0;
        int deleted;
        do
        {
            deleted = await db.OutboxEvents.Where(e => e.CreatedAt < cutoff && e.DeliveredAt != null)
                .OrderBy(e => e.Id).Take(PurgeChunk).ExecuteDeleteAsync(cancellationToken);
            total += deleted;
        }
        while (deleted == PurgeChunk);
        return total;
    }
}
