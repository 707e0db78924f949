namespace CyberHub.Contracts;

/// <summary>Log in with <c>email</c> or <c>username</c>, plus <c>password</c>.</summary>
public sealed record TokenRequest(string? Email, string? Username, string? Password);

public sealed record TokenPair(string Access, string Refresh);

public sealed record RefreshRequest(string? Refresh);
