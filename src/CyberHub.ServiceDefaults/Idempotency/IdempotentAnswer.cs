using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Errors;
using CyberHub.ServiceDefaults.OpenApi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Metadata;

namespace CyberHub.ServiceDefaults.Idempotency;

/// <summary>
/// The answer kept for an idempotency key: status, body as first written, and the headers that describe the result
/// (<c>Location</c>, <c>ETag</c>). An error keeps <c>{"detail"}</c> only: the <c>request_id</c> of an error body names the
/// request being answered, so a replay carries its own. <see cref="Replayed"/> is set on answers read back from storage.
/// </summary>
public sealed record IdempotentAnswer(int StatusCode, string Body, IReadOnlyDictionary<string, string> Headers)
{
    private static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>();

    public bool Replayed { get; init; }

    public static IdempotentAnswer Json<T>(int statusCode, T body, IReadOnlyDictionary<string, string>? headers = null) =>
        new(statusCode, JsonSerializer.Serialize(body, CyberHubJson.Options), headers ?? NoHeaders);

    public static IdempotentAnswer Refusal(ApiException error) =>
        new(error.StatusCode, new JsonObject { ["detail"] = error.Message }.ToJsonString(), error.Headers);

    /// <summary>An answer as stored: <paramref name="headers"/> is what <see cref="HeadersJson"/> wrote.</summary>
    public static IdempotentAnswer Stored(int statusCode, string body, string headers) =>
        new(statusCode, body, JsonSerializer.Deserialize<Dictionary<string, string>>(headers, CyberHubJson.Options) ?? []) { Replayed = true };

    public string HeadersJson() => JsonSerializer.Serialize(Headers, CyberHubJson.Options);

    /// <summary>
    /// Whether a status is final, and so kept for retries: successes and client errors. Not server errors (a retry
    /// may succeed), nor the client errors that themselves say "try again" (408, 409, 425, 429).
    /// </summary>
    public static bool IsFinal(int statusCode) =>
        statusCode is >= 200 and < 300 || (statusCode is >= 400 and < 500 and not (408 or 409 or 425 or 429));

    public IdempotentResult ToResult() => new(this);
}

/// <summary>Writes an <see cref="IdempotentAnswer"/>: the same bytes for the first answer and for every replay.</summary>
public sealed class IdempotentResult(IdempotentAnswer answer) : IResult, IStatusCodeHttpResult, IEndpointMetadataProvider
{
    /// <summary>An endpoint that can answer with a stored answer honours <c>Idempotency-Key</c>: its document says so.</summary>
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => builder.Metadata.Add(IdempotencyKeyMetadata.Instance);

    public int? StatusCode => answer.StatusCode;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        foreach (var (name, value) in answer.Headers)
        {
            response.Headers[name] = value;
        }
        if (answer.Replayed)
        {
            response.Headers[IdempotencyKeyHeader.Replayed] = "true";
        }
        if (answer.StatusCode >= 400)
        {
            var detail = JsonNode.Parse(answer.Body)?["detail"]?.GetValue<string>() ?? ErrorDetails.ForStatus(answer.StatusCode);
            await DetailProblemDetailsWriter.WriteDetailAsync(httpContext, answer.StatusCode, detail);
            return;
        }
        response.StatusCode = answer.StatusCode;
        response.ContentType = "application/json; charset=utf-8";
        await response.WriteAsync(answer.Body, httpContext.RequestAborted);
    }
}
