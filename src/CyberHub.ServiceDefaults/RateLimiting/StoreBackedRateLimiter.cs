using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.RateLimiting;
using CyberHub.ServiceDefaults.Observability;

namespace CyberHub.ServiceDefaults.RateLimiting;

/// <summary>
/// One partition of one rule, as ASP.NET Core's rate limiting middleware sees it. It keeps no state of its own
/// (the store does), so the middleware may drop it when idle and make a new one later.
/// </summary>
/// <remarks>
/// The store may have to ask Redis, so the synchronous <see cref="AttemptAcquireCore"/> never decides: it answers
/// "not acquired", and the middleware then asks every limiter of the request through <see cref="AcquireAsyncCore"/>,
/// where each is counted exactly once.
/// </remarks>
internal sealed class StoreBackedRateLimiter(IRateLimitStore store, RateLimitRule rule, string partition) : RateLimiter
{
    /// <summary>Decisions by <c>policy</c> (the rule), <c>store</c> (redis, memory) and <c>result</c> (allowed, rejected).</summary>
    internal static readonly Counter<long> Decisions = CyberHubTelemetry.Meter.CreateCounter<long>(
        "cyberhub.rate_limit.decisions", "{request}", "Rate limit decisions, by policy, store and result.");

    private long _lastUsed = Stopwatch.GetTimestamp();

    public override TimeSpan? IdleDuration => Stopwatch.GetElapsedTime(Volatile.Read(ref _lastUsed));

    public override RateLimiterStatistics? GetStatistics() => null;

    protected override RateLimitLease AttemptAcquireCore(int permitCount) => DecisionLease.Undecided;

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(permitCount, 1);
        Volatile.Write(ref _lastUsed, Stopwatch.GetTimestamp());
        if (permitCount == 0)
        {
            return DecisionLease.Acquired;
        }
        var decision = await store.AcquireAsync(rule, partition, cancellationToken);
        Decisions.Add(1, new("policy", rule.Name), new("store", decision.Store), new("result", decision.Allowed ? "allowed" : "rejected"));
        return decision.Allowed ? DecisionLease.Acquired : DecisionLease.Rejected(decision.RetryAfter);
    }
}

internal sealed class DecisionLease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
{
    public static readonly DecisionLease Acquired = new(true, null);
    public static readonly DecisionLease Undecided = new(false, null);

    public static DecisionLease Rejected(TimeSpan retryAfter) => new(false, retryAfter);

    public override bool IsAcquired => acquired;

    public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

    public override bool TryGetMetadata(string metadataName, out object? metadata)
    {
        metadata = metadataName == MetadataName.RetryAfter.Name ? retryAfter : null;
        return metadata is not null;
    }
}
