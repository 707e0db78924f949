using Microsoft.AspNetCore.Builder;

namespace CyberHub.ServiceDefaults.OpenApi;

/// <summary>
/// An error answer that an endpoint gives for a reason of its own, beyond those its shape already implies (see
/// <see cref="OperationContract"/>): a 409 for the last admin or owner, for instance. Documented with the shared
/// <c>{"detail","request_id"}</c> body.
/// </summary>
public sealed record ErrorResponseMetadata(int StatusCode, string Description);

/// <summary>The endpoint answers with an <c>ETag</c> (the entity's version); with <see cref="IfMatch"/> it honours <c>If-Match</c> (412 when stale).</summary>
public sealed record EntityTagMetadata(bool IfMatch);

/// <summary>An endpoint that reads no database, store or other service, so it never answers 503.</summary>
public sealed class NoDependencyMetadata
{
    public static readonly NoDependencyMetadata Instance = new();
}

/// <summary>Put on an endpoint by what it returns (<see cref="Idempotency.IdempotentResult"/>): it honours <c>Idempotency-Key</c>.</summary>
public sealed class IdempotencyKeyMetadata
{
    public static readonly IdempotencyKeyMetadata Instance = new();
}

public static class OpenApiMetadataExtensions
{
    /// <summary>Documents an error answer this endpoint gives for a reason of its own (see <see cref="ErrorResponseMetadata"/>).</summary>
    public static TBuilder ProducesError<TBuilder>(this TBuilder builder, int statusCode, string description)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new ErrorResponseMetadata(statusCode, description));

    /// <summary>Documents the <c>ETag</c> of the answer and, with <paramref name="ifMatch"/>, the <c>If-Match</c> precondition and its 412.</summary>
    public static TBuilder WithETag<TBuilder>(this TBuilder builder, bool ifMatch = false)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new EntityTagMetadata(ifMatch));

    /// <summary>Documents that the endpoint depends on nothing that can be down (no 503).</summary>
    public static TBuilder WithoutDependencies<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(NoDependencyMetadata.Instance);
}
