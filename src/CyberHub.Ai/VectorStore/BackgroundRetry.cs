namespace CyberHub.Ai.VectorStore;

/// <summary>
/// How long a store's background work at start waits before it tries again after a failure: <see cref="First"/> after
/// the first failure, twice as long after each further one, at most <see cref="Max"/> (<see cref="BackgroundRetry"/>).
/// Both are positive (<see cref="BackgroundRetry.Checked"/>).
/// </summary>
public sealed record RetrySchedule
{
    /// <summary>30 s after the first failure, at most 15 min.</summary>
    public static readonly RetrySchedule Default = new(TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(15));

    public RetrySchedule(TimeSpan first, TimeSpan max)
    {
        First = BackgroundRetry.Checked(first, nameof(first));
        Max = BackgroundRetry.Checked(max, nameof(max));
    }

    /// <summary>The wait after the first failure.</summary>
    public TimeSpan First { get; }

    /// <summary>The longest wait (never less than <see cref="First"/>).</summary>
    public TimeSpan Max { get; }
}

/// <summary>
/// How the stores' background work at start (the pgvector search index, the embedded store's index, the item graph)
/// waits before it tries again after a failure: a first wait doubled with each further failure up to a cap
/// (<see cref="RetrySchedule"/>), each between three quarters and all of that at random, so that instances that failed
/// together do not try again together.
/// </summary>
internal static class BackgroundRetry
{
    /// <summary>
    /// The wait after the <paramref name="failures"/>th failure in a row: the schedule's first wait doubled for each
    /// failure before it, at most its cap (or the first wait, if larger), times between 3/4 and 1 as
    /// <paramref name="random"/> (in [0, 1)) goes.
    /// </summary>
    public static TimeSpan Delay(int failures, RetrySchedule schedule, double random)
    {
        var first = schedule.First.TotalMilliseconds;
        var ceiling = Math.Min(Math.Max(first, schedule.Max.TotalMilliseconds), first * Math.Pow(2, Math.Clamp(failures - 1, 0, 40)));
        return TimeSpan.FromMilliseconds(ceiling * (0.75 + 0.25 * Math.Clamp(random, 0, 1)));
    }

    /// <summary>
    /// Runs <paramref name="work"/> until it succeeds (true) or <paramref name="stopping"/> is cancelled (false): after
    /// each failure <paramref name="failed"/> is told the attempt's number, the error and the wait before the next try
    /// (<see cref="Delay"/> by <paramref name="schedule"/>). Never throws.
    /// </summary>
    public static async Task<bool> UntilDoneAsync(
        Func<CancellationToken, Task> work, RetrySchedule schedule, Action<int, Exception, TimeSpan> failed, CancellationToken stopping)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await work(stopping);
                return true;
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return false;
            }
            catch (Exception e)
            {
                var delay = Delay(attempt, schedule, Random.Shared.NextDouble());
                failed(attempt, e, delay);
                try
                {
                    await Task.Delay(delay, stopping);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
            }
        }
    }

    /// <summary>The value, if it is a wait (positive); else an error naming <paramref name="name"/>.</summary>
    public static TimeSpan Checked(TimeSpan value, string name) =>
        value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
}
