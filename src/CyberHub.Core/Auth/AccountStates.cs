using System.ComponentModel;
using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Auth;

/// <summary>Whether a user's tokens still speak for them: the account is usable, and the stamp tokens must carry.</summary>
/// <remarks>
/// Immutable, and marked so: HybridCache then hands out the cached instance itself instead of deserializing a fresh copy
/// from bytes on every hit (one per authenticated request).
/// </remarks>
[ImmutableObject(true)]
public sealed record AccountState(bool Usable, string SecurityStamp);

/// <summary>
/// The check behind every user token Core accepts: the account exists, is active, is not deleted, and its
/// security stamp is the one the token carries. The answer is cached for <see cref="Lifetime"/> and dropped on
/// every instance (through <see cref="CacheInvalidator"/>) as soon as the account changes, so that a
/// deactivation, deletion, role or password change refuses the user's tokens at once rather than when they expire.
/// </summary>
public sealed class AccountStates(HybridCache cache, IServiceScopeFactory scopes, CacheInvalidator invalidator)
{
    /// <summary>The longest an instance that missed an invalidation (Redis unreachable) keeps accepting a changed account's tokens.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

    private static readonly HybridCacheEntryOptions Entry = new() { Expiration = Lifetime, LocalCacheExpiration = Lifetime };

    public static string Tag(long userId) => "core:account:" + userId.ToString(CultureInfo.InvariantCulture);

    public ValueTask<AccountState?> GetAsync(long userId, CancellationToken cancellationToken) =>
        cache.GetOrCreateAsync(
            "core:account-state:" + userId.ToString(CultureInfo.InvariantCulture),
            (userId, scopes),
            static async (state, ct) => await ReadAsync(state.scopes, state.userId, ct),
            Entry, [Tag(userId)], cancellationToken);

    /// <summary>Call after a change to the account has committed.</summary>
    public Task ChangedAsync(long userId, CancellationToken cancellationToken = default) =>
        invalidator.InvalidateAsync(Tag(userId), cancellationToken);

    private static async Task<AccountState?> ReadAsync(IServiceScopeFactory scopes, long userId, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
        return await ReadAsync(db, userId, cancellationToken);
    }

    private static Task<AccountState?> ReadAsync(CoreDbContext db, long userId, CancellationToken cancellationToken) =>
        db.Users.AsNoTracking().Where(u => u.Id == userId)
            .Select(u => new AccountState(u.IsActive && u.DeletedAt == null, u.SecurityStamp))
            .FirstOrDefaultAsync(cancellationToken);

    /// <summary>True when the token's stamp is the account's current one (tokens minted before stamps existed carry none: "").</summary>
    public static bool Matches(AccountState? state, ClaimsPrincipal caller) =>
        state is { Usable: true }
        && CryptographicOperations.FixedTimeEquals(
            Encoding.UTF8.GetBytes(caller.FindFirstValue(CyberHubClaims.SecurityStamp) ?? ""),
            Encoding.UTF8.GetBytes(state.SecurityStamp));

    /// <summary>Refuses, in authentication itself, every user token whose account or stamp no longer matches.</summary>
    internal static async Task ValidateAsync(TokenValidatedContext context)
    {
        var caller = context.Principal;
        if (caller is null || caller.IsServiceClient())
        {
            return;
        }
        if (!long.TryParse(caller.FindFirstValue(CyberHubClaims.Subject), NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
        {
            context.Fail("The token names no user.");
            return;
        }
        var accounts = context.HttpContext.RequestServices.GetRequiredService<AccountStates>();
        if (!Matches(await accounts.GetAsync(userId, context.HttpContext.RequestAborted), caller))
        {
            context.Fail(new TokenRevokedException());
        }
    }

}

public static class CurrentAdminFilter
{
    /// <summary>
    /// Privilege-granting routes (roles, account status, service clients) do not trust the token's roles or a
    /// cached answer: they read the caller's account as it is now, and need it active, unchanged, and admin.
    /// </summary>
    public static TBuilder RequireCurrentAdmin<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var db = http.RequestServices.GetRequiredService<CoreDbContext>();
            var userId = http.User.AccountId();
            var account = await db.Users.AsNoTracking().Where(u => u.Id == userId)
                .Select(u => new { State = new AccountState(u.IsActive && u.DeletedAt == null, u.SecurityStamp), u.Roles })
                .FirstOrDefaultAsync(http.RequestAborted);
            if (account is null || !AccountStates.Matches(account.State, http.User))
            {
                throw ApiException.Unauthorized(TokenRevokedException.Detail);
            }
            if (!account.Roles.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(Roles.Admin))
            {
                throw ApiException.Forbidden();
            }
            return await next(context);
        });
}
