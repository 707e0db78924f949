using System.Text.Json.Nodes;
using CyberHub.Testing;

namespace CyberHub.Contract.Tests;

/// <summary>
/// The committed documents (docs/openapi/*.json, which scripts/openapi-lint.sh lints and the clients are generated
/// from) are what the services serve, and what the services serve states for every operation who may call it, its
/// operationId and its errors. <c>CYBERHUB_OPENAPI_UPDATE=1</c> (scripts/openapi-update.sh) writes the served
/// documents over the committed ones instead of comparing.
/// </summary>
[Collection(ContractCollection.Name)]
public sealed class OpenApiDocumentTests(ContractServices services)
{
    public static TheoryData<string> Documents => new() { "core", "ai" };

    private async Task<(string Served, string Path)> DocumentAsync(string name)
    {
        var service = name == "core" ? (LoopbackService)services.Core : services.Ai;
        using var client = service.CreateClient();
        var served = await client.GetStringAsync("/openapi/v1.json");
        return (served, Path.Combine(HostProgram.RepositoryRoot, "docs", "openapi", $"{name}.json"));
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public async Task The_committed_document_is_the_one_the_service_serves(string name)
    {
        var (served, path) = await DocumentAsync(name);
        if (Environment.GetEnvironmentVariable("CYBERHUB_OPENAPI_UPDATE") == "1")
        {
            await File.WriteAllTextAsync(path, served.ReplaceLineEndings("\n").TrimEnd() + "\n");
            return;
        }
        var committed = JsonNode.Parse(await File.ReadAllTextAsync(path));
        var differences = Differences(committed, JsonNode.Parse(served), "#").Take(10).ToList();
        Assert.True(differences.Count == 0,
            $"docs/openapi/{name}.json is not what the service serves (run scripts/openapi-update.sh, then scripts/openapi-lint.sh):\n"
            + string.Join("\n", differences));
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public async Task Every_operation_states_its_id_who_may_call_it_and_its_errors(string name)
    {
        var document = JsonNode.Parse((await DocumentAsync(name)).Served)!;
        Assert.Equal("bearer", document["components"]!["securitySchemes"]!["bearer"]!["scheme"]!.GetValue<string>());
        Assert.Equal(["detail", "request_id"], document["components"]!["schemas"]!["Error"]!["required"]!.AsArray().Select(n => n!.GetValue<string>()).Order());
        Assert.DoesNotMatch("/$", document["servers"]![0]!["url"]!.GetValue<string>());
        Assert.NotNull(document["info"]!["license"]);
        Assert.All(document["tags"]!.AsArray(), tag => Assert.False(string.IsNullOrWhiteSpace(tag!["description"]?.GetValue<string>()), tag!.ToJsonString()));

        var ids = new HashSet<string>();
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                var where = $"{method.ToUpperInvariant()} {path}";
                Assert.True(ids.Add(operation!["operationId"]!.GetValue<string>()), $"{where}: duplicate operationId");
                Assert.True(operation["security"] is JsonArray, $"{where}: no security requirement (not even the empty one of an anonymous operation)");
                foreach (var (code, response) in operation["responses"]!.AsObject())
                {
                    if (code[0] is '4' or '5')
                    {
                        Assert.Equal("#/components/schemas/Error", response!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
                        Assert.NotNull(response["headers"]!["X-Request-ID"]);
                    }
                }
                if (path.StartsWith("/api/", StringComparison.Ordinal))
                {
                    Assert.True(operation["responses"]!["429"]?["headers"]?["Retry-After"] is not null, $"{where}: no 429 with Retry-After");
                }
                if (operation["security"]!.AsArray().Count > 0)
                {
                    Assert.True(operation["responses"]!["401"] is not null && operation["responses"]!["403"] is not null, $"{where}: no 401/403");
                }
            }
        }
    }

    /// <summary>The roles each operation takes come from its authorization policies, and its errors from its metadata.</summary>
    [Fact]
    public async Task Security_requirements_and_errors_follow_the_endpoints_policies_and_metadata()
    {
        var core = JsonNode.Parse((await DocumentAsync("core")).Served)!["paths"]!;
        var ai = JsonNode.Parse((await DocumentAsync("ai")).Served)!["paths"]!;

        Assert.Empty(core["/api/v1/token"]!["post"]!["security"]!.AsArray());
        Assert.Empty(core["/api/v1/users"]!["post"]!["security"]!.AsArray());
        Assert.Equal([], Roles(core["/api/v1/progress"]!["post"]!));
        Assert.Equal(["admin"], Roles(core["/api/v1/users"]!["get"]!));
        Assert.Equal(["admin"], Roles(core["/api/v1/service-clients"]!["post"]!));
        Assert.Equal(["content_creator", "admin", "service"], Roles(ai["/api/v1/embeddings/store"]!["post"]!));
        Assert.Equal(["admin"], Roles(ai["/api/v1/content/{contentType}/{contentId}"]!["delete"]!));
        Assert.Equal(["admin", "service"], Roles(ai["/api/v1/sync/progress-events"]!["post"]!));

        Assert.Equal("getProgressById", core["/api/v1/progress/{id}"]!["get"]!["operationId"]!.GetValue<string>());
        var create = core["/api/v1/progress"]!["post"]!;
        Assert.Contains(create["parameters"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "Idempotency-Key");
        Assert.Equal(["201", "400", "401", "403", "409", "413", "415", "422", "429", "503"], create["responses"]!.AsObject().Select(r => r.Key));
        var update = core["/api/v1/progress/{id}"]!["patch"]!;
        Assert.Contains(update["parameters"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "If-Match");
        Assert.NotNull(update["responses"]!["412"]);
        Assert.NotNull(update["responses"]!["200"]!["headers"]!["ETag"]);
        Assert.NotNull(core["/api/v1/users/{id}/roles"]!["put"]!["responses"]!["409"]);
        Assert.Null(core["/api/v1/web/config"]!["get"]!["responses"]!["503"]);
        Assert.NotNull(ai["/api/v1/recommendations/{userId}"]!["get"]!["responses"]!["404"]);
    }

    private static List<string> Roles(JsonNode operation) =>
        operation["security"]!.AsArray().Single()!["bearer"]!.AsArray().Select(r => r!.GetValue<string>()).ToList();

    private static IEnumerable<string> Differences(JsonNode? committed, JsonNode? served, string at)
    {
        switch (committed, served)
        {
            case (JsonObject a, JsonObject b):
                foreach (var key in a.Select(p => p.Key).Union(b.Select(p => p.Key)))
                {
                    if (!a.ContainsKey(key))
                    {
                        yield return $"{at}/{key}: served, not committed";
                    }
                    else if (!b.ContainsKey(key))
                    {
                        yield return $"{at}/{key}: committed, no longer served";
                    }
                    else
                    {
                        foreach (var difference in Differences(a[key], b[key], $"{at}/{key}"))
                        {
                            yield return difference;
                        }
                    }
                }
                break;
            default:
                if (!JsonNode.DeepEquals(committed, served))
                {
                    yield return $"{at}: committed {Short(committed)}, served {Short(served)}";
                }
                break;
        }
    }

    private static string Short(JsonNode? node)
    {
        var text = node?.ToJsonString() ?? "null";
        return text.Length > 120 ? text[..120] + "..." : text;
    }
}
