using CyberHub.Ai.Recommendations;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.Extensions.Logging;

namespace CyberHub.Ai.Sync;

/// <summary>
/// Receives Core's progress events (seed step 5 of the progress flow: "Django triggers FastAPI to update
/// embeddings"): updates each learner's stored profile and drops everything cached about them, so their
/// next request sees the change. Delivery is at least once; the event id makes a repeat harmless.
/// </summary>
public sealed class ProgressEventsService(
    LearnerProfiles profiles,
    ILearnerProfileStore store,
    CacheInvalidator invalidator,
    TimeProvider clock,
    ILogger<ProgressEventsService> logger)
{
    public const int MaxBatch = 1_000;

    private static readonly HashSet<string> Types =
        [ProgressEventTypes.Created, ProgressEventTypes.Updated, ProgressEventTypes.Deleted, ProgressEventTypes.UserDeleted];

    public async Task<ProgressEventsResult> ApplyAsync(ProgressEventBatch batch, CancellationToken cancellationToken)
    {
        var events = Validate(batch);
        var fresh = new List<ProgressEvent>(events.Count);
        foreach (var change in events)
        {
            if (!await store.IsProcessedAsync(change.EventId, cancellationToken))
            {
                await profiles.ApplyAsync(change, cancellationToken);
                fresh.Add(change);
            }
        }

        // Invalidate before recording the ids: should this instance stop in between, the repeat delivery
        // invalidates again instead of being skipped with stale entries left behind.
        var learners = fresh.Select(e => e.UserId).Distinct().ToList();
        await invalidator.InvalidateAsync([.. learners.Select(CacheTags.User)], [.. learners.Select(CacheTags.Analysis)], cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var change in fresh)
        {
            await store.MarkProcessedAsync(change.EventId, now, cancellationToken);
        }
        if (fresh.Count > 0)
        {
            logger.LogInformation("Applied {Applied} progress events for {Users} learners ({Duplicates} repeats skipped)",
                fresh.Count, learners.Count, events.Count - fresh.Count);
        }
        return new ProgressEventsResult(fresh.Count, events.Count - fresh.Count);
    }

    private static IReadOnlyList<ProgressEvent> Validate(ProgressEventBatch batch)
    {
        if (batch.Events is not { Count: > 0 } events)
        {
            throw ApiException.BadRequest("events: give between 1 and 1000 events.");
        }
        if (events.Count > MaxBatch)
        {
            throw ApiException.BadRequest($"events: at most {MaxBatch} events per batch (got {events.Count}).");
        }
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            var problem = e switch
            {
                null => "is null",
                { EventId: var id } when id == Guid.Empty => "event_id is required",
                { Sequence: <= 0 } => "sequence must be positive",
                { UserId: <= 0 } => "user_id must be positive",
                { Type: var type } when type is null || !Types.Contains(type) => $"type must be one of {string.Join(", ", Types)}",
                { Type: ProgressEventTypes.UserDeleted, Progress: not null } => "progress must be absent for user.deleted",
                { Type: ProgressEventTypes.UserDeleted } => null,
                { Progress: null } => "progress is required",
                { Progress.UserId: var owner, UserId: var user } when owner != user => "progress.user_id differs from user_id",
                _ => null,
            };
            if (problem is not null)
            {
                throw ApiException.BadRequest($"events[{i}]: {problem}.");
            }
            if (e!.Type == ProgressEventTypes.UserDeleted)
            {
                continue;
            }
            try
            {
                var progress = e!.Progress!;
                ContentRules.ContentType(progress.ContentType);
                ContentRules.ContentId(progress.ContentId);
            }
            catch (ApiException invalid)
            {
                throw ApiException.BadRequest($"events[{i}].progress: {invalid.Message}");
            }
        }
        return events;
    }
}
