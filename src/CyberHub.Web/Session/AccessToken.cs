using System.Buffers.Text;
using System.Text.Json;

namespace CyberHub.Web.Session;

/// <summary>
/// What the web app reads from an access token's payload: who, which roles, until when. The signature is the
/// services' business; the app only needs to know whom to show and when to refresh.
/// </summary>
public sealed record AccessToken(long UserId, string Email, IReadOnlyList<string> Roles, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt)
{
    public TimeSpan Lifetime => ExpiresAt - IssuedAt;

    public bool IsInRole(string role) => Roles.Contains(role);

    public bool CanAuthor => IsInRole(Contracts.Roles.ContentCreator) || IsInRole(Contracts.Roles.Admin);

    public static bool TryRead(string jwt, out AccessToken token)
    {
        token = null!;
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return false;
        }
        try
        {
            using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            var root = payload.RootElement;
            if (!long.TryParse(root.GetProperty("sub").GetString(), out var userId) || !root.TryGetProperty("exp", out var exp))
            {
                return false;
            }
            var roles = root.TryGetProperty("roles", out var r)
                ? r.ValueKind == JsonValueKind.Array ? [.. r.EnumerateArray().Select(e => e.GetString() ?? "")] : new[] { r.GetString() ?? "" }
                : [];
            var email = root.TryGetProperty("email", out var e) ? e.GetString() ?? "" : "";
            var expires = DateTimeOffset.FromUnixTimeSeconds(exp.GetInt64());
            var issued = root.TryGetProperty("iat", out var iat) ? DateTimeOffset.FromUnixTimeSeconds(iat.GetInt64()) : expires - TimeSpan.FromMinutes(15);
            token = new AccessToken(userId, email, roles, issued, expires);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or InvalidOperationException or KeyNotFoundException)
        {
            return false;
        }
    }
}
