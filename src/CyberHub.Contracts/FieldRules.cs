using System.Globalization;
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
    /// <summary>The most time a progress record can hold (Core's <c>time_spent_seconds</c> limit): ten years.</summary>
    public const long MaxTimeSpentSeconds = 10L * 365 * 24 * 3600;

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

    /// <summary>The password typed to log in: only that there is one (the account's rules held when it was set).</summary>
    public static FieldProblem? CurrentPassword(string? value) =>
        string.IsNullOrEmpty(value) ? new("password", "enter your password.") : null;

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

    /// <summary>A percentage as the progress API takes it (<c>completion_percentage</c>, <c>score</c>): from 0 to 100.</summary>
    public static FieldProblem? Percentage(double value, string field) =>
        double.IsFinite(value) && value is >= 0 and <= 100 ? null : new(field, "enter a number from 0 to 100.");

    /// <summary>
    /// A percentage typed in a form, read as the API reads it: digits, a sign and one decimal point (no exponent,
    /// thousands separator, NaN or Infinity), from 0 to 100, kept to two decimals in <paramref name="value"/>.
    /// With <paramref name="required"/> false an empty field is no value and no problem.
    /// </summary>
    public static FieldProblem? Percentage(string? text, string field, bool required, out double? value)
    {
        value = null;
        var typed = text?.Trim() ?? "";
        if (typed.Length == 0)
        {
            return required ? new(field, "", Missing: true) : null;
        }
        // TryParse takes "NaN" and "Infinity" whatever the styles: they are no number a learner means.
        if (!double.TryParse(typed, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            || !double.IsFinite(number))
        {
            return new(field, typed.Contains(',') && !typed.Contains('.')
                ? "use a point for decimals, as in 62.5."
                : $"“{Shorten(typed)}” is not a number; enter one from 0 to 100, such as 40 or 62.5.");
        }
        if (number < 0)
        {
            return new(field, "it cannot be below 0; enter a number from 0 to 100.");
        }
        if (number > 100)
        {
            return new(field, $"{Shorten(typed)} is more than 100; enter a number from 0 to 100.");
        }
        if (Percentage(number, field) is { } problem)
        {
            return problem;
        }
        value = Math.Round(number, 2);
        return null;
    }

    /// <summary>Time on an item as the progress API takes it (<c>time_spent_seconds</c>).</summary>
    public static FieldProblem? TimeSpent(long seconds) =>
        seconds is >= 0 and <= MaxTimeSpentSeconds ? null : new("time_spent_seconds", $"enter a time from 0 to {MaxTimeSpentSeconds / 60} minutes.");

    /// <summary>Time on an item typed in a form, in whole minutes; <paramref name="seconds"/> is what the API takes.</summary>
    public static FieldProblem? TimeSpentMinutes(string? text, out long? seconds)
    {
        seconds = null;
        var typed = text?.Trim() ?? "";
        if (typed.Length == 0)
        {
            return new("time_spent_seconds", "", Missing: true);
        }
        if (!long.TryParse(typed, NumberStyles.None, CultureInfo.InvariantCulture, out var minutes))
        {
            if (typed.All(char.IsAsciiDigit))
            {
                return TimeSpent(long.MaxValue);
            }
            return new("time_spent_seconds", typed.StartsWith('-')
                ? "it cannot be below 0 minutes."
                : $"“{Shorten(typed)}” is not a whole number of minutes; enter one such as 45.");
        }
        if (minutes > MaxTimeSpentSeconds / 60)
        {
            return TimeSpent(long.MaxValue);
        }
        seconds = minutes * 60;
        return TimeSpent(minutes * 60);
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
        "completion_percentage" => "how far you got, as a number from 0 to 100",
        "score" => "your score, as a number from 0 to 100",
        "time_spent_seconds" => "the time you spent, in minutes",
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

    private static string Shorten(string text) => text.Length <= 12 ? text : text[..12] + "…";

    [GeneratedRegex(@"^[\w.@+-]+$")]
    private static partial Regex UsernamePattern();
}
