using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Components.Authorization;

namespace CyberHub.Web.Session;

/// <summary>The session as Blazor's authentication state, so pages use <c>[Authorize(Roles = ...)]</c> and AuthorizeView.</summary>
public sealed class SessionAuthenticationStateProvider : AuthenticationStateProvider
{
    private readonly SessionState _session;

    public SessionAuthenticationStateProvider(SessionState session)
    {
        _session = session;
        session.Changed += () => NotifyAuthenticationStateChanged(GetAuthenticationStateAsync());
    }

    public override Task<AuthenticationState> GetAuthenticationStateAsync()
    {
        var user = _session.User;
        if (user is null)
        {
            return Task.FromResult(new AuthenticationState(new ClaimsPrincipal(new ClaimsIdentity())));
        }
        Claim[] claims =
        [
            new("sub", user.UserId.ToString(CultureInfo.InvariantCulture)),
            new("email", user.Email),
            .. user.Roles.Select(role => new Claim("roles", role)),
        ];
        var identity = new ClaimsIdentity(claims, authenticationType: "cyberhub", nameType: "email", roleType: "roles");
        return Task.FromResult(new AuthenticationState(new ClaimsPrincipal(identity)));
    }
}
