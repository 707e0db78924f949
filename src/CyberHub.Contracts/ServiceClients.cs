namespace CyberHub.Contracts;

/// <summary>Registers a machine caller (another service, an import job) that authenticates with client credentials.</summary>
public sealed record CreateServiceClientRequest(string? Name);

/// <summary>The secret is shown once, here; Core keeps only its hash.</summary>
public sealed record ServiceClientCreated(string ClientId, string ClientSecret, string Name, DateTime CreatedAt);

public sealed record ServiceClientDto(string ClientId, string Name, DateTime CreatedAt, DateTime? LastUsedAt, DateTime? RevokedAt);

/// <summary>OAuth 2.0 client credentials (RFC 6749 §4.4), as JSON.</summary>
public sealed record ClientCredentialsRequest(string? ClientId, string? ClientSecret);

/// <summary>A service token has no refresh token: the client asks again with its credentials.</summary>
public sealed record ServiceTokenResponse(string Access, string TokenType, int ExpiresIn);
