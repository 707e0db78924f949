using System.Text;
using System.Text.Json.Nodes;

namespace CyberHub.Contracts;

/// <summary>
/// One entry of a catalog file: its number (the item's place in a JSON array, or its row in a CSV file, the header
/// being row 1) and its fields by name. <see cref="Problem"/> says why the entry cannot be an item at all.
/// </summary>
public sealed record CatalogRow(int Number, IReadOnlyDictionary<string, JsonNode?> Fields, string? Problem = null)
{
    /// <summary>A field as trimmed text; empty when it is missing or not a string.</summary>
    public string Text(string name) =>
        Fields.TryGetValue(name, out var node) && node is JsonValue value && value.TryGetValue<string>(out var text) ? text.Trim() : "";

    /// <summary>Every field but the four that name and describe the item.</summary>
    public JsonObject Metadata()
    {
        var metadata = new JsonObject();
        foreach (var (name, value) in Fields.Where(f => !CatalogFile.ItemFields.Contains(f.Key)))
        {
            metadata[name] = value?.DeepClone();
        }
        return metadata;
    }
}

/// <summary>
/// Catalog files, read the same way by the <c>cyberhub import</c> command and the studio's bulk upload: a JSON array
/// of objects, or CSV whose header row names the columns. <c>content_type</c>, <c>content_id</c>, <c>title</c> and
/// <c>description</c> name and describe an item; any other field is its metadata. In CSV, the <c>prerequisites</c>
/// column holds references separated by spaces (it becomes an array), and an empty <c>level</c> or <c>prerequisites</c>
/// cell gives none (see <see cref="ContentPaths"/>). Only the file's format is checked
/// here: whether an item is valid is the AI service's rule.
/// </summary>
public static class CatalogFile
{
    public static readonly IReadOnlyList<string> ItemFields = ["content_type", "content_id", "title", "description"];

    public static bool IsCsv(string fileName) => fileName.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);

    /// <summary>CSV when the name ends in <c>.csv</c>, else JSON.</summary>
    public static IReadOnlyList<CatalogRow> Read(string fileName, Stream content) =>
        IsCsv(fileName) ? ReadCsv(new StreamReader(content, Encoding.UTF8)) : ReadJson(content);

    /// <summary>The array's objects; <see cref="FormatException"/> when it is not an array, <see cref="System.Text.Json.JsonException"/> when it is not JSON.</summary>
    public static IReadOnlyList<CatalogRow> ReadJson(Stream json)
    {
        var items = JsonNode.Parse(json) as JsonArray ?? throw new FormatException("A JSON catalog is an array of objects.");
        return [.. items.Select((node, i) => node is JsonObject item
            ? new CatalogRow(i + 1, item.ToDictionary(p => p.Key, p => p.Value))
            : new CatalogRow(i + 1, new Dictionary<string, JsonNode?>(), $"Item {i + 1} is not an object."))];
    }

    /// <summary>The rows after the header, blank ones skipped; <see cref="FormatException"/> when the header names a column twice.</summary>
    public static IReadOnlyList<CatalogRow> ReadCsv(TextReader csv)
    {
        var rows = Csv.Parse(csv).ToList();
        if (rows.Count == 0)
        {
            return [];
        }
        var header = rows[0].Select(h => h.Trim().ToLowerInvariant()).ToList();
        if (header.Where(h => h.Length > 0).GroupBy(h => h).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new FormatException($"The header names the column '{twice.Key}' twice.");
        }
        return [.. rows.Select((row, i) => (row, number: i + 1)).Skip(1).Where(r => r.row.Any(f => f.Length > 0)).Select(r => Row(header, r.row, r.number))];
    }

    private static CatalogRow Row(List<string> header, List<string> row, int number)
    {
        var fields = header.Select((name, col) => (name, value: col < row.Count ? row[col] : ""))
            .Where(f => f.name.Length > 0)
            .Where(f => !(f.name is ContentPaths.LevelKey or ContentPaths.PrerequisitesKey && f.value.Trim().Length == 0))
            .ToDictionary(f => f.name, f => f.name == ContentPaths.PrerequisitesKey
                ? new JsonArray([.. f.value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(r => (JsonNode?)JsonValue.Create(r))])
                : (JsonNode?)JsonValue.Create(f.value));
        // More fields than columns is almost always an unquoted comma: the values would land in the wrong columns.
        var problem = row.Count > header.Count ? $"Line {number} has {row.Count} fields but the header names {header.Count} columns (quote a field that holds a comma)." : null;
        return new CatalogRow(number, fields, problem);
    }
}
