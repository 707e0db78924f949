namespace CyberHub.Core.Outbox;

/// <summary>How the outbox dispatcher delivers progress events to the AI service. Bound from the "Outbox" section.</summary>
public sealed class OutboxOptions
{
    public const string Section = "Outbox";

    /// <summary>Whether this instance dispatches. Events are written either way, for any instance that does.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>How often to look for due events when no write in this process has signalled one.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>The most events claimed at a time (and sent in one request).</summary>
    public int BatchSize { get; set; } = 100;
    /// <summary>How long a claim keeps other instances away; a crashed instance's events wait this long.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan MinBackoff { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>How long delivered events are kept before they are purged.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);
    /// <summary>How many users' events are delivered at once.</summary>
    public int MaxConcurrency { get; set; } = 4;
    /// <summary>The longest one delivery request may take; never more than half the lease.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    internal TimeSpan EffectiveRequestTimeout => RequestTimeout < LeaseDuration / 2 ? RequestTimeout : LeaseDuration / 2;

    internal string? Problem()
    {
        if (BatchSize is < 1 or > 1000)
        {
            return "Outbox:BatchSize must be between 1 and 1000.";
        }
        if (MaxConcurrency is < 1 or > 64)
        {
            return "Outbox:MaxConcurrency must be between 1 and 64.";
        }
        if (new[] { PollInterval, LeaseDuration, RequestTimeout, Retention, MinBackoff }.Any(t => t <= TimeSpan.Zero))
        {
            return "Outbox:PollInterval, LeaseDuration, RequestTimeout, Retention and MinBackoff must be positive.";
        }
        return MaxBackoff < MinBackoff ? "Outbox:MaxBackoff must not be less than MinBackoff." : null;
    }
}
