using CyberHub.Ai.Catalog;
using CyberHub.Contracts;

namespace CyberHub.Ai.Tests;

public sealed class CatalogImporterTests
{
    [Fact]
    public void The_demo_catalog_covers_every_topic_with_courses_lessons_and_labs()
    {
        var catalog = CatalogImporter.DemoCatalog();
        Assert.True(catalog.Count >= 60);
        Assert.Equal(catalog.Count, catalog.Select(e => (e.ContentType, e.ContentId)).Distinct().Count());
        Assert.All(catalog, e =>
        {
            Assert.Contains(e.ContentType, new[] { ContentTypes.Course, ContentTypes.Lesson, ContentTypes.Lab });
            Assert.False(string.IsNullOrWhiteSpace(e.Description));
        });
        var topics = catalog.GroupBy(e => (string?)e.Metadata["topic"]).ToList();
        Assert.True(topics.Count >= 10);
        Assert.All(topics, t => Assert.Equal(3, t.Select(e => e.ContentType).Distinct().Count()));
    }

    [Fact]
    public void Csv_fields_may_be_quoted_and_extra_columns_become_metadata()
    {
        const string csv = "content_type,content_id,title,description,level\r\n" +
            "lab,xss-1,\"XSS, reflected\",\"Say \"\"hi\"\"\nin two lines\",beginner\r\n" +
            "\r\n" +
            "course,web-1,Web,Plain,advanced";
        var entries = CatalogImporter.ReadCsv(new StringReader(csv));
        Assert.Equal(2, entries.Count);
        Assert.Equal("XSS, reflected", entries[0].Title);
        Assert.Equal("Say \"hi\"\nin two lines", entries[0].Description);
        Assert.Equal("beginner", (string?)entries[0].Metadata["level"]);
        Assert.Equal(("course", "web-1"), (entries[1].ContentType, entries[1].ContentId));
    }

    [Theory]
    [InlineData("content_type,content_id,title\nlab,a,Unquoted, comma\n", "Line 2 has 4 fields")]
    [InlineData("content_type,title,Title\nlab,a,b\n", "column 'title' twice")]
    public void Csv_format_errors_name_the_row_or_the_column(string csv, string expected)
    {
        var error = Assert.Throws<FormatException>(() => CatalogImporter.ReadCsv(new StringReader(csv)));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_entries_keep_their_extra_fields_as_metadata()
    {
        const string json = """[{"content_type":"lesson","content_id":"aes","title":"AES","description":"Blocks.","minutes":30,"tags":["crypto"]}]""";
        var entry = Assert.Single(CatalogImporter.ReadJson(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))));
        Assert.Equal(30, (int?)entry.Metadata["minutes"]);
        Assert.Equal("crypto", (string?)entry.Metadata["tags"]![0]);
    }

    [Theory]
    [InlineData("""[{"content_type":"podcast","content_id":"a","title":"t"}]""", "Item 1: content_type")]
    [InlineData("""[{"content_type":"lab","content_id":"a b","title":"t"}]""", "Item 1: content_id")]
    [InlineData("""[{"content_type":"lab","content_id":"a","title":"t"},{"content_type":"lab","content_id":"b"}]""", "Item 2: title")]
    [InlineData("""{"content_type":"lab"}""", "array")]
    [InlineData("""[42]""", "Item 1 is not an object")]
    public void Bad_catalogs_are_refused_naming_the_item(string json, string expected)
    {
        var error = Assert.Throws<FormatException>(() => CatalogImporter.ReadJson(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
