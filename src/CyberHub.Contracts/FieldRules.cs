using System.Net.Mail;
using System.Text.RegularExpressions;

namespace CyberHub.Contracts;

/// <summary>
/// One field's problem, as a rule found it: the field's API name and the problem. The services throw it as their
/// <c>detail</c> ("email is required.", "email: enter a valid email address."); the web app shows it beside the
/// field in plain words ("Enter your email address.", "Enter a valid email address.").
/// </summary>
public sealed record FieldProblem(string Field, string Problem, bool Missing = false)
{
    /// <summary>The services' <c>detail</c> for it.</summary>
    public string Detail => Missing ? $"{Field} is required." : $"{Field}: {Problem}";

    /// <summary>The same for a person, beside the field it is about: no field names, a capital and a full stop.</summary>
    public string Plain => Missing ? FieldRules.Ask(Field) : FieldRules.Sentence(Problem);
}

/// <summary>
/// The rules a form's fields must meet, as the services apply them: Core's user rules and the catalog's item rules
/// call these, and the web app checks a form with them before it sends anything, so both say the same thing.
/// Each returns null when the value is fine.
/// </summary>
public static partial class FieldRules
{
    public const int MinPasswordLength = 8;
    // PBKDF2 cost grows with input length; a cap keeps one request from buying minutes of CPU.
    public const int MaxPasswordLength = 256;
    public const int MaxEmailLength = 254;
    public const int MaxContentIdLength = 128;

    public static FieldProblem? Email(string? value, string field = "email")
    {
        var email = value?.Trim();
        if (string.IsNullOrEmpty(email))
        {
            return new(field, "", Missing: true);
        }
        return email.Length > MaxEmailLength || !MailAddress.TryCreate(email, out var parsed) || parsed.Address != email || !email.Contains('.', StringComparison.Ordinal)
            ? new(field, "enter a valid email address.")
            : null;
    }

    public static FieldProblem? Username(string? value)
    {
        var username = value?.Trim();
        if (string.IsNullOrEmpty(username))
        {
            return new("username", "", Missing: true);
        }
        return username.Length is < 3 or > 150 || !UsernamePattern().IsMatch(username)
            ? new("username", "3 to 150 characters: letters, digits and @ . + - _ only.")
            : null;
    }

    public static FieldProblem? Password(string? password, string? email, string? username)
    {
        if (string.IsNullOrEmpty(password))
        {
            return new("password", "", Missing: true);
        }
        if (password.Length < MinPasswordLength)
        {
            return new("password", $"this password is too short; it must contain at least {MinPasswordLength} characters.");
        }
        if (password.Length > MaxPasswordLength)
        {
            return new("password", $"at most {MaxPasswordLength} characters.");
        }
        if (password.All(char.IsAsciiDigit))
        {
            return new("password", "this password is entirely numeric.");
        }
        email = email?.Trim() ?? "";
        username = username?.Trim() ?? "";
        return (email.Length > 0 && (string.Equals(password, email, StringComparison.OrdinalIgnoreCase) || string.Equals(password, email.Split('@')[0], StringComparison.OrdinalIgnoreCase)))
            || (username.Length > 0 && string.Equals(password, username, StringComparison.OrdinalIgnoreCase))
            ? new("password", "the password is too similar to the email or username.")
            : null;
    }

    /// <summary>Free text that must not be empty (a title, a name).</summary>
    public static FieldProblem? Required(string? value, string field) =>
        string.IsNullOrWhiteSpace(value) ? new(field, "", Missing: true) : null;

    public static FieldProblem? ContentType(string? value) =>
        string.IsNullOrEmpty(value) ? new("content_type", "", Missing: true)
        : ContentTypes.IsKnown(value) ? null
        : new("content_type", $"'{value}' is not one of {string.Join(", ", ContentTypes.All)}.");

    /// <summary>The shape of an item's id; the services add the rarer refusals (bidirectional controls, dot-only ids).</summary>
    public static FieldProblem? ContentId(string? value)
    {
        var id = value?.Trim();
        if (string.IsNullOrEmpty(id))
        {
            return new("content_id", "", Missing: true);
        }
        return id.Length > MaxContentIdLength || id.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c == '/')
            ? new("content_id", $"1 to {MaxContentIdLength} characters, no spaces, slashes or control characters.")
            : null;
    }

    /// <summary>A registration's problems, every one of them, in the order of the form.</summary>
    public static IReadOnlyList<FieldProblem> Register(RegisterRequest request) =>
        [.. new[] { Email(request.Email), Username(request.Username), Password(request.Password, request.Email, request.Username) }.OfType<FieldProblem>()];

    /// <summary>What to say for a field left empty.</summary>
    public static string Ask(string field) => field switch
    {
        "content_type" => "Choose a content type.",
        _ => $"Enter {Describe(field)}.",
    };

    /// <summary>How a field is named in a sentence ("Enter your email address.").</summary>
    public static string Describe(string field) => field switch
    {
        "email" => "your email address",
        "username" => "a username",
        "login" => "your email address or username",
        "password" => "a password",
        "first_name" => "your first name",
        "last_name" => "your last name",
        "content_type" => "the content type",
        "content_id" => "an ID for the item",
        "title" => "a title",
        "description" => "a description",
        "texts" => "the item's text",
        "name" => "a name",
        _ => field.Replace('_', ' '),
    };

    /// <summary>A rule's problem as a sentence of its own.</summary>
    public static string Sentence(string problem)
    {
        var text = problem.Trim();
        if (text.Length == 0)
        {
            return text;
        }
        text = char.ToUpperInvariant(text[0]) + text[1..];
        return text.EndsWith('.') ? text : text + ".";
    }

    [GeneratedRegex(@"^[\w.@+-]+$")]
    private static partial Regex UsernamePattern();
}
