using System.Globalization;
using System.Security.Claims;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Outbox;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Errors;
using CyberHub.ServiceDefaults.Idempotency;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace CyberHub.Core.Progress;

public sealed record ProgressFilter(long? User, string? ContentType, string? Status);

/// <summary>
/// Progress records. Every change also writes its progress event to the outbox, in the same transaction,
/// so that the AI service hears of exactly the changes that committed (see <see cref="OutboxWriter"/>).
/// </summary>
public sealed class ProgressService(CoreDbContext db, TimeProvider clock, OutboxSignal outbox, SqliteWriteGate writers)
{
    // Writers of one user are serialized by the outbox transaction, so a version conflict should not happen at all.
    private const int MaxWriteAttempts = 3;

    public async Task<ProgressRecord> CreateAsync(long userId, CreateProgressRequest request, CancellationToken cancellationToken) =>
        (await CreateAsync(userId, request, null, cancellationToken)).Record!;

    /// <summary>
    /// Creates the record. With <paramref name="idempotency"/>, the key and its answer are saved in the transaction of
    /// the record and its event, so the three commit together or not at all. A retry takes the owner's lock after the
    /// first attempt (it waits while that one runs) and finds the key: it gets the stored answer, and changes nothing.
    /// </summary>
    public async Task<(ProgressRecord? Record, IdempotentAnswer? Answer)> CreateAsync(
        long userId, CreateProgressRequest request, IdempotentRequest? idempotency, CancellationToken cancellationToken)
    {
        var record = new ProgressRecord
        {
            UserId = userId,
            ContentId = ContentRules.ContentId(request.ContentId),
            ContentType = ContentRules.ContentType(request.ContentType),
            CreatedAt = clock.UtcNow(),
        };
        // A new record starts as not_started; the request moves it like any update would.
        ProgressRules.Apply(record, new UpdateProgressRequest(
            request.Status, request.CompletionPercentage, request.Score, request.TimeSpentSeconds, request.Metadata), record.CreatedAt);

        IdempotentAnswer? answer = null;
        WithoutSavepoints();
        using (await writers.EnterAsync(db, cancellationToken))
        await using (var transaction = await db.BeginOutboxTransactionAsync(userId, cancellationToken))
        {
            if (idempotency is not null && await db.FindAnswerAsync(idempotency, record.CreatedAt, cancellationToken) is { } stored)
            {
                return (null, stored);
            }
            try
            {
                await EnsureNewAsync(record, cancellationToken);
            }
            catch (ApiException refusal) when (idempotency is not null && IdempotentAnswer.IsFinal(refusal.StatusCode))
            {
                // A final answer, kept like a success: a retry gets it even once the other record is gone.
                db.AddAnswer(idempotency, IdempotentAnswer.Refusal(refusal), record.CreatedAt);
                await db.SaveChangesAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                throw;
            }
            db.Progress.Add(record);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            // A concurrent create of the same item lost the unique index race: say which record won. A dropped connection
            // is not that, and rolling back on it would only hide the outage (the 503 it becomes) behind a disposed connection.
            catch (DbUpdateException e) when (e.InnerException is not System.Data.Common.DbException { IsTransient: true })
            {
                await transaction.RollbackAsync(CancellationToken.None);
                db.ChangeTracker.Clear();
                await EnsureNewAsync(record, cancellationToken);
                throw;
            }
            // The event carries the record's id, which only the insert assigns: a second save, same transaction.
            var dto = ToDto(record);
            db.AddProgressEvent(ProgressEventTypes.Created, dto, record.CreatedAt);
            if (idempotency is not null)
            {
                answer = IdempotentAnswer.Json(StatusCodes.Status201Created, dto, new Dictionary<string, string>
                {
                    ["Location"] = Location(record.Id),
                    ["ETag"] = ETag(record.Version),
                });
                db.AddAnswer(idempotency, answer, record.CreatedAt);
            }
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        outbox.Notify();
        return (record, answer);
    }

    public async Task<ProgressRecord> GetAsync(long id, ClaimsPrincipal caller, CancellationToken cancellationToken)
    {
        var record = await RecordAsync(id, tracked: false, cancellationToken)
            ?? throw ApiException.NotFound("Progress record not found.");
        caller.EnsureCanActFor(record.UserId);
        return record;
    }

    /// <summary>
    /// Applies a partial update. With <paramref name="expectedVersion"/> (If-Match) a stale version is
    /// refused with 412; without it the change applies to the latest version. The record is read inside the
    /// outbox transaction, which serializes its owner's writers, so concurrent updates never lose each other.
    /// </summary>
    public async Task<ProgressRecord> UpdateAsync(
        long id, UpdateProgressRequest change, int? expectedVersion, ClaimsPrincipal caller, CancellationToken cancellationToken)
    {
        if (db.OnPostgres && await TryUpdateInOneStatementAsync(id, change, expectedVersion, caller, cancellationToken) is { } updated)
        {
            return updated;
        }
        if (!db.OnPostgres && await TryUpdateInShortTurnAsync(id, change, expectedVersion, caller, cancellationToken) is { } written)
        {
            return written;
        }
        WithoutSavepoints();
        for (var attempt = 1; ; attempt++)
        {
            using var turn = await writers.EnterAsync(db, cancellationToken);
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var record = await LockedRecordAsync(id, caller, cancellationToken);
            if (expectedVersion is { } expected && expected != record.Version)
            {
                // A version newer than the one read means the read predates a write that committed while this
                // one waited for the owner's lock (versions only grow): read again rather than refuse.
                if (expected > record.Version && attempt < MaxWriteAttempts)
                {
                    db.ChangeTracker.Clear();
                    continue;
                }
                throw ApiException.PreconditionFailed($"Progress record has changed (version {record.Version}); fetch it and retry.");
            }

            ProgressRules.Apply(record, change, clock.UtcNow());
            record.Version++;
            db.AddProgressEvent(ProgressEventTypes.Updated, ToDto(record), record.UpdatedAt);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                outbox.Notify();
                return record;
            }
            // The record was read before another writer of its owner committed (see ReadForChangeAsync): apply the change again.
            catch (DbUpdateConcurrencyException) when (expectedVersion is null && attempt < MaxWriteAttempts)
            {
                db.ChangeTracker.Clear();
            }
            catch (DbUpdateConcurrencyException) when (expectedVersion is not null)
            {
                throw ApiException.PreconditionFailed("Progress record has changed; fetch it and retry.");
            }
        }
    }

