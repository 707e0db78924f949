using System.Text.Json;
using System.Text.Json.Nodes;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Errors;

namespace CyberHub.ServiceDefaults;

/// <summary>
/// How content is named and described, wherever it is: progress records in Core, the catalog in AI. Every string
/// that is stored passes one of these rules, so it has a documented maximum length and no control characters
/// (PostgreSQL refuses U+0000 outright; the others have no place in a name or a title).
/// </summary>
public static class ContentRules
{
    public const int MaxContentIdLength = FieldRules.MaxContentIdLength;
    public const int MaxMetadataBytes = 16 * 1024;
    /// <summary>The metadata object itself is level 1. Deeper objects would not fit inside the responses and events that carry them.</summary>
    public const int MaxMetadataDepth = 10;

    public const string NulMessage = "text may not contain the NUL character (\\u0000).";

    public static string ContentId(string? value)
    {
        // The shape every form checks too (FieldRules in Contracts); the rarer refusals follow.
        if (FieldRules.ContentId(value) is { } problem)
        {
            throw ApiException.BadRequest(problem.Detail);
        }
        var id = value!.Trim();
        if (HasBidiControls(id))
        {
            throw ApiException.BadRequest($"content_id: {BidiMessage}");
        }
        // The id must reach the route as it was stored: a URL path normaliser removes dot segments (. and ..),
        // decodes %XX (so %2e%2e is a dot segment too), and some turn \ into / or fold full-width dots and
        // other look-alikes into dots. Such an id could be stored but never read or deleted by its URL.
        if (id.Any(c => c is '%' or '\\' or '?' or '#'))
        {
            throw ApiException.BadRequest("content_id: no %, \\, ? or # (the id is a segment of the item's URL).");
        }
        if (id.All(IsDotLike))
        {
            throw ApiException.BadRequest("content_id: may not consist of dots only ('.' and '..' are path segments a URL normaliser removes).");
        }
        return id;
    }

    /// <summary>
    /// The full stop and the characters some URL handlers fold into it (full-width, small and ideographic-compatible
    /// full stops, one- and two-dot leaders, the ellipsis).
    /// </summary>
    private static bool IsDotLike(char c) => c is '.' or '\uFF0E' or '\uFE52' or '\u2024' or '\u2025' or '\u2026' or '\u3002' or '\uFF61';

    /// <summary>Said when a name, title or id holds a bidirectional formatting character.</summary>
    public const string BidiMessage =
        "bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069) are not allowed.";

