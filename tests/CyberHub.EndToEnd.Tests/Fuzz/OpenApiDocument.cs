using System.Text.Json.Nodes;

namespace CyberHub.EndToEnd.Tests.Fuzz;

/// <summary>What a value may be, as far as the fuzzer needs to know: its kind, and the parts of containers.</summary>
public sealed record ValueSchema(
    string Kind,
    string? Format = null,
    IReadOnlyList<string>? Values = null,
    IReadOnlyDictionary<string, ValueSchema>? Properties = null,
    ValueSchema? Items = null)
{
    public const string String = "string";
    public const string Integer = "integer";
    public const string Number = "number";
    public const string Boolean = "boolean";
    public const string Enum = "enum";
    public const string Object = "object";
    /// <summary>A free-form JSON object (metadata).</summary>
    public const string Map = "map";
    public const string Array = "array";
    public const string Any = "any";
}

public sealed record ApiParameter(string Name, string In, ValueSchema Schema);

/// <summary>One operation of a service's OpenAPI document.</summary>
public sealed record ApiOperation(string Service, string Method, string Path, IReadOnlyList<ApiParameter> Parameters, ValueSchema? Body)
{
    public string Key => $"{Service} {Method} {Path}";
    public IEnumerable<ApiParameter> PathParameters => Parameters.Where(p => p.In == "path");
    public IEnumerable<ApiParameter> QueryParameters => Parameters.Where(p => p.In == "query");
}

/// <summary>Reads the operations of an OpenAPI 3.1 document as ASP.NET Core generates it (<c>GET /openapi/v1.json</c>).</summary>
public static class OpenApiDocument
{
    private static readonly string[] Methods = ["get", "post", "put", "patch", "delete"];

    public static IReadOnlyList<ApiOperation> Operations(string service, JsonNode document)
    {
        var schemas = document["components"]?["schemas"]?.AsObject();
        var operations = new List<ApiOperation>();
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject().Where(m => Methods.Contains(m.Key)))
            {
                var parameters = (operation!["parameters"]?.AsArray() ?? [])
                    .Select(p => new ApiParameter((string)p!["name"]!, (string)p["in"]!, Read(p["schema"], schemas, 0)))
                    .ToList();
                var body = operation["requestBody"]?["content"]?["application/json"]?["schema"];
                operations.Add(new ApiOperation(service, method.ToUpperInvariant(), path, parameters, body is null ? null : Read(body, schemas, 0)));
            }
        }
        return operations;
    }

    private static ValueSchema Read(JsonNode? node, JsonObject? schemas, int depth)
    {
        if (node is not JsonObject schema || depth > 10)
        {
            return new ValueSchema(ValueSchema.Any);
        }
        if (schema["$ref"] is { } reference)
        {
            var name = ((string)reference!).Split('/')[^1];
            return Read(schemas?[name], schemas, depth + 1);
        }
        if ((schema["oneOf"] ?? schema["anyOf"]) is JsonArray alternatives)
        {
            var chosen = alternatives.FirstOrDefault(a => a?["type"]?.ToString() != "null");
            return Read(chosen, schemas, depth + 1);
        }
        if (schema["enum"] is JsonArray values)
        {
            return new ValueSchema(ValueSchema.Enum, Values: [.. values.Select(v => v?.ToString() ?? "")]);
        }
        var type = schema["type"] switch
        {
            JsonArray types => types.Select(t => (string)t!).FirstOrDefault(t => t != "null"),
            JsonValue single => (string)single!,
            _ => null,
        };
        var format = (string?)schema["format"];
        return type switch
        {
            "string" => new ValueSchema(ValueSchema.String, format),
            "integer" => new ValueSchema(ValueSchema.Integer, format ?? "int64"),
            "number" => new ValueSchema(ValueSchema.Number, format),
            "boolean" => new ValueSchema(ValueSchema.Boolean),
            "array" => new ValueSchema(ValueSchema.Array, Items: Read(schema["items"], schemas, depth + 1)),
            "object" when schema["properties"] is JsonObject properties => new ValueSchema(ValueSchema.Object,
                Properties: properties.ToDictionary(p => p.Key, p => Read(p.Value, schemas, depth + 1))),
            "object" => new ValueSchema(ValueSchema.Map),
            _ => new ValueSchema(ValueSchema.Any),
        };
    }

    /// <summary>A body that has the schema's shape, for operations the test gives no example of.</summary>
    public static JsonNode? Skeleton(ValueSchema schema, int depth = 0) => schema.Kind switch
    {
        ValueSchema.String => schema.Format switch
        {
            "date-time" => "2026-01-01T00:00:00Z",
            "uuid" => "6f1c2a52-4c8e-4b59-9f55-0e4f3c1d2b7a",
            _ => "fuzz",
        },
        ValueSchema.Integer => 1,
        ValueSchema.Number => 1.5,
        ValueSchema.Boolean => true,
        ValueSchema.Enum => schema.Values![0],
        ValueSchema.Map => new JsonObject { ["key"] = "value" },
        ValueSchema.Array when depth < 6 => new JsonArray(Skeleton(schema.Items!, depth + 1)),
        ValueSchema.Object when depth < 6 => new JsonObject(schema.Properties!.Select(p => KeyValuePair.Create(p.Key, Skeleton(p.Value, depth + 1)))),
        _ => null,
    };
}
