namespace CyberHub.ServiceDefaults.Errors;

/// <summary>
/// A request the service refuses for a reason the caller can act on. The exception handler turns it
/// into <c>{"detail": ...}</c> with <see cref="StatusCode"/>; it is never logged as a server error.
/// </summary>
public sealed class ApiException(int statusCode, string detail) : Exception(detail)
{
    public int StatusCode { get; } = statusCode;

    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    public static ApiException BadRequest(string detail) => new(StatusCodes.Status400BadRequest, detail);
    public static ApiException Unauthorized(string detail) => new(StatusCodes.Status401Unauthorized, detail);
    public static ApiException Forbidden(string detail = ErrorDetails.Forbidden) => new(StatusCodes.Status403Forbidden, detail);
    public static ApiException NotFound(string detail = ErrorDetails.NotFound) => new(StatusCodes.Status404NotFound, detail);
    public static ApiException Conflict(string detail) => new(StatusCodes.Status409Conflict, detail);
    public static ApiException PreconditionFailed(string detail) => new(StatusCodes.Status412PreconditionFailed, detail);
    public static ApiException ServiceUnavailable(string detail) => new(StatusCodes.Status503ServiceUnavailable, detail);
}
