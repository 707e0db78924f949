using System.Globalization;
using System.Runtime.CompilerServices;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Users;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace CyberHub.Core.Auth;

/// <summary>Login, refresh-token rotation with reuse detection, and logout.</summary>
public sealed class AuthService(
    CoreDbContext db,
    TokenService tokens,
    IPasswordHasher<User> hasher,
    LoginThrottle throttle,
    TimeProvider clock)
{
    private const string BadCredentials = "No active account found with the given credentials.";
    private const string BadRefreshToken = "Refresh token is invalid or expired.";

    // Verified against when the account does not exist, so that unknown and known accounts take equally long.
    // Made by the configured hasher, so that it carries the configured iteration count.
    private static readonly ConditionalWeakTable<IPasswordHasher<User>, string> DummyHashes = [];

    /// <summary>Logs in from <paramref name="address"/> (the client's, as the rate limits see it), which the login throttle counts failures against.</summary>
    public async Task<TokenPair> LoginAsync(TokenRequest request, string address, CancellationToken cancellationToken)
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
        if (user is null || !user.IsActive)
        {
            // No such account: the same work, the same answer and the same throttle as for a wrong password.
            var name = (byEmail ? "email:" : "username:") + normalized;
            if (await throttle.AttemptAsync(name, address) is { } wait)
            {
                throw Throttled(wait);
            }
            var dummyHash = DummyHashes.GetValue(hasher, h => h.HashPassword(null!, Guid.NewGuid().ToString()));
            hasher.VerifyHashedPassword(null!, dummyHash, request.Password);
            throw ApiException.Unauthorized(BadCredentials);
        }

        var account = AccountKey(user.Id);
        if (await throttle.AttemptAsync(account, address) is { } delay)
        {
            throw Throttled(delay);
        }
        var verdict = hasher.VerifyHashedPassword(user, user.PasswordHash, request.Password);
        if (verdict == PasswordVerificationResult.Failed)
        {
            throw ApiException.Unauthorized(BadCredentials);
        }
        await throttle.ForgiveAsync(account, address);

        if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.PasswordHash = hasher.HashPassword(user, request.Password);
        }
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

    /// <summary>
    /// The user's live sessions, most recently used first: refresh-token families with a token that can still be
    /// exchanged (not rotated, not revoked, not expired) and none revoked. <paramref name="current"/> is the family of
    /// the caller's access token, when it names one.
    /// </summary>
    public async Task<IReadOnlyList<SessionDto>> ListSessionsAsync(long userId, string? current, CancellationToken cancellationToken)
    {
        var now = clock.UtcNow();
        var tokens = await db.RefreshTokens.AsNoTracking()
            .Where(t => t.UserId == userId)
            .Select(t => new { t.FamilyId, t.CreatedAt, t.ExpiresAt, t.RotatedAt, t.RevokedAt })
            .ToListAsync(cancellationToken);
        return [.. tokens.GroupBy(t => t.FamilyId)
            .Where(f => f.All(t => t.RevokedAt == null) && f.Any(t => t.RotatedAt == null && t.ExpiresAt > now))
            .Select(f => new SessionDto(
                f.Key.ToString("N"),
                f.Min(t => t.CreatedAt),
                f.Max(t => t.CreatedAt),
                f.Where(t => t.RotatedAt == null).Max(t => t.ExpiresAt),
                string.Equals(current, f.Key.ToString("N"), StringComparison.Ordinal)))
            .OrderByDescending(s => s.LastUsedAt)];
    }

    /// <summary>Signs one session of the user out (its refresh tokens stop working); 404 when the user has no such session.</summary>
    public async Task RevokeSessionAsync(long userId, string id, CancellationToken cancellationToken)
    {
        if (!Guid.TryParseExact(id, "N", out var family)
            || await db.RefreshTokens.Where(t => t.FamilyId == family && t.UserId == userId && t.RevokedAt == null).ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, clock.UtcNow()), cancellationToken) == 0
            && !await db.RefreshTokens.AnyAsync(t => t.FamilyId == family && t.UserId == userId, cancellationToken))
        {
            throw ApiException.NotFound("Session not found.");
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

    /// <summary>How an account is named to the <see cref="LoginThrottle"/>: logins by email and by username, and password changes, count together.</summary>
    public static string AccountKey(long userId) => $"user:{userId}";

    /// <summary>The answer while an address has to wait before its next attempt on an account (or unknown name).</summary>
    public static ApiException Throttled(TimeSpan wait)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        return new ApiException(StatusCodes.Status429TooManyRequests,
            $"Too many failed attempts on this account from your address; try again in {seconds} seconds.")
        {
            Headers = new Dictionary<string, string> { ["Retry-After"] = seconds.ToString(CultureInfo.InvariantCulture) },
        };
    }
}
