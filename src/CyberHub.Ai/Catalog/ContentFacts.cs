using System.Globalization;
using System.Text.Json;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Catalog;

/// <summary>
/// What the free-form metadata of a catalog item says about it, as far as it says: its <c>topic</c>, its
/// <c>level</c> (lower-case), its <c>duration_minutes</c> and its <c>prerequisites</c> (references
/// <c>"content_type:content_id"</c>, split at the first colon). Shared by every feature that reads them.
/// </summary>
public sealed record ContentFacts(string? Title, string? Topic, string? Level, double? DurationMinutes, IReadOnlyList<ContentKey>? Prerequisites = null)
{
    /// <summary>The items to finish before this one (none when the metadata names none).</summary>
    public IReadOnlyList<ContentKey> Before => Prerequisites ?? [];

    /// <summary>Reads a prerequisite reference, <c>"content_type:content_id"</c>; null when it is not one.</summary>
    public static ContentKey? Reference(string? reference)
    {
        var colon = reference?.IndexOf(':') ?? -1;
        return colon > 0 && colon < reference!.Length - 1 ? new ContentKey(reference[..colon], reference[(colon + 1)..]) : null;
    }

    /// <summary>The reference form of <paramref name="key"/>: <c>"content_type:content_id"</c>.</summary>
    public static string Reference(ContentKey key) => $"{key.ContentType}:{key.ContentId}";

    /// <summary>The prerequisites stated by an item's stored metadata (JSON text); none when it states none or cannot be read.</summary>
    public static IReadOnlyList<ContentKey> PrerequisitesOf(string metadata)
    {
        try
        {
            using var json = JsonDocument.Parse(metadata);
            return json.RootElement.ValueKind == JsonValueKind.Object ? References(json.RootElement) ?? [] : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    public static ContentFacts From(ContentRecord record)
    {
        try
        {
            using var metadata = JsonDocument.Parse(record.Metadata);
            var root = metadata.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                return new ContentFacts(record.Title, Text(root, "topic"), Text(root, "level")?.ToLowerInvariant(), Minutes(root), References(root));
            }
        }
        catch (JsonException)
        {
            // Metadata is free-form: an item whose metadata cannot be read is still an item, just without facts.
        }
        return new ContentFacts(record.Title, null, null, null);
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()?.Trim() is { Length: > 0 } text
            ? text
            : null;

    private static IReadOnlyList<ContentKey>? References(JsonElement root)
    {
        if (!root.TryGetProperty("prerequisites", out var value) || value.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        var keys = value.EnumerateArray()
            .Select(e => e.ValueKind == JsonValueKind.String ? Reference(e.GetString()) : null)
            .OfType<ContentKey>().Distinct().ToList();
        return keys.Count == 0 ? null : keys;
    }

    /// <summary>duration_minutes as a number, or as the text a CSV import leaves.</summary>
    private static double? Minutes(JsonElement root)
    {
        if (!root.TryGetProperty("duration_minutes", out var value))
        {
            return null;
        }
        var minutes = value.ValueKind switch
        {
            JsonValueKind.Number => value.GetDouble(),
            JsonValueKind.String when double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => double.NaN,
        };
        return double.IsFinite(minutes) && minutes > 0 ? minutes : null;
    }
}
