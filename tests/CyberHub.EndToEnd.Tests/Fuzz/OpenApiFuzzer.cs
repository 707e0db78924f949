using System.Text;
using System.Text.Json.Nodes;

namespace CyberHub.EndToEnd.Tests.Fuzz;

public enum Caller
{
    Admin,
    Learner,
    Anonymous,
    /// <summary>A bearer token that is no token of Core's.</summary>
    Forged,
}

/// <summary>One malformed request, with everything needed to send it again by hand.</summary>
public sealed record FuzzRequest(
    string Operation,
    int Variant,
    string Service,
    Caller Caller,
    string Method,
    string Target,
    byte[]? Body,
    string? ContentType,
    string Defect)
{
    /// <summary>
    /// A percent-encoded NUL in the path: Kestrel refuses such a request line itself with a bare 400 (no body, no
    /// request id) before any of CyberHub's code runs.
    /// </summary>
    public bool RefusedByKestrel => Target.Split('?')[0].Contains("%00", StringComparison.OrdinalIgnoreCase);

    public string Describe(Uri service)
    {
        var text = new StringBuilder();
        text.AppendLine($"{Operation} #{Variant} ({Defect}), as {Caller}:");
        text.AppendLine($"  {Method} {new Uri(service, Target)}");
        if (ContentType is not null)
        {
            text.AppendLine($"  Content-Type: {ContentType}");
        }
        if (Body is not null)
        {
            text.AppendLine(IsPrintableUtf8(Body, out var body)
                ? $"  body ({Body.Length} bytes): {(body.Length > 600 ? body[..600] + $"... ({body.Length - 600} more characters)" : body)}"
                : $"  body ({Body.Length} bytes, base64): {Convert.ToBase64String(Body, 0, Math.Min(Body.Length, 600))}{(Body.Length > 600 ? "..." : "")}");
        }
        return text.ToString();
    }

    private static bool IsPrintableUtf8(byte[] bytes, out string text)
    {
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            return !text.Any(c => char.IsControl(c) && c is not '\n' and not '\r' and not '\t');
        }
        catch (DecoderFallbackException)
        {
            text = "";
            return false;
        }
    }
}

/// <summary>What the fuzzer starts from: values that name existing things, and valid bodies, so that a request
/// is refused for the one defect the fuzzer gave it rather than for naming nothing.</summary>
public sealed class FuzzContext
{
    public required Func<ApiOperation, string, string?> PathValue { get; init; }
    public required Func<ApiOperation, JsonNode?> ValidBody { get; init; }
    public required Func<string, long> MaxBodyBytes { get; init; }
}

/// <summary>
/// Generates malformed requests for the operations of an OpenAPI document. Each request starts from a valid one
/// and gets exactly one defect that the contract refuses (a wrong type, a number out of its type's range, NaN, a
/// NUL, invalid UTF-8, an unknown enum value, a duplicate key, nesting past the limits, broken or missing JSON, a
/// wrong content type, a body over the size limit, a path or query value that names nothing or is no value of its
/// type, an over-long string), sometimes garnished with an unknown field or without one of its fields. Request
/// <c>n</c> of an operation depends only on the seed, the operation and <c>n</c>, so any one can be generated again alone.
/// </summary>
public sealed class OpenApiFuzzer(int seed, FuzzContext context)
{
    /// <summary>Longer than any string field accepts (the longest, an embedding text, is 8,000 characters).</summary>
    public const int HugeStringLength = 20_000;

    private enum Defect
    {
        PathValue, QueryValue, WrongType, OutOfRange, NonFinite, UnknownEnum, Nul, LoneSurrogate, InvalidUtf8,
        HugeString, NullItem, DuplicateKey, TooDeep, MetadataDuplicateKey, MetadataTooDeep, MetadataNul, MetadataNumber,
        Truncated, NotJson, WrongRoot, Empty, WrongContentType, Oversize,
    }

