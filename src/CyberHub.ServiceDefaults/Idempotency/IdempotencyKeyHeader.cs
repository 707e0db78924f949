using System.Text;
using CyberHub.ServiceDefaults.Errors;

namespace CyberHub.ServiceDefaults.Idempotency;

/// <summary>
/// The <c>Idempotency-Key</c> request header (IETF draft "The Idempotency-Key HTTP Header Field"): the client names a
/// POST so that a retry of it gets the first attempt's answer instead of being carried out again.
/// </summary>
public static class IdempotencyKeyHeader
{
    public const string Name = "Idempotency-Key";

    /// <summary>Answers that repeat a stored answer carry this header with the value <c>true</c>.</summary>
    public const string Replayed = "Idempotent-Replayed";

    public const int MaxLength = 255;

    /// <summary>How long an answer is kept for retries of its key.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    private static readonly string Invalid =
        $"{Name} must be 1 to {MaxLength} printable ASCII characters, plain or as a quoted string (\"...\").";

    /// <summary>The key, or null when the request has none; 400 when it is malformed or sent more than once.</summary>
    public static string? Read(HttpRequest request)
    {
        if (!request.Headers.TryGetValue(Name, out var values))
        {
            return null;
        }
        if (values.Count != 1)
        {
            throw ApiException.BadRequest($"Send one {Name} header, not {values.Count}.");
        }
        var value = values[0] ?? "";
        var key = value.StartsWith('"') ? Unquote(value) : value;
        return key is { Length: > 0 and <= MaxLength } && key.All(IsPrintableAscii) ? key : throw ApiException.BadRequest(Invalid);
    }

    private static bool IsPrintableAscii(char c) => c is >= ' ' and <= '~';

    /// <summary>The draft's form, a structured-field string: <c>"..."</c> in which <c>\"</c> and <c>\\</c> are escapes.</summary>
    private static string? Unquote(string value)
    {
        if (value.Length < 2 || value[^1] != '"')
        {
            return null;
        }
        var key = new StringBuilder(value.Length - 2);
        for (var i = 1; i < value.Length - 1; i++)
        {
            var c = value[i];
            if (c == '\\')
            {
                if (++i == value.Length - 1 || value[i] is not ('"' or '\\'))
                {
                    return null;
                }
                c = value[i];
            }
            else if (c == '"')
            {
                return null;
            }
            key.Append(c);
        }
        return key.ToString();
    }
}
