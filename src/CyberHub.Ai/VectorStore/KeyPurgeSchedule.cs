namespace CyberHub.Ai.VectorStore;

/// <summary>Expired keys are ignored by claims; each store also deletes them at most once an hour, when it claims one.</summary>
internal sealed class KeyPurgeSchedule
{
    private static readonly long Interval = TimeSpan.FromHours(1).Ticks;
    private long _next;

    /// <summary>True for exactly one caller once the interval has passed.</summary>
    public bool Due(DateTime now)
    {
        var next = Interlocked.Read(ref _next);
        return now.Ticks >= next && Interlocked.CompareExchange(ref _next, now.Ticks + Interval, next) == next;
    }
}