    // Defects the JSON reading catches whatever the field, so they may be put into a field the valid body lacks.
    private static readonly Defect[] ReadingDefects =
        [Defect.WrongType, Defect.OutOfRange, Defect.NonFinite, Defect.UnknownEnum, Defect.Nul, Defect.LoneSurrogate, Defect.InvalidUtf8,
         Defect.TooDeep, Defect.MetadataDuplicateKey, Defect.MetadataTooDeep, Defect.MetadataNul, Defect.MetadataNumber];

    private sealed record Field(IReadOnlyList<object> Path, ValueSchema Schema, bool Present);

    private sealed class Draft
    {
        public Caller Caller;
        public readonly Dictionary<string, string> PathValues = [];
        public readonly List<(string Name, string Value)> Query = [];
        public JsonNode? Body;
        public byte[]? RawBody;
        public string? ContentType = "application/json";
        public readonly Dictionary<string, byte[]> Literals = [];
        public string Defect = "";
    }

    public IReadOnlyList<FuzzRequest> Generate(ApiOperation operation, int count)
    {
        var requests = new List<FuzzRequest>(count);
        for (var variant = 0; variant < count; variant++)
        {
            if (Variant(operation, variant) is { } request)
            {
                requests.Add(request);
            }
        }
        return requests;
    }

    /// <summary>Request <paramref name="variant"/> of the operation, or null when the operation has nothing to malform.</summary>
    public FuzzRequest? Variant(ApiOperation operation, int variant)
    {
        var random = new Random(Mix(seed, operation.Key, variant));
        var draft = new Draft
        {
            Caller = random.Next(20) switch { < 12 => Caller.Admin, < 17 => Caller.Learner, < 19 => Caller.Anonymous, _ => Caller.Forged },
            Body = operation.Body is null ? null : (context.ValidBody(operation) ?? OpenApiDocument.Skeleton(operation.Body))?.DeepClone(),
        };
        foreach (var parameter in operation.PathParameters)
        {
            draft.PathValues[parameter.Name] = context.PathValue(operation, parameter.Name) ?? (parameter.Schema.Kind == ValueSchema.Integer ? "1" : "x");
        }
        var fields = operation.Body is null ? [] : Fields(draft.Body, operation.Body, []);
        var defects = Applicable(operation, fields);
        if (defects.Count == 0)
        {
            return null;
        }
        // One body over the size limit per operation is enough; it is sent by the admin, whose requests are read.
        var defect = variant == 0 && defects.Contains(Defect.Oversize) ? Defect.Oversize : Pick(random, defects.Where(d => d != Defect.Oversize).ToList());
        if (defect == Defect.Oversize)
        {
            draft.Caller = Caller.Admin;
        }
        Apply(defect, operation, fields, draft, random);
        return Render(operation, variant, draft);
    }

    private static List<Defect> Applicable(ApiOperation operation, List<Field> fields)
    {
        var defects = new List<Defect>();
        if (operation.PathParameters.Any())
        {
            defects.Add(Defect.PathValue);
        }
        if (operation.QueryParameters.Any())
        {
            defects.Add(Defect.QueryValue);
        }
        if (operation.Body is null)
        {
            return defects;
        }
        defects.AddRange([Defect.Truncated, Defect.NotJson, Defect.WrongRoot, Defect.Empty, Defect.WrongContentType, Defect.Oversize]);
        foreach (var candidate in Enum.GetValues<Defect>().Where(d => d is >= Defect.WrongType and <= Defect.MetadataNumber))
        {
            if (fields.Any(f => Fits(candidate, f)))
            {
                defects.Add(candidate);
            }
        }
        return defects;
    }

