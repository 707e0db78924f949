using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyberHub.Contracts;

namespace CyberHub.Web.Features.Catalog;

/// <summary>How catalog items and progress read on the pages: type names, statuses, durations, metadata.</summary>
public static class ContentText
{
    public static string TypeName(string contentType) =>
        contentType.Length == 0 ? contentType : char.ToUpperInvariant(contentType[0]) + contentType[1..];

    /// <summary>The item's address in the app; both parts escaped, as they are free text.</summary>
    public static string Href(string contentType, string contentId) =>
        $"content/{Uri.EscapeDataString(contentType)}/{Uri.EscapeDataString(contentId)}";

    public static string StudioHref(string contentType, string contentId) =>
        $"studio?type={Uri.EscapeDataString(contentType)}&id={Uri.EscapeDataString(contentId)}";

    public static string Status(ProgressStatus? status) => status switch
    {
        ProgressStatus.InProgress => "In progress",
        ProgressStatus.Completed => "Completed",
        _ => "Not started",
    };

    public static string Duration(long seconds)
    {
        var span = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return span.TotalHours >= 1 ? $"{(int)span.TotalHours} h {span.Minutes} min"
            : span.TotalMinutes >= 1 ? $"{span.Minutes} min {span.Seconds} s"
            : $"{span.Seconds} s";
    }

    public static string Percent(double value) => $"{Math.Round(value).ToString(CultureInfo.InvariantCulture)}%";

    /// <summary>A metadata key as a label: <c>duration_minutes</c> reads "Duration", <c>level</c> "Difficulty".</summary>
    public static string FieldName(string key) => key switch
    {
        "level" or "difficulty" => "Difficulty",
        "duration_minutes" => "Duration",
        _ => TypeName(key.Replace('_', ' ')),
    };

    /// <summary>A metadata value as text: strings as they are, lists joined, minutes as a duration, anything else as JSON.</summary>
    public static string FieldValue(string key, JsonNode? value)
    {
        if (key == "duration_minutes" && value is JsonValue v && MinutesOf(v) is { } minutes and > 0 and < 1e7)
        {
            return Minutes(minutes);
        }
        if (key == "topic" && value is JsonValue t && t.GetValueKind() == JsonValueKind.String && TopicName(t.GetValue<string>()) is { } topic)
        {
            return topic;
        }
        if (key == "level" && value is JsonValue l && l.GetValueKind() == JsonValueKind.String && LevelName(l.GetValue<string>()) is { } level)
        {
            return level;
        }
        return value switch
        {
            null => "",
            JsonValue s when s.GetValueKind() == JsonValueKind.String => s.GetValue<string>(),
            JsonArray list when list.All(i => i is JsonValue) => string.Join(", ", list.Select(i => FieldValue("", i))),
            _ => value.ToJsonString(),
        };
    }

    /// <summary>A level as a label: "Beginner"; null for none.</summary>
    public static string? LevelName(string? level) => string.IsNullOrWhiteSpace(level) ? null : TypeName(level.Trim().ToLowerInvariant());

    /// <summary>A topic as a label: <c>web-security</c> reads "Web security".</summary>
    public static string? TopicName(string? topic) =>
        string.IsNullOrWhiteSpace(topic) ? null : TypeName(topic.Trim().Replace('-', ' ').Replace('_', ' '));

    /// <summary>A length in minutes as a label: "45 min", "8 h", "1 h 30 min".</summary>
    public static string Minutes(double minutes)
    {
        var whole = (long)Math.Round(minutes);
        return whole < 60 ? $"{Math.Max(1, whole)} min" : whole % 60 == 0 ? $"{whole / 60} h" : $"{whole / 60} h {whole % 60} min";
    }

    /// <summary>What an item's metadata says of its level, topic and length (each null when it says nothing usable).</summary>
    public static (string? Level, string? Topic, double? Minutes) Facets(JsonObject? metadata)
    {
        static string? Text(JsonObject? m, string key) =>
            m?[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Trim() is { Length: > 0 } s ? s : null;
        var minutes = metadata?["duration_minutes"] is JsonValue d ? MinutesOf(d) : null;
        return (Text(metadata, "level")?.ToLowerInvariant(), Text(metadata, "topic"), minutes is > 0 and < 1e7 ? minutes : null);
    }

    private static double? MinutesOf(JsonValue value) => value.GetValueKind() switch
    {
        JsonValueKind.Number => value.GetValue<double>(),
        JsonValueKind.String when double.TryParse(value.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var m) => m,
        _ => null,
    };
}
