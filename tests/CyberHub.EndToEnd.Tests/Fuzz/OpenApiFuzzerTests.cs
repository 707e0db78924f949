using System.Text;
using System.Text.Json.Nodes;

namespace CyberHub.EndToEnd.Tests.Fuzz;

/// <summary>The generator on its own, against a small document: reproducible, varied, and always malformed.</summary>
public sealed class OpenApiFuzzerTests
{
    private const string Document = """
        {
          "paths": {
            "/api/v1/things/{id}": {
              "patch": {
                "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "format": "int64" } } ],
                "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } } }
              }
            },
            "/api/v1/things": {
              "get": { "parameters": [ { "name": "page", "in": "query", "schema": { "type": "integer", "format": "int32" } } ] }
            },
            "/api/v1/health": { "get": { } }
          },
          "components": {
            "schemas": {
              "Thing": {
                "type": "object",
                "properties": {
                  "name": { "type": ["null", "string"] },
                  "score": { "type": ["null", "number"], "format": "double" },
                  "status": { "oneOf": [ { "type": "null" }, { "$ref": "#/components/schemas/Status" } ] },
                  "tags": { "type": ["null", "array"], "items": { "type": "string" } },
                  "metadata": { "oneOf": [ { "type": "null" }, { "$ref": "#/components/schemas/JsonObject" } ] }
                }
              },
              "Status": { "enum": ["not_started", "completed"] },
              "JsonObject": { "type": "object" }
            }
          }
        }
        """;

    private static readonly FuzzContext Context = new()
    {
        PathValue = (_, _) => "7",
        ValidBody = _ => JsonNode.Parse("""{"name":"ok","score":50,"status":"completed","tags":["a"],"metadata":{"k":"v"}}"""),
        MaxBodyBytes = _ => 1000,
    };

    private static IReadOnlyList<ApiOperation> Operations() => OpenApiDocument.Operations("test", JsonNode.Parse(Document)!);

    [Fact]
    public void The_document_is_read_into_operations_with_parameters_and_body_schemas()
    {
        var operations = Operations();
        Assert.Equal(["test PATCH /api/v1/things/{id}", "test GET /api/v1/things", "test GET /api/v1/health"], operations.Select(o => o.Key));
        var patch = operations[0];
        Assert.Equal(ValueSchema.Integer, Assert.Single(patch.PathParameters).Schema.Kind);
        Assert.Equal(ValueSchema.Enum, patch.Body!.Properties!["status"].Kind);
        Assert.Equal(ValueSchema.Map, patch.Body.Properties["metadata"].Kind);
        Assert.Equal(ValueSchema.String, patch.Body.Properties["tags"].Items!.Kind);
    }

    [Fact]
    public void The_same_seed_gives_the_same_requests_and_another_seed_others()
    {
        var patch = Operations()[0];
        var first = new OpenApiFuzzer(42, Context).Generate(patch, 100);
        var again = new OpenApiFuzzer(42, Context).Generate(patch, 100);
        var other = new OpenApiFuzzer(43, Context).Generate(patch, 100);
        Assert.Equal(first.Select(Fingerprint), again.Select(Fingerprint));
        Assert.NotEqual(first.Select(Fingerprint), other.Select(Fingerprint));
        // Any one request can be made again alone.
        Assert.Equal(Fingerprint(first[37]), Fingerprint(new OpenApiFuzzer(42, Context).Variant(patch, 37)!));
    }

    [Fact]
    public void Every_request_is_malformed_and_together_they_cover_every_kind_of_defect()
    {
        var operations = Operations();
        var fuzzer = new OpenApiFuzzer(7, Context);
        var patches = fuzzer.Generate(operations[0], 400);
        var valid = Encoding.UTF8.GetBytes(Context.ValidBody(operations[0])!.ToJsonString());
        Assert.All(patches, r => Assert.False(r.Target == "/api/v1/things/7" && r.ContentType == "application/json" && r.Body!.SequenceEqual(valid), r.Defect));
        string[] kinds =
        [
            "path {id}", "(a string is expected)", "(a number is expected)", "(a enum is expected)", "status = ", "score = 1e400",
            "contains U+0000", "unpaired surrogate", "invalid UTF-8", "20000 characters", "tags = [null]", "appears twice",
            "arrays deep", "repeats a key", "objects deep", "metadata holds U+0000", "JSON cut", "not JSON", "body is", "empty body",
            "Content-Type", "over the 1000-byte limit", "plus an unknown field", "without ",
        ];
        var defects = string.Join("\n", patches.Select(r => r.Defect));
        Assert.All(kinds, kind => Assert.Contains(kind, defects, StringComparison.Ordinal));
        Assert.Single(patches, r => r.Defect.Contains("over the", StringComparison.Ordinal));

        Assert.All(fuzzer.Generate(operations[1], 50), r => Assert.StartsWith("query page=", r.Defect, StringComparison.Ordinal));
        Assert.Empty(fuzzer.Generate(operations[2], 50));
    }

    private static string Fingerprint(FuzzRequest r) =>
        $"{r.Caller} {r.Method} {r.Target} {r.ContentType} {Convert.ToHexString(r.Body ?? [])} {r.Defect}";
}
