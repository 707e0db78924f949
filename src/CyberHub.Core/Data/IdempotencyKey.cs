using CyberHub.ServiceDefaults.Idempotency;

namespace CyberHub.Core.Data;

/// <summary>
/// The answer given to a request sent with an <c>Idempotency-Key</c> (see <see cref="IdempotentRequest"/>), kept for
/// 24 hours so that a retry gets it again instead of being carried out twice. Written in the transaction of the change
/// it answers for: a change is never without its key, nor a key without its change.
/// </summary>
public sealed class IdempotencyKey
{
    public long Id { get; set; }
    /// <summary>The caller's <c>sub</c>; keys are scoped per caller and route.</summary>
    public required string Caller { get; set; }
    /// <summary>Method and route template, e.g. <c>POST /api/v1/progress/</c>.</summary>
    public required string Route { get; set; }
    public required string Key { get; set; }
    /// <summary>SHA-256 (hex) of the request body; the same key with another body is refused.</summary>
    public required string Fingerprint { get; set; }
    public int StatusCode { get; set; }
    /// <summary>The JSON body as first written (text, not jsonb, so a replay has the same bytes).</summary>
    public required string ResponseBody { get; set; }
    /// <summary>A JSON object of the answer's own headers (Location, ETag).</summary>
    public required string ResponseHeaders { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime ExpiresAt { get; set; }

    public static IdempotencyKey For(IdempotentRequest request, IdempotentAnswer answer, DateTime now) => new()
    {
        Caller = request.Caller,
        Route = request.Route,
        Key = request.Key,
        Fingerprint = request.Fingerprint,
        StatusCode = answer.StatusCode,
        ResponseBody = answer.Body,
        ResponseHeaders = answer.HeadersJson(),
        CreatedAt = now,
        ExpiresAt = now + IdempotencyKeyHeader.Lifetime,
    };

    public IdempotentAnswer ToAnswer() => IdempotentAnswer.Stored(StatusCode, ResponseBody, ResponseHeaders);
}
