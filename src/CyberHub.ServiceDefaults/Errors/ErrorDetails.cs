namespace CyberHub.ServiceDefaults.Errors;

/// <summary>The default wording for each status, used when nothing more specific is known.</summary>
public static class ErrorDetails
{
    public const string NotAuthenticated = "Authentication credentials were not provided.";
    public const string Forbidden = "You do not have permission to perform this action.";
    public const string NotFound = "Not found.";
    public const string ServerError = "Internal server error.";

    public static string ForStatus(int status) => status switch
    {
        400 => "Bad request.",
        401 => NotAuthenticated,
        403 => Forbidden,
        404 => NotFound,
        405 => "Method not allowed.",
        406 => "Not acceptable.",
        408 => "Request timed out.",
        409 => "Conflict.",
        411 => "A Content-Length is required.",
        412 => "Precondition failed.",
        413 => "Request body too large.",
        415 => "Unsupported media type: send application/json.",
        429 => "Too many requests.",
        >= 500 => ServerError,
        _ => "Request failed.",
    };
}
