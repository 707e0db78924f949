using System.Data.Common;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Logging;
using Polly;

namespace CyberHub.ServiceDefaults.Errors;

/// <summary>Maps exceptions to <c>{"detail"}</c> answers; anything unexpected becomes a 500 without internals.</summary>
internal sealed partial class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    internal const string DatabaseUnavailable = "The database is unavailable; try again shortly.";
    internal const string DependencyUnavailable = "A service this one depends on did not answer in time; try again shortly.";

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
        else if (Outage(exception) is not null)
        {
            http.Response.Headers.RetryAfter = "5";
            logger.LogWarning("{Method} {Path} answered {Status}: {Detail} ({Error})", http.Request.Method, http.Request.Path, status, detail,
                exception.GetBaseException().Message);
        }
        else if (status >= 500)
        {
            logger.LogError(exception, "Unhandled exception on {Method} {Path}", http.Request.Method, http.Request.Path);
        }
        await DetailProblemDetailsWriter.WriteDetailAsync(http, status, detail);
        return true;
    }

    /// <summary>Client errors are the caller's business, and known outages are logged here as warnings: keep both out of the error log.</summary>
    internal static bool IsClientError(Exception exception) => exception is ApiException || Outage(exception) is not null || Describe(exception).Status < 500;

    /// <summary>
    /// A dependency is away rather than the request wrong or the code broken, so a 503 the caller may retry: the database
    /// could not be reached or dropped the connection (the provider calls that transient, wherever EF Core wrapped it), or
    /// an HTTP client's resilience pipeline gave up on another service (total timeout, open circuit).
    /// </summary>
    private static string? Outage(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case DbException { IsTransient: true }:
                    return DatabaseUnavailable;
                case ExecutionRejectedException:
                    return DependencyUnavailable;
            }
        }
        return null;
    }

    private static (int Status, string Detail) Describe(Exception exception) => exception switch
    {
        ApiException api => (api.StatusCode, api.Message),
        BadHttpRequestException bad => (bad.StatusCode, DescribeBadRequest(bad)),
        JsonException json => (StatusCodes.Status400BadRequest, DescribeJson(json)),
        _ when Outage(exception) is { } outage => (StatusCodes.Status503ServiceUnavailable, outage),
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
        var reason = json.InnerException switch
        {
            // The reader's complaint about the bytes themselves, which the serializer reports as a conversion failure.
            InvalidOperationException { Message: var m } when m.Contains("UTF-", StringComparison.Ordinal) =>
                "the text is not valid UTF-8 or has an unpaired surrogate.",
            FormatException => "the value has the wrong type or is out of range.",
            _ => FirstSentence(json.Message),
        };
        return $"Malformed JSON{path}: {reason}";
    }

    private static string FirstSentence(string message)
    {
        // The serializer's conversion messages name .NET types; the caller only needs to know the value is wrong.
        if (message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            return "the value has the wrong type or is not one of the allowed values.";
        }
        if (message.StartsWith("Duplicate property", StringComparison.Ordinal))
        {
            return "the property appears more than once.";
        }
        // The reader's messages go on with advice for .NET programmers ("Change the reader options.").
        var sentence = message.IndexOf(". ", StringComparison.Ordinal);
        var path = message.IndexOf(" Path:", StringComparison.Ordinal);
        return sentence > 0 ? message[..(sentence + 1)] : path > 0 ? message[..path] : message;
    }

    [GeneratedRegex("^Failed to bind parameter \"\\S+ (?<name>\\w+)\" from \"(?<value>.*)\"\\.$", RegexOptions.Singleline)]
    private static partial Regex BindFailure();
}
