namespace CyberHub.Contracts;

public sealed record HealthResponse(string Status, IReadOnlyDictionary<string, HealthCheckResult> Checks);

public sealed record HealthCheckResult(string Status, double DurationMs, string? Description);