    private static bool Fits(Defect defect, Field field)
    {
        if (!field.Present && !ReadingDefects.Contains(defect))
        {
            return false;
        }
        var kind = field.Schema.Kind;
        return defect switch
        {
            Defect.WrongType => kind is not ValueSchema.Any,
            Defect.OutOfRange => kind is ValueSchema.Integer or ValueSchema.Number,
            Defect.NonFinite => kind is ValueSchema.Integer or ValueSchema.Number,
            Defect.UnknownEnum => kind is ValueSchema.Enum,
            Defect.Nul or Defect.LoneSurrogate or Defect.InvalidUtf8 or Defect.HugeString => kind is ValueSchema.String,
            Defect.NullItem => kind is ValueSchema.Array && field.Schema.Items?.Kind is ValueSchema.String or ValueSchema.Object,
            Defect.DuplicateKey => field.Path.Count == 1,
            Defect.TooDeep => true,
            Defect.MetadataDuplicateKey or Defect.MetadataTooDeep or Defect.MetadataNul or Defect.MetadataNumber => kind is ValueSchema.Map,
            _ => false,
        };
    }

    private void Apply(Defect defect, ApiOperation operation, List<Field> fields, Draft draft, Random random)
    {
        switch (defect)
        {
            case Defect.PathValue:
                var parameter = Pick(random, operation.PathParameters.ToList());
                var value = Pick(random, parameter.Schema.Kind == ValueSchema.Integer ? BadIntegerPathValues : BadStringPathValues);
                draft.PathValues[parameter.Name] = value;
                draft.Defect = $"path {{{parameter.Name}}} = {Shorten(value)}";
                return;
            case Defect.QueryValue:
                var query = Pick(random, operation.QueryParameters.ToList());
                var bad = Pick(random, query.Schema.Kind == ValueSchema.Integer ? BadIntegerQueryValues(query.Name)
                    : FreeTextQueryParameters.Contains(query.Name) ? BadFreeTextQueryValues : BadStringQueryValues);
                draft.Query.Add((query.Name, bad));
                draft.Defect = $"query {query.Name}={Shorten(bad)}";
                return;
            case Defect.Truncated:
                var whole = Encoding.UTF8.GetBytes(draft.Body?.ToJsonString() ?? "{}");
                draft.RawBody = whole[..random.Next(1, whole.Length)];
                draft.Defect = $"JSON cut after {draft.RawBody.Length} of {whole.Length} bytes";
                return;
            case Defect.NotJson:
                var text = Pick(random, NotJsonBodies);
                draft.RawBody = Encoding.UTF8.GetBytes(text);
                draft.Defect = $"not JSON: {Shorten(text)}";
                return;
            case Defect.WrongRoot:
                var root = Pick(random, WrongRoots);
                draft.RawBody = Encoding.UTF8.GetBytes(root);
                draft.Defect = $"body is {root}";
                return;
            case Defect.Empty:
                draft.RawBody = [];
                draft.Defect = "empty body";
                return;
            case Defect.WrongContentType:
                draft.ContentType = Pick(random, WrongContentTypes);
                draft.Defect = $"Content-Type {draft.ContentType ?? "(none)"}";
                return;
            case Defect.Oversize:
                var limit = context.MaxBodyBytes(operation.Service);
                draft.RawBody = Encoding.UTF8.GetBytes("{\"padding\":\"" + new string('x', (int)limit) + "\"}");
                draft.Defect = $"body of {draft.RawBody.Length} bytes, over the {limit}-byte limit";
                return;
        }

        var field = Pick(random, fields.Where(f => Fits(defect, f)).ToList());
        var name = string.Join(".", field.Path);
        switch (defect)
        {
            case Defect.WrongType:
                var wrong = WrongTypeValue(field.Schema.Kind, random);
                Set(draft, field, wrong);
                draft.Defect = $"{name} = {Shorten(wrong?.ToJsonString() ?? "null")} (a {field.Schema.Kind} is expected)";
                break;
            case Defect.OutOfRange:
                var number = Pick(random, field.Schema.Kind == ValueSchema.Number
                    ? ["1e400", "-1e400", "1.7976931348623157e309"]
                    : field.Schema.Format == "int32"
                        ? ["2147483648", "-2147483649", "1.5", "1e400", "99999999999999999999"]
                        : new[] { "9223372036854775808", "-9223372036854775809", "0.5", "1e400", "18446744073709551616" });
                SetLiteral(draft, field, number);
                draft.Defect = $"{name} = {number}";
                break;
            case Defect.NonFinite:
                var literal = Pick(random, ["NaN", "Infinity", "-Infinity", "\"NaN\"", "\"Infinity\""]);
                SetLiteral(draft, field, literal);
                draft.Defect = $"{name} = {literal}";
                break;
            case Defect.UnknownEnum:
                var unknown = Pick(random, ["\"finished\"", "\"completed, in_progress\"", "\"\"", "\"not started\"", "1", "\"0\""]);
                SetLiteral(draft, field, unknown);
                draft.Defect = $"{name} = {unknown}";
                break;
            case Defect.Nul:
                SetLiteral(draft, field, Pick(random, ["\"\\u0000\"", "\"a\\u0000b\"", "\"fuzz\\u0000\""]));
                draft.Defect = $"{name} contains U+0000";
                break;
            case Defect.LoneSurrogate:
                SetLiteral(draft, field, Pick(random, ["\"\\ud800\"", "\"a\\udc00b\"", "\"\\ud83d\""]));
                draft.Defect = $"{name} contains an unpaired surrogate";
                break;
            case Defect.InvalidUtf8:
                var bytes = Pick(random, new byte[][] { [0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC0, 0xAF] });
                SetLiteral(draft, field, [(byte)'"', (byte)'a', .. bytes, (byte)'b', (byte)'"']);
                draft.Defect = $"{name} holds the invalid UTF-8 bytes {Convert.ToHexString(bytes)}";
                break;
            case Defect.HugeString:
                // Not blanks: they are trimmed away.
                Set(draft, field, new string(Pick(random, ['x', 'é', '字']), HugeStringLength));
                draft.Defect = $"{name} has {HugeStringLength} characters";
                break;
            case Defect.NullItem:
                Set(draft, field, new JsonArray((JsonNode?)null));
                draft.Defect = $"{name} = [null]";
                break;
            case Defect.DuplicateKey:
                var copy = random.Next(2) == 0 ? GetAt(draft.Body, field.Path)?.ToJsonString() ?? "null" : "\"other\"";
                draft.Literals["@@DUPLICATE@@"] = Encoding.UTF8.GetBytes($"\"{field.Path[0]}\":{copy},");
                draft.Defect = $"{name} appears twice";
                break;
            case Defect.TooDeep:
                var depth = 33 + random.Next(200);
                SetLiteral(draft, field, new string('[', depth) + new string(']', depth));
                draft.Defect = $"{name} nested {depth} arrays deep";
                break;
            case Defect.MetadataDuplicateKey:
                SetLiteral(draft, field, "{\"topic\":\"a\",\"topic\":\"b\"}");
                draft.Defect = $"{name} repeats a key";
                break;
            case Defect.MetadataTooDeep:
                var levels = 11 + random.Next(15);
                SetLiteral(draft, field, string.Concat(Enumerable.Repeat("{\"a\":", levels)) + "1" + new string('}', levels));
                draft.Defect = $"{name} nested {levels} objects deep";
                break;
            case Defect.MetadataNul:
                SetLiteral(draft, field, random.Next(2) == 0 ? "{\"topic\":\"a\\u0000\"}" : "{\"a\\u0000b\":1}");
                draft.Defect = $"{name} holds U+0000";
                break;
            case Defect.MetadataNumber:
                // Numbers jsonb would store with every digit (1e131000) or refuse (past numeric's range).
                var metadataNumber = Pick(random, ["{\"n\":1e131000}", "{\"n\":1e200000}", "{\"n\":-1e200000}", "{\"n\":1e-200000}",
                    "{\"a\":[1,{\"b\":1e400}]}", "{\"n\":9007199254740993}", "{\"n\":1e-16}", "{\"n\":\"\\ud800\"}"]);
                SetLiteral(draft, field, metadataNumber);
                draft.Defect = $"{name} = {metadataNumber}";
                break;
        }
        Garnish(draft, field, random);
    }

