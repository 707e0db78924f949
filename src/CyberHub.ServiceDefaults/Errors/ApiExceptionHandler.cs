using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CyberHub.ServiceDefaults.Errors;

/// <summary>Maps exceptions to <c>{"detail"}</c> answers; anything unexpected becomes a 500 without internals.</summary>
internal sealed partial class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        var (status, detail) = Describe(exception);
        if (exception is ApiException api)
        {
            foreach (var (name, value) in api.Headers)
            {
                http.Response.Headers[name] = value;
            }
            if (status >= 500)
            {
                // A known outage (a dependency down): worth a line, not a stack trace.
                logger.LogWarning("{Method} {Path} answered {Status}: {Detail}", http.Request.Method, http.Request.Path, status, detail);
            }
        }
        else if (status >= 500)
        {
            logger.LogError(exception, "Unhandled exception on {Method} {Path}", http.Request.Method, http.Request.Path);
        }
        await DetailProblemDetailsWriter.WriteDetailAsync(http, status, detail);
        return true;
    }

    /// <summary>Client errors are the caller's business, not an incident: keep them out of the error log.</summary>
    internal static bool IsClientError(Exception exception) => exception is ApiException || Describe(exception).Status < 500;

    private static (int Status, string Detail) Describe(Exception exception) => exception switch
    {
        ApiException api => (api.StatusCode, api.Message),
        BadHttpRequestException bad => (bad.StatusCode, DescribeBadRequest(bad)),
        JsonException json => (StatusCodes.Status400BadRequest, DescribeJson(json)),
        _ => (StatusCodes.Status500InternalServerError, ErrorDetails.ServerError),
    };

    private static string DescribeBadRequest(BadHttpRequestException bad)
    {
        if (bad.InnerException is JsonException json)
        {
            return DescribeJson(json);
        }
        if (bad.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            return ErrorDetails.ForStatus(415);
        }
        if (bad.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return ErrorDetails.ForStatus(413);
        }
        var binding = BindFailure().Match(bad.Message);
        if (binding.Success)
        {
            // Query names on the wire are the snake_case form of the handler's parameter names.
            var name = JsonNamingPolicy.SnakeCaseLower.ConvertName(binding.Groups["name"].Value);
            return $"Invalid value '{binding.Groups["value"].Value}' for '{name}'.";
        }
        if (bad.Message.StartsWith("Required parameter", StringComparison.Ordinal) && bad.Message.EndsWith("from body.", StringComparison.Ordinal))
        {
            return "A JSON request body is required.";
        }
        if (bad.InnerException is not null || bad.Message.Contains("parameter", StringComparison.Ordinal))
        {
            return "Malformed request body: expected a JSON object.";
        }
        return bad.Message;
    }

    private static string DescribeJson(JsonException json)
    {
        var path = string.IsNullOrEmpty(json.Path) || json.Path == "$" ? "" : $" at {json.Path}";
        return $"Malformed JSON{path}: {FirstSentence(json.Message)}";
    }

    private static string FirstSentence(string message)
    {
        // The serializer's conversion messages name .NET types; the caller only needs to know the value is wrong.
        if (message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            return "the value has the wrong type or is not one of the allowed values.";
        }
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    [GeneratedRegex("^Failed to bind parameter \"\\S+ (?<name>\\w+)\" from \"(?<value>.*)\"\\.$", RegexOptions.Singleline)]
    private static partial Regex BindFailure();
}
