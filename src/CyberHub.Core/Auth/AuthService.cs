using System.Globalization;
using System.Runtime.CompilerServices;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Users;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace CyberHub.Core.Auth;

public sealed class LoginLockoutOptions
{
    public const string Section = "Auth:Lockout";

    public int MaxFailedAttempts { get; set; } = 5;
    public TimeSpan Duration { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>Login, refresh-token rotation with reuse detection, and logout.</summary>
public sealed class AuthService(
    CoreDbContext db,
    TokenService tokens,
    IPasswordHasher<User> hasher,
    IOptions<LoginLockoutOptions> lockout,
    TimeProvider clock,
    IMemoryCache memory,
    IConfiguration configuration,
    RedisConnection? redis = null)
{
    private const string BadCredentials = "No active account found with the given credentials.";
    private const string BadRefreshToken = "Refresh token is invalid or expired.";

    // Verified against when the account does not exist, so that unknown and known accounts take equally long.
    // Made by the configured hasher, so that it carries the configured iteration count.
    private static readonly ConditionalWeakTable<IPasswordHasher<User>, string> DummyHashes = [];

    private readonly UnknownLoginLockout _unknownLogins = new(memory, redis, CachingExtensions.CachePrefix(configuration), lockout.Value);

    public async Task<TokenPair> LoginAsync(TokenRequest request, CancellationToken cancellationToken)
    {
        var login = (request.Email ?? request.Username)?.Trim();
        if (string.IsNullOrEmpty(login))
        {
            throw ApiException.BadRequest("email or username is required.");
        }
        if (string.IsNullOrEmpty(request.Password))
        {
            throw ApiException.BadRequest("password is required.");
        }

        var byEmail = request.Email != null;
        var normalized = login.ToLowerInvariant();
        var user = await db.Users.FirstOrDefaultAsync(
            u => byEmail ? u.NormalizedEmail == normalized : u.NormalizedUsername == normalized, cancellationToken);
        var now = clock.UtcNow();
        if (user is null || !user.IsActive)
        {
            // No such account: the same work, the same answer and the same lockout as for a wrong password.
            var name = (byEmail ? "email:" : "username:") + normalized;
            if (await _unknownLogins.LockedForAsync(name, now) is { } remaining)
            {
                throw Locked(remaining);
            }
            var dummyHash = DummyHashes.GetValue(hasher, h => h.HashPassword(null!, Guid.NewGuid().ToString()));
            hasher.VerifyHashedPassword(null!, dummyHash, request.Password);
            await _unknownLogins.RecordFailureAsync(name, now);
            throw ApiException.Unauthorized(BadCredentials);
        }

        if (user.LockedUntil > now)
        {
            throw Locked(user.LockedUntil.Value - now);
        }

        var verdict = hasher.VerifyHashedPassword(user, user.PasswordHash, request.Password);
        if (verdict == PasswordVerificationResult.Failed)
        {
            await RecordFailureAsync(user.Id, now, cancellationToken);
            throw ApiException.Unauthorized(BadCredentials);
        }

        if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.PasswordHash = hasher.HashPassword(user, request.Password);
        }
        user.FailedLoginCount = 0;
        user.LockedUntil = null;
        return await tokens.IssuePairAsync(user, cancellationToken: cancellationToken);
    }

    /// <summary>
    /// Exchanges a refresh token for a new pair. A token can be exchanged once; presenting it again (a replay,
    /// or a second of several concurrent refreshes) revokes its whole family. A family counts as revoked as
    /// soon as any of its tokens is, so a token issued by a refresh that raced the revocation is dead too.
    /// </summary>
    public async Task<TokenPair> RefreshAsync(RefreshRequest request, CancellationToken cancellationToken)
    {
        var stored = await FindAsync(request, cancellationToken);
        var now = clock.UtcNow();
        if (stored is null || stored.RevokedAt is not null || stored.ExpiresAt <= now)
        {
            throw ApiException.Unauthorized(BadRefreshToken);
        }

        // The account is read before the claim: a change that ends the user's sessions (password, roles, status)
        // commits its new security stamp together with the revocation, so either it committed before this read
        // and the claim below fails, or the access token minted here carries the old stamp and Core refuses it.
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == stored.UserId, cancellationToken);

        // Claim the token in one statement: of concurrent refreshes with one token exactly one wins, and none
        // wins once a token of the family has been revoked (logout, password change, detected reuse).
        var family = stored.FamilyId;
        var claimed = stored.RotatedAt is null && await db.RefreshTokens
            .Where(t => t.Id == stored.Id && t.RotatedAt == null && t.RevokedAt == null
                && !db.RefreshTokens.Any(f => f.FamilyId == family && f.RevokedAt != null))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RotatedAt, now), cancellationToken) == 1;
        if (!claimed)
        {
            await RevokeFamilyAsync(family, now, cancellationToken);
            var reused = stored.RotatedAt is not null || await db.RefreshTokens.AnyAsync(t => t.Id == stored.Id && t.RotatedAt != null, cancellationToken);
            throw ApiException.Unauthorized(reused
                ? "Refresh token was already used; every session from that login has been revoked."
                : BadRefreshToken);
        }

        if (user is null || !user.IsActive)
        {
            throw ApiException.Unauthorized(BadRefreshToken);
        }
        return await tokens.IssuePairAsync(user, family, cancellationToken);
    }

    /// <summary>Logs out the session the refresh token belongs to. Unknown tokens are ignored: logout is idempotent.</summary>
    public async Task RevokeAsync(RefreshRequest request, CancellationToken cancellationToken)
    {
        var stored = await FindAsync(request, cancellationToken);
        if (stored is not null)
        {
            await RevokeFamilyAsync(stored.FamilyId, clock.UtcNow(), cancellationToken);
        }
    }

    public Task RevokeAllForUserAsync(long userId, CancellationToken cancellationToken)
    {
        var now = clock.UtcNow();
        return db.RefreshTokens.Where(t => t.UserId == userId && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now), cancellationToken);
    }

    private async Task<RefreshToken?> FindAsync(RefreshRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.Refresh))
        {
            throw ApiException.BadRequest("refresh is required.");
        }
        var hash = TokenService.Hash(request.Refresh);
        return await db.RefreshTokens.AsNoTracking().FirstOrDefaultAsync(t => t.TokenHash == hash, cancellationToken);
    }

    private Task RevokeFamilyAsync(Guid family, DateTime now, CancellationToken cancellationToken) =>
        db.RefreshTokens.Where(t => t.FamilyId == family && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now), cancellationToken);

    private async Task RecordFailureAsync(long userId, DateTime now, CancellationToken cancellationToken)
    {
        // Counted in the database, not in memory, so that parallel guesses are all counted.
        await db.Users.Where(u => u.Id == userId)
            .ExecuteUpdateAsync(s => s.SetProperty(u => u.FailedLoginCount, u => u.FailedLoginCount + 1), cancellationToken);
        var limit = lockout.Value.MaxFailedAttempts;
        await db.Users.Where(u => u.Id == userId && u.FailedLoginCount >= limit)
            .ExecuteUpdateAsync(s => s
                .SetProperty(u => u.FailedLoginCount, 0)
                .SetProperty(u => u.LockedUntil, now + lockout.Value.Duration), cancellationToken);
    }

    private static ApiException Locked(TimeSpan remaining)
    {
        var seconds = (int)Math.Ceiling(remaining.TotalSeconds);
        return new ApiException(StatusCodes.Status429TooManyRequests,
            $"Account temporarily locked after repeated failed logins; try again in {seconds} seconds.")
        {
            Headers = new Dictionary<string, string> { ["Retry-After"] = seconds.ToString(CultureInfo.InvariantCulture) },
        };
    }
}
