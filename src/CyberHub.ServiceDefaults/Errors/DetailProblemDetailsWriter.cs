using System.Text.Json;
using CyberHub.Contracts;

namespace CyberHub.ServiceDefaults.Errors;

/// <summary>
/// Everything ASP.NET Core would answer as RFC 7807 problem details (status code pages, the exception
/// handler, auth failures) is written in the seed's shape instead: <c>{"detail": "..."}</c>.
/// </summary>
internal sealed class DetailProblemDetailsWriter : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var response = context.HttpContext.Response;
        var status = context.ProblemDetails.Status ?? response.StatusCode;
        var detail = context.ProblemDetails.Detail ?? ErrorDetails.ForStatus(status);
        return new ValueTask(WriteDetailAsync(context.HttpContext, status, detail));
    }

    internal static Task WriteDetailAsync(HttpContext http, int status, string detail)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(http.Response.Body, new ErrorResponse(detail, http.TraceIdentifier), CyberHubJson.Options, http.RequestAborted);
    }
}
