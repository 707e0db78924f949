using System.Diagnostics;
using System.Text.Json;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace CyberHub.Core.Outbox;

/// <summary>
/// Delivers outbox events to the AI service, in every Core instance. Each round claims a batch (see
/// <see cref="OutboxStore.ClaimAsync"/>) and sends it in one request; should that fail for any reason but an outage,
/// it delivers each user's claimed events in id order instead, several users at once. A failed delivery backs off that user's head event and releases the rest, so the user's later
/// events wait; an event the receiver refuses as invalid is set aside so that it cannot block the user.
/// </summary>
public sealed partial class OutboxDispatcher(
    IServiceScopeFactory scopes,
    ProgressEventSender sender,
    OutboxSignal signal,
    IOptions<OutboxOptions> options,
    TimeProvider clock,
    ILogger<OutboxDispatcher> logger) : BackgroundService
{
    private static readonly TimeSpan PurgeInterval = TimeSpan.FromHours(1);
    // Deliveries are summed into one information line per interval, so a busy instance does not log every write.
    private static readonly TimeSpan DeliveredLogInterval = TimeSpan.FromSeconds(10);

    private readonly OutboxOptions _options = options.Value;
    private int _deliveredSinceLog;
    private DateTime _deliveredLoggedAt = DateTime.MinValue;

    private sealed record Round(int Claimed, int Delivered, int Failed, bool Unavailable);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Each delivery is a trace of its own, not part of whatever the host was doing when it started us.
        Activity.Current = null;
        using var backlog = OutboxBacklog.Join(scopes, logger);
        var nextPurge = DateTime.MinValue;
        var unavailableRounds = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            Round round;
            try
            {
                if (clock.UtcNow() >= nextPurge)
                {
                    await PurgeAsync(stoppingToken);
                    nextPurge = clock.UtcNow() + PurgeInterval;
                }
                round = await DispatchOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // The database is unreachable or similar: nothing was lost (claims expire); try again later.
                LogRoundFailed(e);
                round = new Round(0, 0, 1, Unavailable: true);
            }

            if (_deliveredSinceLog > 0 && clock.UtcNow() - _deliveredLoggedAt >= DeliveredLogInterval)
            {
                LogDelivered(_deliveredSinceLog);
                _deliveredSinceLog = 0;
                _deliveredLoggedAt = clock.UtcNow();
            }

            try
            {
                if (round.Unavailable && round.Delivered == 0)
                {
                    // The receiver (or the database) is down for everyone: wait it out rather than scanning the
                    // backlog every poll; write signals cannot help until it is back.
                    await Task.Delay(Backoff(++unavailableRounds, _options.MinBackoff, _options.MaxBackoff), clock, stoppingToken);
                    continue;
                }
                if (round.Claimed == 0 && unavailableRounds > 0)
                {
                    // Still in an outage, with every waiting learner backed off: only a delivery ends it. Each write
                    // signal would otherwise cost a scan of the growing backlog, and writes would slow as it grows.
                    await Task.Delay(Backoff(unavailableRounds, _options.MinBackoff, _options.MaxBackoff), clock, stoppingToken);
                    continue;
                }
                unavailableRounds = 0;
                if (round.Claimed < _options.BatchSize || round.Failed > 0)
                {
                    await signal.WaitAsync(_options.PollInterval, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }
    }

    private async Task<Round> DispatchOnceAsync(CancellationToken cancellationToken)
    {
        var token = Guid.NewGuid();
        List<OutboxEvent> claimed;
        await using (var scope = scopes.CreateAsyncScope())
        // A poll runs every second on every instance and usually finds nothing: no trace of its own for each
        // one (its duration still counts in cyberhub.db.query.duration). Deliveries are traced below.
        using (SuppressInstrumentationScope.Begin())
        {
            claimed = await scope.ServiceProvider.GetRequiredService<OutboxStore>()
                .ClaimAsync(token, clock.UtcNow(), _options.BatchSize, _options.LeaseDuration, cancellationToken);
        }
        if (claimed.Count == 0)
        {
            return new Round(0, 0, 0, false);
        }
        if (claimed.Select(e => e.UserId).Distinct().Count() > 1 && await DeliverRoundAsync(token, [.. claimed], cancellationToken) is { } whole)
        {
            return whole;
        }

        var delivered = 0;
        var failed = 0;
        var unavailable = 0;
        DeliveryResult? lastFailure = null;
        var finished = false;
        try
        {
            await Parallel.ForEachAsync(
                claimed.GroupBy(e => e.UserId),
                new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrency, CancellationToken = cancellationToken },
                async (user, ct) =>
                {
                    var (count, failure) = await DeliverUserAsync(token, [.. user], ct);
                    Interlocked.Add(ref delivered, count);
                    if (failure is not null)
                    {
                        lastFailure = failure;
                        Interlocked.Increment(ref failed);
                        if (failure.Unavailable)
                        {
                            Interlocked.Increment(ref unavailable);
                        }
                    }
                });
            finished = true;
        }
        finally
        {
            if (!finished)
            {
                // Shutting down, or a delivery broke: hand back what is still ours rather than making other
                // instances wait out the lease. Events already delivered or released are not ours any more.
                await ReleaseQuietlyAsync(token, [.. claimed.Select(e => e.Id)]);
            }
        }
        if (delivered > 0)
        {
            LogRound(delivered, claimed.Count);
            _deliveredSinceLog += delivered;
        }
        var down = unavailable > 0 && unavailable == failed;
        if (down && delivered == 0)
        {
            // One line for the outage rather than one per waiting user.
            LogUnavailable(failed, lastFailure?.Error);
        }
        return new Round(claimed.Count, delivered, failed, down);
    }

    /// <summary>
    /// Sends the whole round, many users' events in id order, in one request: one renewal of the claim, one request and
    /// one update for the lot, where user by user it takes two writes and a request per user. With many learners
    /// writing at once that is most of the dispatcher's work, and on SQLite every write of it queues behind the
    /// learners' own writes. An outage fails the round as a whole (each event backs off); anything else but a clean
    /// delivery (an invalid event somewhere, another failure, a claim lost to another instance) answers null, and the
    /// round is delivered user by user instead, which finds and isolates the problem.
    /// </summary>
    private async Task<Round?> DeliverRoundAsync(Guid token, OutboxEvent[] events, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<OutboxStore>();
        var ids = events.Select(e => e.Id).ToArray();
        using var activity = OutboxTelemetry.StartDispatch(events);
        try
        {
            if (!await store.RenewAsync(token, ids, clock.UtcNow(), _options.LeaseDuration, cancellationToken))
            {
                OutboxTelemetry.ClaimLost(activity);
                return null;
            }
            var result = await SendAsync(events, cancellationToken);
            switch (result.Status)
            {
                case DeliveryStatus.Delivered:
                    var now = clock.UtcNow();
                    await store.MarkDeliveredAsync(ids, now, CancellationToken.None);
                    OutboxTelemetry.Delivered(activity, events, now);
                    LogRound(events.Length, events.Length);
                    _deliveredSinceLog += events.Length;
                    return new Round(events.Length, events.Length, 0, false);
                case DeliveryStatus.Failed when result.Unavailable:
                    var wait = RetryWait(events.Min(e => e.Attempts) + 1, result);
                    await store.MarkAttemptFailedAsync(token, ids, clock.UtcNow() + wait, result.Error ?? "unavailable", CancellationToken.None);
                    OutboxTelemetry.Failed(activity, "unavailable");
                    var users = events.Select(e => e.UserId).Distinct().Count();
                    LogUnavailable(users, result.Error);
                    return new Round(events.Length, 0, users, true);
                default:
                    OutboxTelemetry.Failed(activity, result.Status == DeliveryStatus.Rejected ? "rejected" : "failed");
                    return null;
            }
        }
        catch (Exception e)
        {
            OutboxTelemetry.Broke(activity, e);
            throw;
        }
    }

    /// <summary>Sends one user's claimed events in order; stops at the first failure. Each request is a span of its own.</summary>
    private async Task<(int Delivered, DeliveryResult? Failure)> DeliverUserAsync(Guid token, OutboxEvent[] events, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<OutboxStore>();
        var delivered = 0;
        var oneByOne = false;
        var next = 0;
        while (next < events.Length)
        {
            var chunk = oneByOne ? events[next..(next + 1)] : events[next..];
            using var activity = OutboxTelemetry.StartDispatch(chunk);
            try
            {
                var rest = events[next..].Select(e => e.Id).ToArray();
                // Deliveries of earlier users may have taken a while: make sure the claim is still ours, and will
                // outlast this request, before sending anything.
                if (!await store.RenewAsync(token, rest, clock.UtcNow(), _options.LeaseDuration, cancellationToken))
                {
                    OutboxTelemetry.ClaimLost(activity);
                    await store.ReleaseAsync(token, rest, cancellationToken);
                    LogClaimLost(events[0].UserId);
                    return (delivered, null);
                }

                var result = await SendAsync(chunk, cancellationToken);
                var ids = chunk.Select(e => e.Id).ToArray();
                switch (result.Status)
                {
                    case DeliveryStatus.Delivered:
                        var now = clock.UtcNow();
                        await store.MarkDeliveredAsync(ids, now, CancellationToken.None);
                        OutboxTelemetry.Delivered(activity, chunk, now);
                        delivered += chunk.Length;
                        next += chunk.Length;
                        break;
                    case DeliveryStatus.Rejected when chunk.Length > 1:
                        // One of them is invalid, but which? Send them one at a time, in order, to find out.
                        OutboxTelemetry.Failed(activity, "rejected");
                        oneByOne = true;
                        break;
                    case DeliveryStatus.Rejected:
                        await store.MarkPoisonAsync(chunk[0].Id, clock.UtcNow(), result.Error ?? "rejected", CancellationToken.None);
                        OutboxTelemetry.Failed(activity, "rejected");
                        LogPoison(chunk[0].EventId, chunk[0].Id, chunk[0].UserId, result.Error);
                        next++;
                        break;
                    default:
                        var wait = RetryWait(chunk[0].Attempts + 1, result);
                        await store.MarkAttemptFailedAsync(token, ids, clock.UtcNow() + wait, result.Error ?? "failed", CancellationToken.None);
                        await store.ReleaseAsync(token, [.. events[(next + chunk.Length)..].Select(e => e.Id)], CancellationToken.None);
                        OutboxTelemetry.Failed(activity, result.Unavailable ? "unavailable" : "failed");
                        if (result.Unavailable)
                        {
                            LogAttemptDeferred(chunk.Length, chunk[0].UserId, chunk[0].Attempts + 1, wait, result.Error);
                        }
                        else
                        {
                            LogAttemptFailed(chunk.Length, chunk[0].UserId, chunk[0].Attempts + 1, wait, result.Error);
                        }
                        return (delivered, result);
                }
            }
            catch (Exception e)
            {
                OutboxTelemetry.Broke(activity, e);
                throw;
            }
        }
        return (delivered, null);
    }

    private async Task<DeliveryResult> SendAsync(OutboxEvent[] chunk, CancellationToken cancellationToken)
    {
        ProgressEvent[] batch;
        try
        {
            batch = [.. chunk.Select(e => e.ToEvent())];
        }
        catch (JsonException e)
        {
            // Only a damaged row gets here; treat it as the receiver would an invalid event.
            return new DeliveryResult(DeliveryStatus.Rejected, $"Unreadable payload: {e.Message}");
        }
        return await sender.SendAsync(batch, cancellationToken);
    }

    private async Task ReleaseQuietlyAsync(Guid token, long[] ids)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<OutboxStore>().ReleaseAsync(token, ids, timeout.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogReleaseFailed(e);
        }
    }

    private async Task PurgeAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var purged = await scope.ServiceProvider.GetRequiredService<OutboxStore>().PurgeAsync(clock.UtcNow() - _options.Retention, cancellationToken);
        if (purged > 0)
        {
            LogPurged(purged, _options.Retention);
        }
    }

    /// <summary>How long failed events wait: the backoff for their attempt, or the receiver's Retry-After when longer (up to the maximum).</summary>
    private TimeSpan RetryWait(int attempt, DeliveryResult result)
    {
        var wait = Backoff(attempt, _options.MinBackoff, _options.MaxBackoff);
        return result.RetryAfter is { } retryAfter && retryAfter > wait
            ? retryAfter < _options.MaxBackoff ? retryAfter : _options.MaxBackoff
            : wait;
    }

    /// <summary>Exponential in the attempt number, from <paramref name="min"/> up to <paramref name="max"/>, with jitter so that retries spread out.</summary>
    internal static TimeSpan Backoff(int attempt, TimeSpan min, TimeSpan max)
    {
        var ceiling = Math.Min(max.TotalMilliseconds, min.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 40)));
        var jittered = ceiling / 2 + Random.Shared.NextDouble() * ceiling / 2;
        return TimeSpan.FromMilliseconds(Math.Clamp(jittered, min.TotalMilliseconds, max.TotalMilliseconds));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Outbox delivered {Delivered} of {Claimed} claimed progress events")]
    private partial void LogRound(int delivered, int claimed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox delivered {Delivered} progress events to the AI service")]
    private partial void LogDelivered(int delivered);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox delivery of {Count} events of user {UserId} failed (attempt {Attempt}); retrying in {Wait}: {Error}")]
    private partial void LogAttemptFailed(int count, long userId, int attempt, TimeSpan wait, string? error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Outbox delivery of {Count} events of user {UserId} deferred (attempt {Attempt}); retrying in {Wait}: {Error}")]
    private partial void LogAttemptDeferred(int count, long userId, int attempt, TimeSpan wait, string? error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The AI service is unavailable; progress events of {Users} users wait in the outbox: {Error}")]
    private partial void LogUnavailable(int users, string? error);

    [LoggerMessage(Level = LogLevel.Error, Message = "The AI service refused progress event {EventId} (sequence {Sequence}, user {UserId}) as invalid; it is set aside and will not be sent again: {Error}")]
    private partial void LogPoison(Guid eventId, long sequence, long userId, string? error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Outbox claim on user {UserId}'s events was lost to another instance; leaving them to it")]
    private partial void LogClaimLost(long userId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox dispatch round failed")]
    private partial void LogRoundFailed(Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox could not release its claims on shutdown; they expire with their lease")]
    private partial void LogReleaseFailed(Exception e);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox purged {Count} delivered events older than {Retention}")]
    private partial void LogPurged(int count, TimeSpan retention);
}
