namespace CyberHub.Contracts;

/// <summary>A page of a list: <c>{"count", "next", "previous", "results"}</c>.</summary>
public sealed record PagedResponse<T>(int Count, string? Next, string? Previous, IReadOnlyList<T> Results);
