using System.Text.Json;
using System.Text.Json.Nodes;

namespace CyberHub.Contracts;

/// <summary>
/// Learning paths in the catalog: an item's <c>metadata.level</c> (beginner, intermediate or advanced) and its
/// <c>metadata.prerequisites</c>, the items to finish first as references <c>"content_type:content_id"</c> (split at the
/// first colon). The rules an item's own metadata must follow live here, so that the AI service, the importer and the
/// studio's form apply the same ones; whether the references exist and form no cycle is the AI service's check.
/// </summary>
public static class ContentPaths
{
    public const string LevelKey = "level";
    public const string PrerequisitesKey = "prerequisites";
    public const int MaxPrerequisites = 20;

    public static readonly IReadOnlyList<string> Levels = ["beginner", "intermediate", "advanced"];

    /// <summary>The reference of an item: <c>"content_type:content_id"</c>.</summary>
    public static string Reference(string contentType, string contentId) => $"{contentType}:{contentId}";

    /// <summary>A reference split at its first colon; null when either part is empty.</summary>
    public static (string ContentType, string ContentId)? Split(string? reference)
    {
        var colon = reference?.IndexOf(':') ?? -1;
        return colon > 0 && colon < reference!.Length - 1 ? (reference[..colon], reference[(colon + 1)..]) : null;
    }

    /// <summary>
    /// Checks <c>level</c> and <c>prerequisites</c> of <paramref name="metadata"/> (the metadata of the item
    /// <paramref name="self"/>, a reference) and puts them in their stored form: the level trimmed and lower-case, each
    /// reference trimmed. Returns what is wrong, naming the field (<c>metadata.prerequisites[2]: ...</c>), or null.
    /// <paramref name="idProblem"/> may add the full rule for content ids (the service's); without it an id is checked
    /// for its shape only (no spaces, slashes or control characters, at most 128 characters).
    /// </summary>
    public static string? Normalise(JsonObject metadata, string self, Func<string, string?>? idProblem = null)
    {
        if (metadata.TryGetPropertyValue(LevelKey, out var level))
        {
            var text = level is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>().Trim().ToLowerInvariant() : null;
            if (text is null || !Levels.Contains(text))
            {
                return $"metadata.level: one of {string.Join(", ", Levels)}.";
            }
            metadata[LevelKey] = text;
        }
        if (!metadata.TryGetPropertyValue(PrerequisitesKey, out var node))
        {
            return null;
        }
        if (node is not JsonArray list)
        {
            return $"metadata.prerequisites: an array of references \"content_type:content_id\" (at most {MaxPrerequisites}).";
        }
        if (list.Count > MaxPrerequisites)
        {
            return $"metadata.prerequisites: at most {MaxPrerequisites} references (got {list.Count}).";
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var normalised = new JsonArray();
        for (var i = 0; i < list.Count; i++)
        {
            var reference = list[i] is JsonValue item && item.GetValueKind() == JsonValueKind.String ? item.GetValue<string>().Trim() : null;
            if (ReferenceProblem(reference, idProblem) is { } problem)
            {
                return $"metadata.prerequisites[{i}]: {problem}";
            }
            if (reference == self)
            {
                return $"metadata.prerequisites[{i}]: an item may not require itself.";
            }
            if (!seen.Add(reference!))
            {
                return $"metadata.prerequisites[{i}]: {reference} is given twice.";
            }
            normalised.Add(reference);
        }
        metadata[PrerequisitesKey] = normalised;
        return null;
    }

    /// <summary>What is wrong with a reference, or null when it is <c>"content_type:content_id"</c> with a known type and a well-formed id.</summary>
    public static string? ReferenceProblem(string? reference, Func<string, string?>? idProblem = null)
    {
        if (reference is null || Split(reference) is not (var type, var id))
        {
            return "a reference is \"content_type:content_id\", such as \"lab:xss-1\".";
        }
        if (!ContentTypes.IsKnown(type))
        {
            return $"'{Printable(type)}' is not a content type (one of {string.Join(", ", ContentTypes.All)}).";
        }
        if (id.Length > 128 || id.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c == '/'))
        {
            return "the content id has 1 to 128 characters, no spaces, slashes or control characters.";
        }
        return idProblem?.Invoke(id) is { } problem ? $"the content id: {problem}" : null;
    }

    /// <summary>The references <paramref name="metadata"/> names as prerequisites, as given (nothing checked; none when it names none).</summary>
    public static IReadOnlyList<string> PrerequisitesOf(JsonObject? metadata) =>
        metadata?[PrerequisitesKey] is JsonArray list
            ? [.. list.OfType<JsonValue>().Where(v => v.GetValueKind() == JsonValueKind.String).Select(v => v.GetValue<string>().Trim())]
            : [];

    /// <summary>
    /// <paramref name="items"/> in rounds such that an item comes in a later round than the items of the same batch it
    /// requires: storing round after round (each in any order) never stores an item before a prerequisite the batch
    /// holds. Items that require each other in a cycle come last, to be refused by the service.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<T>> InPrerequisiteOrder<T>(IReadOnlyList<T> items, Func<T, string> reference, Func<T, JsonObject?> metadata)
    {
        var remaining = items.Select(i => (Item: i, Key: reference(i), Before: PrerequisitesOf(metadata(i)))).ToList();
        var rounds = new List<IReadOnlyList<T>>();
        while (remaining.Count > 0)
        {
            var waiting = remaining.Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
            var ready = remaining.Where(r => !r.Before.Any(b => b != r.Key && waiting.Contains(b))).ToList();
            if (ready.Count == 0)
            {
                rounds.Add([.. remaining.Select(r => r.Item)]);
                break;
            }
            rounds.Add([.. ready.Select(r => r.Item)]);
            remaining = [.. remaining.Except(ready)];
        }
        return rounds;
    }

    private static string Printable(string text) => new([.. text.Take(40).Select(c => char.IsControl(c) || char.IsSurrogate(c) ? '?' : c)]);
}
