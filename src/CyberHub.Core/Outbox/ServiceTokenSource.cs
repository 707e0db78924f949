using CyberHub.Core.Auth;
using CyberHub.Core.Data;
using CyberHub.ServiceDefaults.Auth;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Outbox;

/// <summary>
/// The bearer token the outbox presents: Core is the issuer, so it mints its own service token (client id
/// <c>core-outbox</c>) and reuses it until shortly before it expires.
/// </summary>
public sealed class ServiceTokenSource(IServiceScopeFactory scopes, JwtSettings settings, TimeProvider clock)
{
    public const string ClientId = "core-outbox";

    private sealed record Cached(string Token, DateTime RenewAt);

    private volatile Cached? _current;

    public string Get()
    {
        var now = clock.UtcNow();
        if (_current is { } cached && now < cached.RenewAt)
        {
            return cached.Token;
        }
        using var scope = scopes.CreateScope();
        var token = scope.ServiceProvider.GetRequiredService<TokenService>().CreateServiceAccessToken(ClientId);
        var lifetime = settings.AccessTokenLifetime;
        var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(1).Ticks, lifetime.Ticks / 4));
        _current = new Cached(token, now + lifetime - margin);
        return token;
    }

    public void Invalidate() => _current = null;
}
