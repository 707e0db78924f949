using System.Globalization;
using System.Text.Json;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Tests;

/// <summary>
/// The facts read from an item's free-form metadata: the one-pass reader must say what a JSON document read of the same
/// text says (<see cref="Expected"/>), for well-formed, odd and broken metadata alike.
/// </summary>
public sealed class ContentFactsTests
{
    public static TheoryData<string> Metadata() =>
    [
        "{}",
        "",
        "   ",
        "null",
        "[]",
        "[{\"topic\":\"web\"}]",
        "\"topic\"",
        "42",
        "{\"topic\":\"Network Security\",\"level\":\"Intermediate\",\"duration_minutes\":45,\"prerequisites\":[\"lesson:intro\",\"lab:nmap-101\"]}",
        "{\"topic\":\"  web  \",\"level\":\" ADVANCED \",\"duration_minutes\":\"30.5\"}",
        "{\"topic\":\"   \",\"level\":\"\",\"duration_minutes\":0}",
        "{\"topic\":5,\"level\":true,\"duration_minutes\":-3,\"prerequisites\":\"lesson:intro\"}",
        "{\"topic\":{\"name\":\"web\"},\"level\":[\"beginner\"],\"duration_minutes\":{\"value\":3},\"prerequisites\":{\"a\":\"lesson:x\"}}",
        "{\"duration_minutes\":1e400}",
        "{\"duration_minutes\":1e-400}",
        "{\"duration_minutes\":\"NaN\"}",
        "{\"duration_minutes\":\"Infinity\"}",
        "{\"duration_minutes\":\"12 minutes\"}",
        "{\"duration_minutes\":\"1e3\"}",
        "{\"duration_minutes\":null,\"topic\":null}",
        "{\"topic\":\"first\",\"topic\":\"last\"}",
        "{\"topic\":\"first\",\"topic\":7}",
        "{\"prerequisites\":[\"lesson:a\"],\"prerequisites\":[\"lab:b\"]}",
        "{\"top\\u0069c\":\"escaped name\",\"level\":\"B\\u00c9GINNER\"}",
        "{\"topic\":\"caf\\u00e9 \\ud83d\\udd12 s\\u00e9curit\\u00e9\"}",
        "{\"prerequisites\":[\"lesson:a\",\"lesson:a\",\":b\",\"c:\",\"nocolon\",\"lab:x:y\",5,null,[\"lesson:z\"],{\"k\":\"lesson:w\"},\"lesson:b\"]}",
        "{\"prerequisites\":[]}",
        "{\"prerequisites\":[1,2]}",
        "{\"tags\":[\"a\",{\"topic\":\"nested\"}],\"extra\":{\"level\":\"nested\"},\"topic\":\"outer\"}",
        "{\"topic\":\"web\"",
        "{\"topic\":\"web\"} trailing",
        "{\"topic\":\"web\"}   ",
        "{\"topic\":\"web\",}",
        "{'topic':'web'}",
        "{\"topic\":\"web\" /* comment */}",
        "{\"topic\":\"web\"}{\"level\":\"advanced\"}",
        "{\"a\":" + new string('[', 70) + new string(']', 70) + ",\"topic\":\"deep\"}",
        "{\"topic\":\"" + new string('x', 3000) + "\",\"level\":\"long é " + new string('é', 2000) + "\"}",
    ];

    [Theory]
    [MemberData(nameof(Metadata))]
    public void The_facts_are_what_a_json_document_of_the_metadata_says(string metadata)
    {
        var record = new ContentRecord("lesson", "l1", "A title", "", metadata, 1, DateTime.UnixEpoch, DateTime.UnixEpoch);
        var facts = ContentFacts.From(record);
        var expected = Expected(metadata);

        Assert.Equal("A title", facts.Title);
        Assert.Equal(expected.Topic, facts.Topic);
        Assert.Equal(expected.Level, facts.Level);
        Assert.Equal(expected.DurationMinutes, facts.DurationMinutes);
        Assert.Equal(expected.Prerequisites, facts.Prerequisites);
        Assert.Equal(expected.Prerequisites ?? [], ContentFacts.PrerequisitesOf(metadata));
    }

    [Fact]
    public void Well_formed_metadata_gives_every_fact()
    {
        var facts = ContentFacts.From(new ContentRecord("lesson", "l2", "T", "",
            "{\"topic\":\" Web \",\"level\":\"ADVANCED\",\"duration_minutes\":\"12.5\",\"prerequisites\":[\"lesson:a\",\"lab:b\",\"lesson:a\"]}",
            1, DateTime.UnixEpoch, DateTime.UnixEpoch));
        Assert.Equal(new ContentFacts("T", "Web", "advanced", 12.5, facts.Prerequisites), facts);
        Assert.Equal([new ContentKey("lesson", "a"), new ContentKey("lab", "b")], facts.Prerequisites);
    }

    /// <summary>The facts as a whole JSON document read of the metadata gives them (the reference the reader is held to).</summary>
    private static ContentFacts Expected(string metadata)
    {
        try
        {
            using var document = JsonDocument.Parse(metadata);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new ContentFacts("A title", null, null, null);
            }
            string? Text(string name) =>
                root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()?.Trim() is { Length: > 0 } text ? text : null;
            double? minutes = null;
            if (root.TryGetProperty("duration_minutes", out var m))
            {
                var value = m.ValueKind switch
                {
                    JsonValueKind.Number => m.GetDouble(),
                    JsonValueKind.String when double.TryParse(m.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
                    _ => double.NaN,
                };
                minutes = double.IsFinite(value) && value > 0 ? value : null;
            }
            List<ContentKey>? keys = null;
            if (root.TryGetProperty("prerequisites", out var p) && p.ValueKind == JsonValueKind.Array)
            {
                keys = [.. p.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? ContentFacts.Reference(e.GetString()) : null).OfType<ContentKey>().Distinct()];
                keys = keys.Count == 0 ? null : keys;
            }
            return new ContentFacts("A title", Text("topic"), Text("level")?.ToLowerInvariant(), minutes, keys);
        }
        catch (JsonException)
        {
            return new ContentFacts("A title", null, null, null);
        }
    }
}