    /// <summary>
    /// Whether <paramref name="text"/> holds a character that reorders how the text around it is displayed
    /// (the embeddings, overrides and isolates, and the implicit marks), so that what a reader sees is not what is stored.
    /// </summary>
    public static bool HasBidiControls(string text) =>
        text.Any(c => c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069'));

    public static string ContentType(string? value) =>
        FieldRules.ContentType(value) is { } problem ? throw ApiException.BadRequest(problem.Detail) : value!;

    /// <summary>
    /// Free text: trimmed, at most <paramref name="maxLength"/> characters, no control characters (line breaks and tabs
    /// only where <paramref name="multiline"/>) and no bidirectional formatting characters.
    /// </summary>
    public static string Text(string? value, string field, int maxLength, bool multiline = false)
    {
        var text = value?.Trim() ?? "";
        if (text.Length > maxLength)
        {
            throw ApiException.BadRequest($"{field}: at most {maxLength} characters.");
        }
        if (HasControlCharacters(text, multiline))
        {
            throw ApiException.BadRequest($"{field}: control characters are not allowed.");
        }
        if (HasBidiControls(text))
        {
            throw ApiException.BadRequest($"{field}: {BidiMessage}");
        }
        return text;
    }

    public static bool HasControlCharacters(string text, bool multiline = false) =>
        text.Any(c => char.IsControl(c) && !(multiline && c is '\n' or '\r' or '\t'));

    /// <summary>
    /// The largest magnitude a metadata number may have: 2^53 − 1, past which a double no longer holds every integer
    /// (JavaScript's <c>Number.MAX_SAFE_INTEGER</c>).
    /// </summary>
    public const double MaxMetadataNumber = 9_007_199_254_740_991;
    /// <summary>The smallest magnitude of a metadata number other than zero.</summary>
    public const double MinMetadataNumber = 1e-15;

    /// <summary>
    /// The metadata object as it is stored and served: every number rewritten as the double it denotes, in plain decimal
    /// (what PostgreSQL's jsonb prints, which spells every digit of an exponent out). Refused past
    /// <see cref="MaxMetadataBytes"/> in that form, past <see cref="MaxMetadataDepth"/>, or with a number that is no
    /// finite double between <see cref="MinMetadataNumber"/> and <see cref="MaxMetadataNumber"/> in magnitude (or zero).
    /// </summary>
    public static string Metadata(JsonObject? value)
    {
        if (value is null)
        {
            return "{}";
        }
        using var document = JsonDocument.Parse(value.ToJsonString());
        if (MetadataProblem(document.RootElement) is { } problem)
        {
            throw ApiException.BadRequest($"metadata: {problem}");
        }
        var json = StoredForm(document.RootElement);
        if (System.Text.Encoding.UTF8.GetByteCount(json) > MaxMetadataBytes)
        {
            throw ApiException.BadRequest($"metadata: at most {MaxMetadataBytes / 1024} KB of JSON.");
        }
        return json;
    }

    /// <summary>What is wrong with a metadata object (duplicate keys, U+0000, unpaired surrogates, too deep, numbers out of range), or null.</summary>
    public static string? MetadataProblem(JsonElement element, int depth = 1, string path = "")
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object or JsonValueKind.Array when depth > MaxMetadataDepth:
                return $"nested more than {MaxMetadataDepth} levels deep.";
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    var key = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
                    var problem = TextProblem(property.Name) is { } bad ? $"the key '{Printable(key)}': {bad}"
                        : !names.Add(property.Name) ? $"the key '{property.Name}' appears twice."
                        : MetadataProblem(property.Value, depth + 1, key);
                    if (problem is not null)
                    {
                        return problem;
                    }
                }
                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (MetadataProblem(item, depth + 1, $"{path}[{index++}]") is { } problem)
                    {
                        return problem;
                    }
                }
                return null;
            case JsonValueKind.String:
                return TextProblem(element) is { } text ? $"'{Printable(path)}': {text}" : null;
            case JsonValueKind.Number:
                return NumberProblem(element) is { } number ? $"'{Printable(path)}': {number}" : null;
            default:
                return null;
        }
    }

    private static string? TextProblem(JsonElement element)
    {
        string text;
        try
        {
            text = element.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // An escaped unpaired surrogate (\ud800): no text at all, and PostgreSQL's jsonb refuses it.
            return UnpairedSurrogateMessage;
        }
        return TextProblem(text);
    }

    private const string UnpairedSurrogateMessage = "text may not contain an unpaired surrogate.";

    private static string? TextProblem(string text)
    {
        if (text.Contains('\0'))
        {
            return NulMessage;
        }
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return UnpairedSurrogateMessage;
            }
        }
        return null;
    }

    /// <summary>The value as the double it denotes, if it is one the metadata may hold.</summary>
    private static string? NumberProblem(JsonElement element)
    {
        var value = Number(element);
        var raw = element.GetRawText();
        // 1e-400 reads as 0 without being 0: any digit but 0 ahead of the exponent says so.
        var zero = raw.AsSpan(0, raw.AsSpan().IndexOfAny('e', 'E') is var e and >= 0 ? e : raw.Length).IndexOfAnyInRange('1', '9') < 0;
        return !double.IsFinite(value) || Math.Abs(value) > MaxMetadataNumber
            ? "a number may be at most 9007199254740991 (2^53 - 1) in magnitude."
            : !zero && Math.Abs(value) < MinMetadataNumber
                ? "a number other than 0 may be no smaller than 1e-15 in magnitude."
                : null;
    }

    // 1e400 reads as infinity, however many digits its exponent has.
    private static double Number(JsonElement element) =>
        double.TryParse(element.GetRawText(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : double.NaN;

    /// <summary>A key for a message: control characters (refused anyway) would only garble it.</summary>
    private static string Printable(string key) => new([.. key.Select(c => char.IsControl(c) || char.IsSurrogate(c) ? '?' : c)]);

    private static string StoredForm(JsonElement root)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, root);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);

        static void Write(Utf8JsonWriter writer, JsonElement element)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    writer.WriteStartObject();
                    foreach (var property in element.EnumerateObject())
                    {
                        writer.WritePropertyName(property.Name);
                        Write(writer, property.Value);
                    }
                    writer.WriteEndObject();
                    break;
                case JsonValueKind.Array:
                    writer.WriteStartArray();
                    foreach (var item in element.EnumerateArray())
                    {
                        Write(writer, item);
                    }
                    writer.WriteEndArray();
                    break;
                case JsonValueKind.Number:
                    writer.WriteRawValue(PlainDecimal(Number(element)), skipInputValidation: true);
                    break;
                default:
                    element.WriteTo(writer);
                    break;
            }
        }
    }

    /// <summary>The shortest decimal that reads back as <paramref name="value"/>, without an exponent: 1e-7 is 0.0000001.</summary>
    public static string PlainDecimal(double value)
    {
        if (value == 0)
        {
            return "0";
        }
        // "R" is the shortest form that reads back as the value: "123.5", "1.25E-07", "1E+15".
        var text = value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var sign = text.StartsWith('-') ? "-" : "";
        var mantissa = text.TrimStart('-');
        var exponent = 0;
        var e = mantissa.IndexOf('E');
        if (e >= 0)
        {
            exponent = int.Parse(mantissa[(e + 1)..], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture);
            mantissa = mantissa[..e];
        }
        var point = mantissa.IndexOf('.');
        var digits = point < 0 ? mantissa : mantissa.Remove(point, 1);
        var position = (point < 0 ? mantissa.Length : point) + exponent;
        var plain = position <= 0 ? "0." + new string('0', -position) + digits
            : position >= digits.Length ? digits + new string('0', position - digits.Length)
            : digits[..position] + "." + digits[position..];
        return sign + plain;
    }
}
