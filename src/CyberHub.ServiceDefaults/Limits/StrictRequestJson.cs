using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using CyberHub.ServiceDefaults.Errors;

namespace CyberHub.ServiceDefaults.Limits;

/// <summary>
/// What the services accept on the wire beyond <see cref="Contracts.CyberHubJson"/>, enforced as request bodies are
/// read so that every refusal is a 400 naming the field: no U+0000 in any string (PostgreSQL text cannot hold it),
/// numbers a double can hold (<c>1e400</c> would otherwise arrive as Infinity), enum values among the documented ones
/// (.NET would otherwise read "completed, in_progress" as a combination no status has), and JSON objects (metadata)
/// without duplicate keys, U+0000 or more than <see cref="ContentRules.MaxMetadataDepth"/> levels.
/// </summary>
/// <remarks>
/// Strings, numbers and enums are checked once each object is read rather than by converters of their own: the
/// OpenAPI documents are generated from the same options and describe a value with a custom converter as "anything".
/// </remarks>
public static class StrictRequestJson
{
    public static void Configure(JsonSerializerOptions options)
    {
        options.Converters.Insert(0, new StrictJsonObjectConverter());
        options.TypeInfoResolver = (options.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver()).WithAddedModifier(CheckWhenRead);
    }

    private static void CheckWhenRead(JsonTypeInfo type)
    {
        if (type.Kind != JsonTypeInfoKind.Object)
        {
            return;
        }
        var checks = type.Properties
            .Where(p => p.Get is not null)
            .Select(p => (Property: p, Check: CheckFor(p.PropertyType)))
            .Where(c => c.Check is not null)
            .ToArray();
        if (checks.Length == 0)
        {
            return;
        }
        var previous = type.OnDeserialized;
        type.OnDeserialized = value =>
        {
            previous?.Invoke(value);
            foreach (var (property, check) in checks)
            {
                if (check!(property.Get!(value)) is { } problem)
                {
                    // The value is well-formed JSON, so the answer reads like the services' own field rules.
                    throw ApiException.BadRequest($"{property.Name}: {problem}");
                }
            }
        };
    }

    private const string NoNul = "control characters are not allowed (U+0000).";

    private static Func<object?, string?>? CheckFor(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return value => value is string text && text.Contains('\0') ? NoNul : null;
        }
        if (type == typeof(double))
        {
            return value => value is double number && !double.IsFinite(number) ? "the number is out of range." : null;
        }
        if (type.IsEnum)
        {
            var allowed = string.Join(", ", Enum.GetNames(type).Select(JsonNamingPolicy.SnakeCaseLower.ConvertName));
            return value => value is not null && !Enum.IsDefined(type, value) ? $"expected one of {allowed}." : null;
        }
        if (type != typeof(string) && typeof(IEnumerable<string>).IsAssignableFrom(type))
        {
            return value => value is IEnumerable<string?> items && items.Any(item => item?.Contains('\0') == true) ? NoNul : null;
        }
        return null;
    }

    /// <summary>
    /// Reads metadata objects itself: .NET's own reading throws an <see cref="ArgumentException"/> (a 500) on a
    /// duplicate key inside a <see cref="JsonObject"/>.
    /// </summary>
    private sealed class StrictJsonObjectConverter : JsonConverter<JsonObject>
    {
        public override JsonObject? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("expected a JSON object.");
            }
            var element = JsonElement.ParseValue(ref reader);
            return ContentRules.MetadataProblem(element) is { } problem ? throw new JsonException(problem) : JsonObject.Create(element);
        }

        public override void Write(Utf8JsonWriter writer, JsonObject value, JsonSerializerOptions options) => value.WriteTo(writer, options);
    }
}
