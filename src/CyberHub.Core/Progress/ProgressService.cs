using System.Security.Claims;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.EntityFrameworkCore;

namespace CyberHub.Core.Progress;

public sealed record ProgressFilter(long? User, string? ContentType, string? Status);

public sealed class ProgressService(CoreDbContext db, TimeProvider clock)
{
    // Enough for every writer of one record to get its turn under any realistic contention.
    private const int MaxWriteAttempts = 20;

    public async Task<ProgressRecord> CreateAsync(long userId, CreateProgressRequest request, CancellationToken cancellationToken)
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

        await EnsureNewAsync(record, cancellationToken);
        db.Progress.Add(record);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            await EnsureNewAsync(record, cancellationToken);
            throw;
        }
        return record;
    }

    public async Task<ProgressRecord> GetAsync(long id, ClaimsPrincipal caller, CancellationToken cancellationToken)
    {
        var record = await db.Progress.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, cancellationToken)
            ?? throw ApiException.NotFound("Progress record not found.");
        caller.EnsureCanActFor(record.UserId);
        return record;
    }

    /// <summary>
    /// Applies a partial update. With <paramref name="expectedVersion"/> (If-Match) a stale version is
    /// refused with 412; without it the change is re-applied to the latest version until it lands, so
    /// concurrent writers never lose each other's updates.
    /// </summary>
    public async Task<ProgressRecord> UpdateAsync(
        long id, UpdateProgressRequest change, int? expectedVersion, ClaimsPrincipal caller, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var record = await db.Progress.FirstOrDefaultAsync(p => p.Id == id, cancellationToken)
                ?? throw ApiException.NotFound("Progress record not found.");
            caller.EnsureCanActFor(record.UserId);
            if (expectedVersion is { } expected && expected != record.Version)
            {
                throw ApiException.PreconditionFailed($"Progress record has changed (version {record.Version}); fetch it and retry.");
            }

            ProgressRules.Apply(record, change, clock.UtcNow());
            record.Version++;
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return record;
            }
            catch (DbUpdateConcurrencyException) when (expectedVersion is null && attempt < MaxWriteAttempts)
            {
                db.ChangeTracker.Clear();
                await Task.Delay(Random.Shared.Next(1, 5 * attempt), cancellationToken);
            }
            catch (DbUpdateConcurrencyException) when (expectedVersion is not null)
            {
                throw ApiException.PreconditionFailed("Progress record has changed; fetch it and retry.");
            }
        }
    }

    public async Task DeleteAsync(long id, ClaimsPrincipal caller, CancellationToken cancellationToken)
    {
        var record = await GetAsync(id, caller, cancellationToken);
        await db.Progress.Where(p => p.Id == record.Id).ExecuteDeleteAsync(cancellationToken);
    }

    public async Task<PagedResponse<ProgressDto>> ListAsync(
        ProgressFilter filter, PageRequest page, ClaimsPrincipal caller, HttpRequest http, CancellationToken cancellationToken)
    {
        var query = db.Progress.AsNoTracking();
        var user = filter.User ?? (caller.IsPrivileged() ? null : caller.UserId());
        if (user is { } userId)
        {
            caller.EnsureCanActFor(userId);
            query = query.Where(p => p.UserId == userId);
        }
        if (filter.ContentType is not null)
        {
            var contentType = ContentRules.ContentType(filter.ContentType);
            query = query.Where(p => p.ContentType == contentType);
        }
        if (ProgressRules.ParseStatus(filter.Status) is { } status)
        {
            query = query.Where(p => p.Status == status);
        }

        var count = await query.CountAsync(cancellationToken);
        var records = await query.OrderBy(p => p.Id).Skip(page.Skip).Take(page.PageSize).ToListAsync(cancellationToken);
        return page.ToResponse(http, count, records.ConvertAll(ToDto));
    }

    public static ProgressDto ToDto(ProgressRecord p) => new(
        p.Id, p.UserId, p.ContentId, p.ContentType, p.Status, p.CompletionPercentage, p.Score, p.TimeSpentSeconds,
        ProgressRules.Metadata(p.Metadata), p.StartedAt, p.CompletedAt, p.CreatedAt, p.UpdatedAt, p.Version);

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
