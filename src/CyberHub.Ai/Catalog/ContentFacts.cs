using System.Buffers;
using System.Globalization;
using System.Text;
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
    public static IReadOnlyList<ContentKey> PrerequisitesOf(string metadata) => Read(metadata).Prerequisites ?? [];

    public static ContentFacts From(ContentRecord record)
    {
        var (topic, level, minutes, prerequisites) = Read(record.Metadata);
        return new ContentFacts(record.Title, topic, level, minutes, prerequisites);
    }

    /// <summary>
    /// The four facts of a metadata text, in one forward pass over its UTF-8 bytes (a ranking reads them for every item
    /// it fetches, a catalog list for every item it filters): the text is read to its end, so what a JSON parser refuses
    /// states nothing, as does a root that is not an object. A name given twice counts as its last value, as JSON
    /// documents read them; names are compared unescaped.
    /// </summary>
    private static (string? Topic, string? Level, double? Minutes, IReadOnlyList<ContentKey>? Prerequisites) Read(string metadata)
    {
        const int OnStack = 1024;
        var size = Encoding.UTF8.GetMaxByteCount(metadata.Length);
        byte[]? rented = size > OnStack ? ArrayPool<byte>.Shared.Rent(size) : null;
        Span<byte> buffer = rented ?? stackalloc byte[OnStack];
        try
        {
            var reader = new Utf8JsonReader(buffer[..Encoding.UTF8.GetBytes(metadata, buffer)]);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return default;
            }
            (string? Topic, string? Level, double? Minutes, IReadOnlyList<ContentKey>? Prerequisites) facts = default;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("topic"u8))
                {
                    reader.Read();
                    facts.Topic = Text(ref reader);
                }
                else if (reader.ValueTextEquals("level"u8))
                {
                    reader.Read();
                    facts.Level = Text(ref reader)?.ToLowerInvariant();
                }
                else if (reader.ValueTextEquals("duration_minutes"u8))
                {
                    reader.Read();
                    facts.Minutes = Minutes(ref reader);
                }
                else if (reader.ValueTextEquals("prerequisites"u8))
                {
                    reader.Read();
                    facts.Prerequisites = References(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            // The root object has ended: anything after it but white space makes the text no JSON.
            while (reader.Read())
            {
            }
            return facts;
        }
        catch (JsonException)
        {
            // Metadata is free-form: an item whose metadata cannot be read is still an item, just without facts.
            return default;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The value under the reader, trimmed, if it is a non-blank string; the value is read past either way.</summary>
    private static string? Text(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return null;
        }
        return reader.GetString()?.Trim() is { Length: > 0 } text ? text : null;
    }

    /// <summary>The content references of an array of strings (others ignored), each once; null when none or not an array.</summary>
    private static IReadOnlyList<ContentKey>? References(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }
        List<ContentKey>? keys = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                if (Reference(reader.GetString()) is { } key && !(keys ??= []).Contains(key))
                {
                    keys.Add(key);
                }
            }
            else
            {
                reader.Skip();
            }
        }
        return keys;
    }

    /// <summary>duration_minutes as a number, or as the text a CSV import leaves; positive and finite, else none.</summary>
    private static double? Minutes(ref Utf8JsonReader reader)
    {
        var minutes = reader.TokenType switch
        {
            JsonTokenType.Number => reader.TryGetDouble(out var number) ? number : double.NaN,
            JsonTokenType.String when double.TryParse(reader.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => double.NaN,
        };
        reader.Skip();
        return double.IsFinite(minutes) && minutes > 0 ? minutes : null;
    }
}
