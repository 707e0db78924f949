namespace CyberHub.Core.Data;

public static class ClockExtensions
{
    /// <summary>
    /// Now, in UTC, at the microsecond precision PostgreSQL stores, so that a value answered right after a
    /// write is the same value every later read returns.
    /// </summary>
    public static DateTime UtcNow(this TimeProvider clock)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
    }
}
