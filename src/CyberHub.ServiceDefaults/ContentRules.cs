using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Errors;

namespace CyberHub.ServiceDefaults;

/// <summary>How content is named, wherever it is named: progress records in Core, the catalog in AI.</summary>
public static class ContentRules
{
    public const int MaxContentIdLength = 128;
    public const int MaxMetadataBytes = 16 * 1024;

    public static string ContentId(string? value)
    {
        var id = value?.Trim();
        if (string.IsNullOrEmpty(id))
        {
            throw ApiException.BadRequest("content_id is required.");
        }
        if (id.Length > MaxContentIdLength || id.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            throw ApiException.BadRequest($"content_id: 1 to {MaxContentIdLength} characters, no spaces or control characters.");
        }
        return id;
    }

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

    /// <summary>The serialised metadata object, refused past <see cref="MaxMetadataBytes"/>.</summary>
    public static string Metadata(System.Text.Json.Nodes.JsonObject? value)
    {
        var json = value?.ToJsonString() ?? "{}";
        return System.Text.Encoding.UTF8.GetByteCount(json) <= MaxMetadataBytes
            ? json
            : throw ApiException.BadRequest($"metadata: at most {MaxMetadataBytes / 1024} KB of JSON.");
    }
}
