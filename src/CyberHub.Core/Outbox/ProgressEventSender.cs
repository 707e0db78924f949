using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CyberHub.Contracts;
using Microsoft.Extensions.Options;

namespace CyberHub.Core.Outbox;

public enum DeliveryStatus
{
    Delivered,
    /// <summary>The receiver said the events are invalid (400, 413, 422): sending them again cannot help.</summary>
    Rejected,
    /// <summary>Anything else: the events are sent again after a backoff.</summary>
    Failed,
}

/// <param name="Unavailable">The receiver could not be reached or said it is unavailable, rather than failing on these events.</param>
public sealed record DeliveryResult(DeliveryStatus Status, string? Error = null, bool Unavailable = false, TimeSpan? RetryAfter = null, ProgressEventsResult? Answer = null);

/// <summary>Posts progress events to the AI service's sync endpoint with Core's own service token.</summary>
public sealed class ProgressEventSender(IHttpClientFactory httpClients, ServiceTokenSource tokens, IOptions<OutboxOptions> options)
{
    public const string HttpClientName = "cyberhub-ai-sync";
    public const string Path = "api/v1/sync/progress-events";
    private const int MaxErrorBody = 300;

    public async Task<DeliveryResult> SendAsync(IReadOnlyList<ProgressEvent> events, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.EffectiveRequestTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, Path)
        {
            // Buffered, so the request carries a Content-Length rather than a chunked body.
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(new ProgressEventBatch(events), CyberHubJson.Options))
            {
                Headers = { ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" } },
            },
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.Get());
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
            return await InterpretAsync(response, timeout.Token);
        }
        catch (HttpRequestException e)
        {
            return new DeliveryResult(DeliveryStatus.Failed, e.Message, Unavailable: true);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new DeliveryResult(DeliveryStatus.Failed, $"No answer within {options.Value.EffectiveRequestTimeout.TotalSeconds:0.#} s.", Unavailable: true);
        }
    }

    private async Task<DeliveryResult> InterpretAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (response.IsSuccessStatusCode)
        {
            ProgressEventsResult? answer = null;
            try
            {
                answer = await response.Content.ReadFromJsonAsync<ProgressEventsResult>(CyberHubJson.Options, cancellationToken);
            }
            catch (JsonException)
            {
                // Delivered all the same: the receiver took the batch; only its summary is unreadable.
            }
            return new DeliveryResult(DeliveryStatus.Delivered, Answer: answer);
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var error = $"{status} {response.ReasonPhrase}: {(body.Length > MaxErrorBody ? body[..MaxErrorBody] : body)}";
        switch (response.StatusCode)
        {
            case HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity or HttpStatusCode.RequestEntityTooLarge:
                return new DeliveryResult(DeliveryStatus.Rejected, error);
            case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                // Perhaps the receiver does not know our signing key yet; a fresh token cannot hurt.
                tokens.Invalidate();
                return new DeliveryResult(DeliveryStatus.Failed, error);
            default:
                var unavailable = response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway
                    or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout or HttpStatusCode.NotFound;
                return new DeliveryResult(DeliveryStatus.Failed, error, unavailable, RetryAfter(response));
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow,
            _ => null,
        };
}
