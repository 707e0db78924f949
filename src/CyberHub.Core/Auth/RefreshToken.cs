namespace CyberHub.Core.Auth;

/// <summary>
/// One issued refresh token, stored only as its SHA-256 hash. Tokens issued from one login form a
/// family; using a rotated token again revokes the whole family (reuse detection).
/// </summary>
public sealed class RefreshToken
{
    public long Id { get; set; }
    public long UserId { get; set; }
    public Guid FamilyId { get; set; }
    public required byte[] TokenHash { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime ExpiresAt { get; set; }
    /// <summary>Set when this token was exchanged for a new pair.</summary>
    public DateTime? RotatedAt { get; set; }
    public DateTime? RevokedAt { get; set; }
}