    /// <summary>
    /// The record a PATCH's short path reads without any lock, its owner checked. If-Match naming an older version
    /// than the one read is refused with 412 (versions only grow, so it can never match); naming a newer one gives null,
    /// since the read predates a write that committed meanwhile: the caller then goes the locked way, which reads again
    /// under the owner's lock and decides. <paramref name="tracked"/>: whether EF Core tracks the record for its write.
    /// </summary>
    private async Task<ProgressRecord?> ReadUnlockedAsync(
        long id, int? expectedVersion, ClaimsPrincipal caller, bool tracked, CancellationToken cancellationToken)
    {
        var record = await RecordAsync(id, tracked, cancellationToken)
            ?? throw ApiException.NotFound("Progress record not found.");
        caller.EnsureCanActFor(record.UserId);
        if (expectedVersion is not { } expected || expected == record.Version)
        {
            return record;
        }
        if (expected < record.Version)
        {
            throw ApiException.PreconditionFailed($"Progress record has changed (version {record.Version}); fetch it and retry.");
        }
        if (tracked)
        {
            db.ChangeTracker.Clear();
        }
        return null;
    }

    /// <summary>
    /// The usual PATCH on SQLite with only the write in the writers' queue: the record is read and the change applied
    /// outside it (reads never wait for SQLite's one writer), and the turn covers just the write of the new version,
    /// on condition that the record still has the version read (<c>Version</c> is the concurrency token), and the
    /// insert of its event, in one transaction. Null when the record changed between the read and the write, or when
    /// If-Match names a version newer than the one read: the caller then goes the locked way, which decides those
    /// cases exactly as before.
    /// </summary>
    private async Task<ProgressRecord?> TryUpdateInShortTurnAsync(
        long id, UpdateProgressRequest change, int? expectedVersion, ClaimsPrincipal caller, CancellationToken cancellationToken)
    {
        WithoutSavepoints();
        if (await ReadUnlockedAsync(id, expectedVersion, caller, tracked: true, cancellationToken) is not { } record)
        {
            return null;
        }
        ProgressRules.Apply(record, change, clock.UtcNow());
        record.Version++;
        db.AddProgressEvent(ProgressEventTypes.Updated, ToDto(record), record.UpdatedAt);
        using var turn = await writers.EnterAsync(db, cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        catch (DbUpdateConcurrencyException)
        {
            db.ChangeTracker.Clear();
            return null;
        }
        outbox.Notify();
        return record;
    }

    /// <summary>
    /// The usual PATCH on PostgreSQL in two round trips and no transaction held open while Core works: the record is
    /// read as it is (no lock), the change applied to it, and then one statement takes the owner's lock, writes the new
    /// version on condition that the record still has the version read, and inserts the event, all in the one implicit
    /// transaction of that statement. The owner's lock is taken before the event's id is drawn, as in every outbox
    /// transaction (see <see cref="OutboxWriter"/>). Null when the record changed (or went) between the read and the
    /// write, or when If-Match names a version newer than the one read: the caller then goes the locked way, which
    /// decides those cases exactly as before.
    /// </summary>
    private async Task<ProgressRecord?> TryUpdateInOneStatementAsync(
        long id, UpdateProgressRequest change, int? expectedVersion, ClaimsPrincipal caller, CancellationToken cancellationToken)
    {
        if (await ReadUnlockedAsync(id, expectedVersion, caller, tracked: false, cancellationToken) is not { } record)
        {
            return null;
        }
        var read = record.Version;
        ProgressRules.Apply(record, change, clock.UtcNow());
        record.Version++;
        var e = OutboxEvent.For(ProgressEventTypes.Updated, ToDto(record), record.UpdatedAt);
        // Typed, so that a null and a value make one prepared statement, not two.
        var score = new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Double, Value = (object?)record.Score ?? DBNull.Value };
        var startedAt = new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)record.StartedAt ?? DBNull.Value };
        var completedAt = new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)record.CompletedAt ?? DBNull.Value };
        var written = await db.Database.ExecuteSqlAsync($"""
            WITH owner_lock AS (SELECT pg_advisory_xact_lock({record.UserId})),
            changed AS (
                UPDATE progress SET "Status" = {record.Status.ToString()}, "CompletionPercentage" = {record.CompletionPercentage},
                    "Score" = {score}, "TimeSpentSeconds" = {record.TimeSpentSeconds}, "Metadata" = {record.Metadata}::jsonb,
                    "StartedAt" = {startedAt}, "CompletedAt" = {completedAt}, "UpdatedAt" = {record.UpdatedAt}, "Version" = {record.Version}
                WHERE "Id" = {record.Id} AND "Version" = {read} AND EXISTS (SELECT 1 FROM owner_lock)
                RETURNING "UserId")
            INSERT INTO outbox_events ("EventId", "UserId", "Type", "Payload", "CreatedAt", "Attempts", "NextAttemptAt")
            SELECT {e.EventId}, "UserId", {e.Type}, {e.Payload}::jsonb, {e.CreatedAt}, 0, {e.NextAttemptAt} FROM changed
            """, cancellationToken);
        if (written != 1)
        {
            return null;
        }
        outbox.Notify();
        return record;
    }

    public async Task DeleteAsync(long id, ClaimsPrincipal caller, CancellationToken cancellationToken)
    {
        WithoutSavepoints();
        for (var attempt = 1; ; attempt++)
        {
            using var turn = await writers.EnterAsync(db, cancellationToken);
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            // Read under the owner's lock: the event carries the record as it was when deleted.
            var record = await LockedRecordAsync(id, caller, cancellationToken);
            db.Progress.Remove(record);
            db.AddProgressEvent(ProgressEventTypes.Deleted, ToDto(record), clock.UtcNow());
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                outbox.Notify();
                return;
            }
            catch (DbUpdateConcurrencyException) when (attempt < MaxWriteAttempts)
            {
                // Read before a write that committed while this one waited for the lock; read again.
                db.ChangeTracker.Clear();
            }
        }
    }

    public async Task<PagedResponse<ProgressDto>> ListAsync(
        ProgressFilter filter, PageRequest page, ClaimsPrincipal caller, HttpRequest http, CancellationToken cancellationToken)
    {
        var user = filter.User ?? (caller.IsPrivileged() ? null : caller.UserId());
        // The learner, admins and services, and the owners and instructors of an organization the learner is a member of.
        if (user is { } userId && !await Organizations.LearnerAccess.CanReadAsync(db, caller, userId, cancellationToken))
        {
            throw ApiException.Forbidden();
        }
        var contentType = filter.ContentType is null ? null : ContentRules.ContentType(filter.ContentType);
        var status = ProgressRules.ParseStatus(filter.Status);

        // The page and the total in one statement (the count is an uncorrelated subquery: PostgreSQL and SQLite
        // compute it once). Only an empty page, which carries no total, needs a second look.
        var rows = new List<PageRow>(page.PageSize);
        await foreach (var row in PageAsync(user, contentType, status, page).WithCancellation(cancellationToken))
        {
            rows.Add(row);
        }
        var count = rows.Count > 0 ? rows[0].Total : await CountAsync(user, contentType, status, cancellationToken);
        // An empty answer must not pass for "no progress" when the user does not exist (the AI service tells the two apart).
        if (count == 0 && user is { } asked && !await db.Users.AnyAsync(u => u.Id == asked && u.DeletedAt == null, cancellationToken))
        {
            throw ApiException.NotFound("User not found.");
        }
        return page.ToResponse(http, count, rows.ConvertAll(row => ToDto(row.Record)));
    }

    private sealed record PageRow(ProgressRecord Record, int Total);

    // Each provider's context type has its own compiled queries: a compiled query keeps the first model it ran with.
    private Task<ProgressRecord?> RecordAsync(long id, bool tracked, CancellationToken cancellationToken) => db is PostgresCoreDbContext postgres
        ? Queries<PostgresCoreDbContext>.Record(postgres, id, tracked, cancellationToken)
        : Queries<SqliteCoreDbContext>.Record((SqliteCoreDbContext)db, id, tracked, cancellationToken);

    private IAsyncEnumerable<PageRow> PageAsync(long? user, string? contentType, ProgressStatus? status, PageRequest page) => db is PostgresCoreDbContext postgres
        ? Queries<PostgresCoreDbContext>.Page(postgres, user, contentType, status, page.Skip, page.PageSize)
        : Queries<SqliteCoreDbContext>.Page((SqliteCoreDbContext)db, user, contentType, status, page.Skip, page.PageSize);

    private Task<int> CountAsync(long? user, string? contentType, ProgressStatus? status, CancellationToken cancellationToken) => db is PostgresCoreDbContext postgres
        ? Queries<PostgresCoreDbContext>.Count(postgres, user, contentType, status, cancellationToken)
        : Queries<SqliteCoreDbContext>.Count((SqliteCoreDbContext)db, user, contentType, status, cancellationToken);

    /// <summary>
    /// The queries of every progress read and PATCH, compiled once. Otherwise EF Core walks, hashes and looks up each
    /// query's expression tree on every call, which cost Core more CPU than running the query did (docs/benchmarks.md,
    /// "Compiled queries on Core's request path"). A filter left null drops out of the SQL: EF Core makes one statement
    /// for each combination of null and non-null parameters.
    /// </summary>
    private static class Queries<TContext> where TContext : CoreDbContext
    {
        private static readonly Func<TContext, long, CancellationToken, Task<ProgressRecord?>> Untracked =
            EF.CompileAsyncQuery((TContext db, long id, CancellationToken _) => db.Progress.AsNoTracking().FirstOrDefault(p => p.Id == id));

        private static readonly Func<TContext, long, CancellationToken, Task<ProgressRecord?>> Tracked =
            EF.CompileAsyncQuery((TContext db, long id, CancellationToken _) => db.Progress.FirstOrDefault(p => p.Id == id));

        public static Task<ProgressRecord?> Record(TContext db, long id, bool tracked, CancellationToken cancellationToken) =>
            (tracked ? Tracked : Untracked)(db, id, cancellationToken);

        public static readonly Func<TContext, long?, string?, ProgressStatus?, int, int, IAsyncEnumerable<PageRow>> Page =
            EF.CompileAsyncQuery((TContext db, long? user, string? contentType, ProgressStatus? status, int skip, int take) =>
                db.Progress.AsNoTracking()
                    .Where(p => (user == null || p.UserId == user) && (contentType == null || p.ContentType == contentType) && (status == null || p.Status == status))
                    .OrderBy(p => p.Id).Skip(skip).Take(take)
                    .Select(p => new PageRow(p, db.Progress.Count(q =>
                        (user == null || q.UserId == user) && (contentType == null || q.ContentType == contentType) && (status == null || q.Status == status)))));

        public static readonly Func<TContext, long?, string?, ProgressStatus?, CancellationToken, Task<int>> Count =
            EF.CompileAsyncQuery((TContext db, long? user, string? contentType, ProgressStatus? status, CancellationToken _) =>
                db.Progress.Count(q => (user == null || q.UserId == user) && (contentType == null || q.ContentType == contentType) && (status == null || q.Status == status)));
    }

    /// <summary>
    /// A write here runs in its own transaction and rolls all of it back on any failure, so the savepoint EF Core would
    /// otherwise wrap around each SaveChanges (two more round trips on PostgreSQL: SAVEPOINT, RELEASE) protects nothing.
    /// A pooled context turns them back on when it is returned.
    /// </summary>
    private void WithoutSavepoints() => db.Database.AutoSavepointsEnabled = false;

    public static ProgressDto ToDto(ProgressRecord p) => new(
        p.Id, p.UserId, p.ContentId, p.ContentType, p.Status, p.CompletionPercentage, p.Score, p.TimeSpentSeconds,
        ProgressRules.Metadata(p.Metadata), p.StartedAt, p.CompletedAt, p.CreatedAt, p.UpdatedAt, p.Version);

    private async Task<ProgressRecord> LockedRecordAsync(long id, ClaimsPrincipal caller, CancellationToken cancellationToken)
    {
        var record = await db.ReadForChangeAsync(id, cancellationToken)
            ?? throw ApiException.NotFound("Progress record not found.");
        caller.EnsureCanActFor(record.UserId);
        return record;
    }

    public static string Location(long id) => $"/api/v1/progress/{id.ToString(CultureInfo.InvariantCulture)}/";

    public static string ETag(int version) => $"\"{version.ToString(CultureInfo.InvariantCulture)}\"";

    private async Task EnsureNewAsync(ProgressRecord record, CancellationToken cancellationToken)
    {
        var existing = await db.Progress.AsNoTracking()
            .Where(p => p.UserId == record.UserId && p.ContentType == record.ContentType && p.ContentId == record.ContentId)
            .Select(p => (long?)p.Id).FirstOrDefaultAsync(cancellationToken);
        if (existing is { } id)
        {
            throw ApiException.BadRequest($"Progress for this {record.ContentType} already exists (id {id}); update it with PATCH /api/v1/progress/{id}/.");
        }
    }
}
