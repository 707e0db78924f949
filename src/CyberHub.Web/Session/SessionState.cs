using System.Net;
using System.Net.Http.Json;
using CyberHub.Contracts;

namespace CyberHub.Web.Session;

/// <summary>
/// The signed-in learner: the token pair, the user it names, and the refresh that keeps the access token fresh.
/// A refresh happens shortly before the access token expires, or once when a service refuses it; one refresh runs
/// at a time, and a pair another tab already refreshed is adopted rather than spent again (Core treats a spent
/// refresh token as stolen and ends the session). When Core refuses the refresh, the session has ended:
/// <see cref="Expired"/> tells the layout to send the user to log in.
/// </summary>
public sealed class SessionState(TokenStorage storage, ServiceAddresses addresses, TimeProvider clock)
{
    /// <summary>How long before expiry an access token is renewed (at most half its lifetime).</summary>
    public static readonly TimeSpan RefreshAhead = TimeSpan.FromSeconds(60);

    /// <summary>What the user is told when a check of the account's access ends the session.</summary>
    public const string AccountChangedMessage = "Your account has changed since you logged in (an admin may have changed your roles). Please log in again.";

    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private readonly HttpClient _core = new() { BaseAddress = addresses.Core };
    private TokenPair? _tokens;
    private string? _checked;
    private string? _endingBecause;

    public AccessToken? User { get; private set; }

    public bool IsSignedIn => User is not null;

    /// <summary>Signed in or out.</summary>
    public event Action? Changed;

    /// <summary>The session ended without the user asking (the refresh token expired or was revoked).</summary>
    public event Action? Expired;

    /// <summary>Why the session last expired, when the app knows more than "it ended"; null otherwise.</summary>
    public string? ExpiredBecause { get; private set; }

    public async Task LoadAsync() => Set(await storage.ReadAsync());

    public async Task SignInAsync(TokenPair tokens)
    {
        await storage.WriteAsync(tokens);
        Set(tokens);
    }

    /// <summary>Revokes the refresh token's session at Core, then forgets the tokens. Signing out works offline too.</summary>
    public async Task SignOutAsync()
    {
        var tokens = _tokens;
        await EndAsync();
        if (tokens is not null)
        {
            try
            {
                using var _ = await _core.PostAsJsonAsync("api/v1/token/revoke/", new RefreshRequest(tokens.Refresh), CyberHubJson.Options);
            }
            catch (HttpRequestException)
            {
                // Core unreachable: the tokens are gone from this browser and the refresh token expires on its own.
            }
        }
    }

    /// <summary>
    /// A usable access token, refreshed first when it is about to expire or when a service has just refused
    /// <paramref name="rejected"/>; null when nobody is signed in or the session has ended.
    /// </summary>
    public async Task<string?> AccessTokenAsync(string? rejected = null, CancellationToken cancellationToken = default)
    {
        // User is the current access token as read once, when the pair was set: nothing is parsed per request.
        var current = _tokens;
        if (current is null || User is not { } user)
        {
            return null;
        }
        if (rejected is null && IsFresh(user))
        {
            return current.Access;
        }

        await _refreshing.WaitAsync(cancellationToken);
        try
        {
            // Another request, or another tab, may have refreshed while this one waited.
            var stored = await storage.ReadAsync();
            if (stored is null)
            {
                await EndAsync(expired: true);
                return null;
            }
            if (stored.Refresh != _tokens?.Refresh)
            {
                Set(stored);
            }
            // A pair is renewed whole, so User is now the stored access token.
            var token = User!;
            // Renewed by someone else since this caller looked (or simply still fresh): use it, don't spend the refresh token again.
            if (stored.Access != rejected && (stored.Access != current.Access ? IsValid(token) : IsFresh(token)))
            {
                return stored.Access;
            }

            using var response = await _core.PostAsJsonAsync("api/v1/token/refresh/", new RefreshRequest(stored.Refresh), CyberHubJson.Options, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                var renewed = await response.Content.ReadFromJsonAsync<TokenPair>(CyberHubJson.Options, cancellationToken)
                    ?? throw new InvalidOperationException("Core answered the refresh without tokens.");
                await SignInAsync(renewed);
                return renewed.Access;
            }
            if (response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                await EndAsync(expired: true);
                return null;
            }
            // Rate limited or Core away: the current token serves while it lasts.
            return stored.Access != rejected && IsValid(token) ? stored.Access : null;
        }
        finally
        {
            _refreshing.Release();
        }
    }

    /// <summary>
    /// Asks Core whether the session's roles still hold, when the app has reason to doubt them: a page the roles do
    /// not open, or a service's 403. Core issues a refreshed pair with the account's current roles (then
    /// <see cref="Changed"/> re-renders what they allow and the new access token is returned), or refuses the refresh
    /// because a change of roles ended the account's sessions (then the session expires with
    /// <see cref="AccountChangedMessage"/>). One check per access token: a token just checked is not checked again.
    /// </summary>
    public async Task<string?> RecheckAsync(CancellationToken cancellationToken = default)
    {
        var current = _tokens;
        if (current is null || current.Access == _checked)
        {
            return null;
        }
        _checked = current.Access;
        _endingBecause = AccountChangedMessage;
        try
        {
            var renewed = await AccessTokenAsync(rejected: current.Access, cancellationToken);
            _checked = renewed ?? _checked;
            return renewed;
        }
        finally
        {
            _endingBecause = null;
        }
    }

    /// <summary>Not within the refresh margin of its expiry: a minute, or half the token's lifetime when that is shorter.</summary>
    private bool IsFresh(AccessToken token) =>
        token.ExpiresAt - clock.GetUtcNow() > TimeSpan.FromTicks(Math.Min(RefreshAhead.Ticks, (token.Lifetime / 2).Ticks));

    private bool IsValid(AccessToken token) => token.ExpiresAt > clock.GetUtcNow();

    private async Task EndAsync(bool expired = false)
    {
        await storage.ClearAsync();
        var wasSignedIn = _tokens is not null;
        Set(null);
        if (expired && wasSignedIn)
        {
            ExpiredBecause = _endingBecause;
            Expired?.Invoke();
        }
    }

    private void Set(TokenPair? tokens)
    {
        _tokens = tokens;
        User = tokens is not null && AccessToken.TryRead(tokens.Access, out var user) ? user : null;
        if (User is null)
        {
            _tokens = null;
        }
        Changed?.Invoke();
    }
}
