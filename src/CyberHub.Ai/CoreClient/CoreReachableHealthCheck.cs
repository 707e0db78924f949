using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CyberHub.Ai.CoreClient;

/// <summary>
/// Readiness: can this instance reach Core (its liveness endpoint, within 2 s)? Without Core the catalog and
/// search still work and cached recommendations are served, so an unreachable Core is reported degraded —
/// taking every AI instance out of the load balancer because Core is down would only make it worse.
/// </summary>
internal sealed class CoreReachableHealthCheck(IHttpClientFactory clients) : IHealthCheck
{
    public const string ClientName = "core-health";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var client = clients.CreateClient(ClientName);
        try
        {
            using var response = await client.GetAsync("/api/v1/health/live", cancellationToken);
            return response.IsSuccessStatusCode
                ? HealthCheckResult.Healthy($"core at {client.BaseAddress}")
                : HealthCheckResult.Degraded($"core at {client.BaseAddress} answered {(int)response.StatusCode}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Degraded($"core at {client.BaseAddress} unreachable: cached results only", e);
        }
    }
}
