using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CyberHub.ServiceDefaults.Auth;

/// <summary>
/// The bearer token handler of both services: <see cref="JsonWebTokenHandler"/>, remembering for each access token
/// that it passed every check (ES256 signature, type, issuer, audience, lifetime), so that a client sending the same
/// token again is not parsed and verified again on every request. A remembered token is accepted again only while
/// <list type="bullet">
/// <item>it is within its lifetime: <c>exp</c> plus the clock skew, the same bound as the full check;</item>
/// <item>the key that verified it is still one the service trusts: the key resolver (Core's key ring, AI's copy of
/// Core's JWKS) still returns that very key for its <c>kid</c>, so a retired key ends its tokens at once.</item>
/// </list>
/// Only tokens that passed are remembered (a forged or expired one is checked in full every time), at most
/// <see cref="Capacity"/> of them; each hit hands out a copy of the identity, so no request sees another's changes.
/// What a token stands for now (account active, security stamp current) is not part of this: Core checks it after this
/// handler on every request (<c>JwtBearerEvents.OnTokenValidated</c>), exactly as without the cache.
/// </summary>
public sealed class CachingJsonWebTokenHandler : JsonWebTokenHandler
{
    /// <summary>Tokens remembered at most; past that, the expired ones are dropped, and all of them if none were.</summary>
    public const int Capacity = 4096;

    private readonly ConcurrentDictionary<string, Validated> _validated = new(StringComparer.Ordinal);
    private int _count;

    private sealed record Validated(JsonWebToken Token, ClaimsIdentity Identity, SecurityKey Key, DateTime NotAfter);

    /// <summary>How many tokens are remembered now (for tests).</summary>
    public int Count => Volatile.Read(ref _count);

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        if (validationParameters.IssuerSigningKeyResolver is not { } resolve)
        {
            // Keys given any other way are not checked on a hit: never remember.
            return await base.ValidateTokenAsync(token, validationParameters);
        }
        if (_validated.TryGetValue(token, out var known))
        {
            // The lifetime check's own clock and bound: valid while exp >= now - skew (Validators.ValidateLifetime).
            if (DateTime.UtcNow <= known.NotAfter && StillTrusted(resolve(token, known.Token, known.Token.Kid, validationParameters), known.Key))
            {
                return new TokenValidationResult
                {
                    IsValid = true,
                    SecurityToken = known.Token,
                    ClaimsIdentity = known.Identity.Clone(),
                    Issuer = known.Token.Issuer,
                    TokenType = known.Token.Typ,
                };
            }
            Forget(token);
        }

        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.SecurityToken is JsonWebToken { SigningKey: { } key } validated
            && validated.TryGetPayloadValue<long>(JwtRegisteredClaimNames.Exp, out _))
        {
            Remember(token, new Validated(validated, result.ClaimsIdentity.Clone(), key, Add(validated.ValidTo, validationParameters.ClockSkew)));
        }
        return result;
    }

    private static bool StillTrusted(IEnumerable<SecurityKey>? keys, SecurityKey key)
    {
        if (keys is null)
        {
            return false;
        }
        foreach (var candidate in keys)
        {
            if (ReferenceEquals(candidate, key))
            {
                return true;
            }
        }
        return false;
    }

    private static DateTime Add(DateTime time, TimeSpan span) =>
        time > DateTime.MaxValue - span ? DateTime.MaxValue : time + span;

    private void Remember(string token, Validated entry)
    {
        if (Volatile.Read(ref _count) >= Capacity)
        {
            Sweep();
        }
        if (_validated.TryAdd(token, entry))
        {
            Interlocked.Increment(ref _count);
        }
        else
        {
            _validated[token] = entry;
        }
    }

    private void Forget(string token)
    {
        if (_validated.TryRemove(token, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>Drops the expired tokens; when that frees nothing (a flood of live tokens), drops them all.</summary>
    private void Sweep()
    {
        var now = DateTime.UtcNow;
        foreach (var (token, entry) in _validated)
        {
            if (entry.NotAfter < now)
            {
                Forget(token);
            }
        }
        if (Volatile.Read(ref _count) >= Capacity)
        {
            foreach (var token in _validated.Keys)
            {
                Forget(token);
            }
        }
    }
}
