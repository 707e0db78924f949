using System.Net.Mail;
using System.Text.RegularExpressions;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Errors;

namespace CyberHub.Core.Users;

/// <summary>What a valid account looks like: field formats and the password policy.</summary>
public static partial class UserRules
{
    public const int MinPasswordLength = 8;
    // PBKDF2 cost grows with input length; a cap keeps one request from buying minutes of CPU.
    public const int MaxPasswordLength = 256;

    public static string Email(string? value)
    {
        var email = value?.Trim();
        if (string.IsNullOrEmpty(email))
        {
            throw ApiException.BadRequest("email is required.");
        }
        if (email.Length > 254 || !MailAddress.TryCreate(email, out var parsed) || parsed.Address != email || !email.Contains('.', StringComparison.Ordinal))
        {
            throw ApiException.BadRequest("email: enter a valid email address.");
        }
        return email;
    }

    public static string Username(string? value)
    {
        var username = value?.Trim();
        if (string.IsNullOrEmpty(username))
        {
            throw ApiException.BadRequest("username is required.");
        }
        if (ContentRules.HasBidiControls(username))
        {
            throw ApiException.BadRequest($"username: {ContentRules.BidiMessage}");
        }
        if (username.Length is < 3 or > 150 || !UsernamePattern().IsMatch(username))
        {
            throw ApiException.BadRequest("username: 3 to 150 characters: letters, digits and @ . + - _ only.");
        }
        return username;
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
        if (string.IsNullOrEmpty(password))
        {
            throw ApiException.BadRequest("password is required.");
        }
        if (password.Length < MinPasswordLength)
        {
            throw ApiException.BadRequest($"password: this password is too short; it must contain at least {MinPasswordLength} characters.");
        }
        if (password.Length > MaxPasswordLength)
        {
            throw ApiException.BadRequest($"password: at most {MaxPasswordLength} characters.");
        }
        if (password.All(char.IsAsciiDigit))
        {
            throw ApiException.BadRequest("password: this password is entirely numeric.");
        }
        if (string.Equals(password, email, StringComparison.OrdinalIgnoreCase)
            || string.Equals(password, username, StringComparison.OrdinalIgnoreCase)
            || string.Equals(password, email.Split('@')[0], StringComparison.OrdinalIgnoreCase))
        {
            throw ApiException.BadRequest("password: the password is too similar to the email or username.");
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

    [GeneratedRegex(@"^[\w.@+-]+$")]
    private static partial Regex UsernamePattern();
}
