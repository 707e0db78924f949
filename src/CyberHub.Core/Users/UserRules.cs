using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Errors;

namespace CyberHub.Core.Users;

/// <summary>What a valid account looks like: field formats and the password policy.</summary>
public static class UserRules
{
    public const int MinPasswordLength = FieldRules.MinPasswordLength;
    public const int MaxPasswordLength = FieldRules.MaxPasswordLength;

    // The formats are the web app's too: FieldRules (Contracts) holds them, and the forms check them before sending.
    public static string Email(string? value) =>
        FieldRules.Email(value) is { } problem ? throw ApiException.BadRequest(problem.Detail) : value!.Trim();

    public static string Username(string? value)
    {
        var username = value?.Trim();
        if (!string.IsNullOrEmpty(username) && ContentRules.HasBidiControls(username))
        {
            throw ApiException.BadRequest($"username: {ContentRules.BidiMessage}");
        }
        return FieldRules.Username(value) is { } problem ? throw ApiException.BadRequest(problem.Detail) : username!;
    }

    /// <summary>The <see cref="UsernameSkeleton"/> of a valid username, refused when nothing visible is left of it or it grows past the column.</summary>
    public static string Skeleton(string username)
    {
        var skeleton = UsernameSkeleton.Of(username);
        if (skeleton.Length == 0 || skeleton.Length > UsernameSkeleton.MaxLength)
        {
            throw ApiException.BadRequest("username: use visible letters and digits; this one folds to nothing or to too many characters.");
        }
        return skeleton;
    }

    public static void Password(string? password, string email, string username)
    {
        if (FieldRules.Password(password, email, username) is { } problem)
        {
            throw ApiException.BadRequest(problem.Detail);
        }
    }

    /// <summary>Free text: trimmed, bounded, no control characters (line breaks only where <paramref name="multiline"/>).</summary>
    public static string Text(string? value, string field, int maxLength, bool multiline = false) =>
        ContentRules.Text(value, field, maxLength, multiline);

    public static string? AvatarUrl(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        if (value.Length > 2048 || ContentRules.HasControlCharacters(value) || !Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || uri.UserInfo.Length > 0)
        {
            throw ApiException.BadRequest("avatar_url: enter an https:// address of an image (at most 2,048 characters, without a user name or password).");
        }
        return value;
    }
}
