namespace CyberHub.ServiceDefaults.Idempotency;

/// <summary>
/// A key held while its request runs, for stores that cannot run the work in one transaction with the key (the AI
/// service embeds texts before it writes). The store writes the key first, marked in flight with <see cref="Token"/>
/// until <see cref="Lease"/> runs out; a duplicate meanwhile gets 409 with <c>Retry-After</c>; the answer replaces the
/// mark in the transaction of the write; a failed request gives the key back; a crashed one's lease expires, and a
/// retry with the same body then takes the key over. <see cref="Answer"/> is set instead when the key already has one.
/// </summary>
public sealed record IdempotencyClaim(IdempotentRequest Request, Guid Token, IdempotentAnswer? Answer)
{
    public static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

    /// <summary>What a duplicate is told to wait: most requests finish within a second or two.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A key the store could not claim because it is in use: its answer (a replay), or 422 when it was first used
    /// with another body, or 409 while the request holding it still runs.
    /// </summary>
    public static IdempotencyClaim Existing(IdempotentRequest request, string fingerprint, int? statusCode, string? body, string? headers)
    {
        if (fingerprint != request.Fingerprint)
        {
            throw IdempotentRequest.Reused();
        }
        return statusCode is { } status
            ? new IdempotencyClaim(request, Guid.Empty, IdempotentAnswer.Stored(status, body ?? "", headers ?? "{}"))
            : throw IdempotentRequest.InFlight(RetryAfter);
    }
}
