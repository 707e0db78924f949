namespace CyberHub.Core.Auth;

/// <summary>
/// A machine caller (another service, an import job) that gets service tokens with client credentials.
/// Only the SHA-256 hash of its secret is stored: the secret is 256 random bits, so a fast hash is enough.
/// </summary>
public sealed class ServiceClient
{
    public const int MaxNameLength = 100;

    public long Id { get; set; }
    public required string ClientId { get; set; }
    public required string Name { get; set; }
    public required byte[] SecretHash { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? LastUsedAt { get; set; }
    public DateTime? RevokedAt { get; set; }
}