    /// <summary>An unknown field or a missing one on top of the defect: neither may change how the defect is answered.</summary>
    private static void Garnish(Draft draft, Field defective, Random random)
    {
        if (draft.Body is not JsonObject body)
        {
            return;
        }
        if (random.Next(4) == 0)
        {
            body[$"fuzz_extra_{random.Next(100)}"] = Pick(random, new JsonNode?[] { 1, "extra", new JsonObject { ["nested"] = true }, null, new JsonArray(1, 2) })?.DeepClone();
            draft.Defect += ", plus an unknown field";
        }
        var removable = body.Select(p => p.Key).Where(k => !Equals(k, defective.Path[0]) && !k.StartsWith("fuzz_extra", StringComparison.Ordinal)).ToList();
        if (random.Next(5) == 0 && removable.Count > 0)
        {
            var removed = Pick(random, removable);
            body.Remove(removed);
            draft.Defect += $", without {removed}";
        }
    }

    private FuzzRequest Render(ApiOperation operation, int variant, Draft draft)
    {
        var path = draft.PathValues.Aggregate(operation.Path, (p, v) => p.Replace($"{{{v.Key}}}", v.Value, StringComparison.Ordinal));
        var target = draft.Query.Count == 0 ? path : path + "?" + string.Join("&", draft.Query.Select(q => $"{q.Name}={q.Value}"));
        byte[]? body = null;
        if (operation.Body is not null)
        {
            body = draft.RawBody ?? Encoding.UTF8.GetBytes(draft.Body?.ToJsonString() ?? "null");
            if (draft.Literals.Remove("@@DUPLICATE@@", out var duplicate))
            {
                body = [(byte)'{', .. duplicate, .. body.AsSpan(1)];
            }
            foreach (var (placeholder, literal) in draft.Literals)
            {
                body = Replace(body, Encoding.UTF8.GetBytes($"\"{placeholder}\""), literal);
            }
        }
        return new FuzzRequest(operation.Key, variant, operation.Service, draft.Caller, operation.Method, target, body,
            operation.Body is null ? null : draft.ContentType, draft.Defect);
    }

