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
    public const int MaxContentIdLength = 128;
    public const int MaxMetadataBytes = 16 * 1024;
    /// <summary>The metadata object itself is level 1. Deeper objects would not fit inside the responses and events that carry them.</summary>
    public const int MaxMetadataDepth = 10;

    public const string NulMessage = "text may not contain the NUL character (\\u0000).";

    public static string ContentId(string? value)
    {
        var id = value?.Trim();
        if (string.IsNullOrEmpty(id))
        {
            throw ApiException.BadRequest("content_id is required.");
        }
        // No slash either: the id is a segment of the item's own URL (/content/{type}/{id}), where %2F stays undecoded.
        if (id.Length > MaxContentIdLength || id.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c == '/'))
        {
            throw ApiException.BadRequest($"content_id: 1 to {MaxContentIdLength} characters, no spaces, slashes or control characters.");
        }
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

    public static string ContentType(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw ApiException.BadRequest("content_type is required.");
        }
        return ContentTypes.IsKnown(value)
            ? value
            : throw ApiException.BadRequest($"content_type: '{value}' is not one of {string.Join(", ", ContentTypes.All)}.");
    }

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

    /// <summary>The serialised metadata object, refused past <see cref="MaxMetadataBytes"/> or <see cref="MaxMetadataDepth"/>.</summary>
    public static string Metadata(JsonObject? value)
    {
        var json = value?.ToJsonString() ?? "{}";
        if (System.Text.Encoding.UTF8.GetByteCount(json) > MaxMetadataBytes)
        {
            throw ApiException.BadRequest($"metadata: at most {MaxMetadataBytes / 1024} KB of JSON.");
        }
        using var document = JsonDocument.Parse(json);
        return MetadataProblem(document.RootElement) is { } problem ? throw ApiException.BadRequest($"metadata: {problem}") : json;
    }

    /// <summary>What is wrong with a metadata object (duplicate keys, U+0000, too deep), or null.</summary>
    public static string? MetadataProblem(JsonElement element, int depth = 1)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object or JsonValueKind.Array when depth > MaxMetadataDepth:
                return $"nested more than {MaxMetadataDepth} levels deep.";
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    var problem = !names.Add(property.Name) ? $"the key '{property.Name}' appears twice."
                        : property.Name.Contains('\0') ? NulMessage
                        : MetadataProblem(property.Value, depth + 1);
                    if (problem is not null)
                    {
                        return problem;
                    }
                }
                return null;
            case JsonValueKind.Array:
                return element.EnumerateArray().Select(item => MetadataProblem(item, depth + 1)).FirstOrDefault(p => p is not null);
            case JsonValueKind.String:
                return element.GetString()!.Contains('\0') ? NulMessage : null;
            default:
                return null;
        }
    }
}
