using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberHub.Core.Data;

/// <summary>
/// Deletes expired idempotency keys once the service has started and then hourly, as the outbox purges delivered
/// events. Every instance runs it; two at once delete the same rows, which is harmless. Expired keys are ignored by
/// look-ups anyway: the purge only keeps the table small.
/// </summary>
internal sealed partial class IdempotencyKeyPurge(
    IServiceScopeFactory scopes, IHostApplicationLifetime lifetime, TimeProvider clock, ILogger<IdempotencyKeyPurge> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The schema is migrated by a hosted service that starts after this one.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        await using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            await started.Task;
        }

        using var timer = new PeriodicTimer(Interval, clock);
        do
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var purged = await scope.ServiceProvider.GetRequiredService<CoreDbContext>().PurgeExpiredAsync(clock.UtcNow(), stoppingToken);
                if (purged > 0)
                {
                    LogPurged(purged);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Purged {Count} expired idempotency keys")]
    private partial void LogPurged(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Purging expired idempotency keys failed; trying again in an hour")]
    private partial void LogFailed(Exception exception);
}