    private static List<Field> Fields(JsonNode? node, ValueSchema schema, List<object> path)
    {
        var fields = new List<Field>();
        if (schema.Kind == ValueSchema.Object && schema.Properties is { } properties)
        {
            foreach (var (name, property) in properties)
            {
                var child = node is JsonObject o && o.TryGetPropertyValue(name, out var value) ? value : null;
                var present = node is JsonObject owner && owner.ContainsKey(name);
                var at = new List<object>(path) { name };
                fields.Add(new Field(at, property, present));
                if (present)
                {
                    fields.AddRange(Fields(child, property, at));
                }
            }
        }
        else if (schema.Kind == ValueSchema.Array && schema.Items is { } items && node is JsonArray { Count: > 0 } array)
        {
            fields.AddRange(Fields(array[0], items, [.. path, 0]));
        }
        return fields;
    }

    private static void Set(Draft draft, Field field, JsonNode? value)
    {
        var parent = GetAt(draft.Body, field.Path.Take(field.Path.Count - 1).ToList());
        switch (parent, field.Path[^1])
        {
            case (JsonObject o, string name):
                o[name] = value;
                break;
            case (JsonArray a, int index):
                a[index] = value;
                break;
        }
    }

    private static void SetLiteral(Draft draft, Field field, string literal) => SetLiteral(draft, field, Encoding.UTF8.GetBytes(literal));

    private static void SetLiteral(Draft draft, Field field, byte[] literal)
    {
        var placeholder = $"@@FUZZ{draft.Literals.Count}@@";
        draft.Literals[placeholder] = literal;
        Set(draft, field, placeholder);
    }

