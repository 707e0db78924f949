using System.Text.Json;
using CyberHub.Contracts;
using Microsoft.JSInterop;

namespace CyberHub.Web.Session;

/// <summary>
/// The token pair in the browser's localStorage (seed flow 1), so a reload or a second tab stays signed in.
/// Anything unreadable there counts as no session.
/// </summary>
public sealed class TokenStorage(IJSRuntime js)
{
    public const string Key = "cyberhub.tokens";

    public async Task<TokenPair?> ReadAsync()
    {
        var json = await js.InvokeAsync<string?>("localStorage.getItem", Key);
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }
        try
        {
            var tokens = JsonSerializer.Deserialize<TokenPair>(json, CyberHubJson.Options);
            return tokens is { Access.Length: > 0, Refresh.Length: > 0 } && AccessToken.TryRead(tokens.Access, out _) ? tokens : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public ValueTask WriteAsync(TokenPair tokens) =>
        js.InvokeVoidAsync("localStorage.setItem", Key, JsonSerializer.Serialize(tokens, CyberHubJson.Options));

    public ValueTask ClearAsync() => js.InvokeVoidAsync("localStorage.removeItem", Key);
}
