namespace CyberHub.Ai.VectorStore;

/// <summary>
/// How the stores' background work at start (the pgvector search index, the item graph) waits before it tries again
/// after a failure: a first wait doubled with each further failure up to a cap, each between three quarters and all of
/// that at random, so that instances that failed together do not try again together.
/// </summary>
internal static class BackgroundRetry
{
    public static readonly TimeSpan DefaultDelay = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultMaxDelay = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The wait after the <paramref name="failures"/>th failure in a row: <paramref name="first"/> doubled for each
    /// failure before it, at most <paramref name="max"/> (or <paramref name="first"/>, if larger), times between 3/4 and 1
    /// as <paramref name="random"/> (in [0, 1)) goes.
    /// </summary>
    public static TimeSpan Delay(int failures, TimeSpan first, TimeSpan max, double random)
    {
        var ceiling = Math.Min(Math.Max(first.TotalMilliseconds, max.TotalMilliseconds), first.TotalMilliseconds * Math.Pow(2, Math.Clamp(failures - 1, 0, 40)));
        return TimeSpan.FromMilliseconds(ceiling * (0.75 + 0.25 * Math.Clamp(random, 0, 1)));
    }

    /// <summary>
    /// Runs <paramref name="work"/> until it succeeds (true) or <paramref name="stopping"/> is cancelled (false): after
    /// each failure <paramref name="failed"/> is told the attempt's number, the error and the wait before the next try
    /// (<see cref="Delay"/>). Never throws.
    /// </summary>
    public static async Task<bool> UntilDoneAsync(
        Func<CancellationToken, Task> work, TimeSpan first, TimeSpan max, Action<int, Exception, TimeSpan> failed, CancellationToken stopping)
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
                var delay = Delay(attempt, first, max, Random.Shared.NextDouble());
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