    private static JsonNode? GetAt(JsonNode? node, IReadOnlyList<object> path)
    {
        foreach (var step in path)
        {
            node = (node, step) switch
            {
                (JsonObject o, string name) => o[name],
                (JsonArray a, int index) => a[index],
                _ => null,
            };
        }
        return node;
    }

    private static JsonNode? WrongTypeValue(string kind, Random random)
    {
        JsonNode?[] choices = kind switch
        {
            ValueSchema.String or ValueSchema.Enum => [42, true, new JsonArray("a"), new JsonObject { ["a"] = 1 }, -1.5],
            ValueSchema.Integer or ValueSchema.Number => ["12", true, new JsonArray(1), new JsonObject(), "one"],
            ValueSchema.Boolean => ["true", 1, new JsonArray()],
            ValueSchema.Array => ["text", 7, new JsonObject { ["0"] = "a" }, true],
            _ => ["text", 7, new JsonArray(1, 2), false],
        };
        return Pick(random, choices)?.DeepClone();
    }

    private static readonly string[] BadIntegerPathValues =
        ["abc", "-1", "0", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1.5", "1e3", "..%2F..%2F",
         "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "%00", "1%00", "%FF%FE", new string('9', 400), "0x10", "%20"];

    private static readonly string[] BadStringPathValues =
        ["..%2F..%2Fetc%2Fpasswd", "%00", "a%00b", "%FF%FE%FD", "%C0%AF", new string('z', 5000), "'%20OR%201=1--", "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
         "no-such-thing", "%F0%9F%92%A9", "%E2%80%AE", "%0A%0D"];

    private static string[] BadIntegerQueryValues(string name) => name switch
    {
        "page" => ["0", "-1", "abc", "2147483648", "2147483647", "1.5", "%00", "99999999999999999999"],
        "page_size" => ["0", "101", "-1", "abc", "2147483648", "1e2"],
        "limit" => ["0", "51", "-5", "abc", "2147483648"],
        _ => ["abc", "-1", "0", "9223372036854775807", "9223372036854775808", "1.5", "%FF"],
    };

    private static readonly string[] BadStringQueryValues =
        ["podcast", "%00", "lesson%00", "%FF", "COURSE", new string('q', 5000), "%3Cscript%3E", "'%20OR%201=1--", "finished", "%E2%80%AE"];

    /// <summary>
    /// Query parameters that take any text (a topic is the catalog's own word for it; one that no item has matches
    /// nothing): only text that is not well-formed is malformed there.
    /// </summary>
    private static readonly HashSet<string> FreeTextQueryParameters = ["topic"];

    private static readonly string[] BadFreeTextQueryValues =
        ["%00", "lesson%00", "%0A%0D", "%07", "%1B%5B31m", new string('q', 5000), "%20%20"];

    private static readonly string[] NotJsonBodies =
        ["email=a&password=b", "<xml><a>1</a></xml>", "{'single': 'quotes'}", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "\u00ff\u00fe{}", "--\r\n", "{\"a\":1}/*c*/", "{} {}"];

    private static readonly string[] WrongRoots = ["[]", "[{}]", "\"text\"", "42", "null", "true"];

    private static readonly string?[] WrongContentTypes =
        ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/html", null, "application/octet-stream"];

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private static string Shorten(string value) => value.Length <= 60 ? value : $"{value[..40]}... ({value.Length} characters)";

    private static byte[] Replace(byte[] source, byte[] find, byte[] replacement)
    {
        var at = source.AsSpan().IndexOf(find);
        return at < 0 ? source : [.. source.AsSpan(0, at), .. replacement, .. source.AsSpan(at + find.Length)];
    }

    /// <summary>A stable mix of the seed, the operation and the variant (string hash codes differ between processes).</summary>
    private static int Mix(int seed, string operation, int variant)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes($"{seed}|{operation}|{variant}"))
        {
            hash = (hash ^ b) * 16777619u;
        }
        return (int)hash;
    }
}
