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
        if (key == "duration_minutes" && value is JsonValue v && MinutesOf(v) is { } minutes)
        {
            return Duration((long)(minutes * 60));
        }
        return value switch
        {
            null => "",
            JsonValue s when s.GetValueKind() == JsonValueKind.String => s.GetValue<string>(),
            JsonArray list when list.All(i => i is JsonValue) => string.Join(", ", list.Select(i => FieldValue("", i))),
            _ => value.ToJsonString(),
        };
    }

    private static double? MinutesOf(JsonValue value) => value.GetValueKind() switch
    {
        JsonValueKind.Number => value.GetValue<double>(),
        JsonValueKind.String when double.TryParse(value.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var m) => m,
        _ => null,
    };
}
