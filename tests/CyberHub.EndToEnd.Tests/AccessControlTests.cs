using System.Globalization;
using System.Net;
using System.Text.Json;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.EndToEnd.Tests.Infrastructure;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.EndToEnd.Tests;

/// <summary>
/// Object-level authorisation: every route of either service that takes a user or record id, tried by one learner
/// against another learner's data. The routes come from the services' OpenAPI documents, so a new route with an
/// id fails the coverage test until it has a row in <see cref="Routes"/>.
/// </summary>
public abstract class AccessControlTests<TPlatform>(TPlatform platform) where TPlatform : Platform
{
    /// <summary>The victim's data, and the learner who goes after it.</summary>
    public sealed record Scene(
        Learner Victim,
        Learner Member,
        Learner Attacker,
        HttpClient AttackerAi,
        ProgressDto Progress,
        OrganizationDto Organization,
        OrganizationInvitationDto Invitation,
        ServiceClientCreated ServiceClient,
        ContentItemDto CatalogItem);

    /// <summary>
    /// One row per route with an id, keyed "service METHOD path" as its OpenAPI document names it: what the
    /// attacker tries and the answer the API defines for it.
    /// </summary>
    private static readonly Dictionary<string, Func<Scene, Task>> Routes = new()
    {
        ["core GET /api/v1/users/{id}"] = async s =>
            await (await Core(s, HttpMethod.Get, $"/api/v1/users/{s.Victim.User.Id}/")).DetailAsync(HttpStatusCode.Forbidden),
        // Another learner's session: the same 404 as a session that does not exist, and it stays signed in.
        ["core DELETE /api/v1/users/me/sessions/{sessionId}"] = async s =>
        {
            var session = (await (await s.Victim.Client.GetAsync("/api/v1/users/me/sessions/")).ReadAsync<List<SessionDto>>())[0];
            await (await Core(s, HttpMethod.Delete, $"/api/v1/users/me/sessions/{session.Id}/")).DetailAsync(HttpStatusCode.NotFound);
            Assert.Contains((await (await s.Victim.Client.GetAsync("/api/v1/users/me/sessions/")).ReadAsync<List<SessionDto>>()), v => v.Id == session.Id);
        },
        ["core PUT /api/v1/users/{id}/roles"] = async s =>
        {
            await (await Core(s, HttpMethod.Put, $"/api/v1/users/{s.Victim.User.Id}/roles/", """{"roles":["learner"]}""")).DetailAsync(HttpStatusCode.Forbidden);
            await (await Core(s, HttpMethod.Put, $"/api/v1/users/{s.Attacker.User.Id}/roles/", """{"roles":["admin"]}""")).DetailAsync(HttpStatusCode.Forbidden);
        },
        ["core PATCH /api/v1/users/{id}"] = async s =>
        {
            await (await Core(s, HttpMethod.Patch, $"/api/v1/users/{s.Victim.User.Id}/", """{"is_active":false}""")).DetailAsync(HttpStatusCode.Forbidden);
            await (await Core(s, HttpMethod.Patch, $"/api/v1/users/{s.Attacker.User.Id}/", """{"is_active":true}""")).DetailAsync(HttpStatusCode.Forbidden);
        },
        ["core DELETE /api/v1/users/{id}"] = async s =>
            await (await Core(s, HttpMethod.Delete, $"/api/v1/users/{s.Victim.User.Id}/")).DetailAsync(HttpStatusCode.Forbidden),
        // An organization: an outsider gets the 404 of an organization that does not exist, on every route.
        ["core GET /api/v1/organizations/{id}"] = async s =>
            await (await Core(s, HttpMethod.Get, $"/api/v1/organizations/{s.Organization.Id}/")).DetailAsync(HttpStatusCode.NotFound),
        ["core GET /api/v1/organizations/{id}/members"] = async s =>
            await (await Core(s, HttpMethod.Get, $"/api/v1/organizations/{s.Organization.Id}/members/")).DetailAsync(HttpStatusCode.NotFound),
        ["core PATCH /api/v1/organizations/{id}/members/{userId}"] = async s =>
        {
            await (await Core(s, HttpMethod.Patch, $"/api/v1/organizations/{s.Organization.Id}/members/{s.Member.User.Id}/", """{"role":"member"}"""))
                .DetailAsync(HttpStatusCode.NotFound);
            await (await Core(s, HttpMethod.Patch, $"/api/v1/organizations/{s.Organization.Id}/members/{s.Attacker.User.Id}/", """{"role":"owner"}"""))
                .DetailAsync(HttpStatusCode.NotFound);
        },
        ["core POST /api/v1/organizations/{id}/invitations"] = async s =>
        {
            // Inviting themself as owner would let the attacker accept their own way in.
            await (await Core(s, HttpMethod.Post, $"/api/v1/organizations/{s.Organization.Id}/invitations/", $$"""{"email":"{{s.Attacker.User.Email}}","role":"owner"}"""))
                .DetailAsync(HttpStatusCode.NotFound);
            await (await Core(s, HttpMethod.Post, $"/api/v1/organizations/{s.Organization.Id}/invitations/", $$"""{"email":"{{s.Attacker.User.Email}}"}"""))
                .DetailAsync(HttpStatusCode.NotFound);
        },
        ["core GET /api/v1/organizations/{id}/invitations"] = async s =>
            await (await Core(s, HttpMethod.Get, $"/api/v1/organizations/{s.Organization.Id}/invitations/")).DetailAsync(HttpStatusCode.NotFound),
        ["core DELETE /api/v1/organizations/{id}/invitations/{invitationId}"] = async s =>
            await (await Core(s, HttpMethod.Delete, $"/api/v1/organizations/{s.Organization.Id}/invitations/{s.Invitation.Id}/")).DetailAsync(HttpStatusCode.NotFound),
        // Another's invitation is as absent as one that does not exist.
        ["core GET /api/v1/organizations/{id}/insights"] = async s =>
            await (await Core(s, HttpMethod.Get, $"/api/v1/organizations/{s.Organization.Id}/insights/")).DetailAsync(HttpStatusCode.NotFound),
        ["core GET /api/v1/organizations/{id}/insights/learners"] = async s =>
            await (await Core(s, HttpMethod.Get, $"/api/v1/organizations/{s.Organization.Id}/insights/learners/")).DetailAsync(HttpStatusCode.NotFound),
        ["core GET /api/v1/organizations/{id}/insights/items"] = async s =>
            await (await Core(s, HttpMethod.Get, $"/api/v1/organizations/{s.Organization.Id}/insights/items/")).DetailAsync(HttpStatusCode.NotFound),
        ["core GET /api/v1/organizations/{id}/insights/export.csv"] = async s =>
            await (await Core(s, HttpMethod.Get, $"/api/v1/organizations/{s.Organization.Id}/insights/export.csv")).DetailAsync(HttpStatusCode.NotFound),
        // A learner the attacker teaches nowhere: the same 404 as a learner that does not exist.
        ["core GET /api/v1/users/{id}/insights-access"] = async s =>
            await (await Core(s, HttpMethod.Get, $"/api/v1/users/{s.Victim.User.Id}/insights-access/")).DetailAsync(HttpStatusCode.NotFound),
        ["core POST /api/v1/organizations/invitations/{invitationId}/accept"] = async s =>
            await (await Core(s, HttpMethod.Post, $"/api/v1/organizations/invitations/{s.Invitation.Id}/accept/")).DetailAsync(HttpStatusCode.NotFound),
        ["core POST /api/v1/organizations/invitations/{invitationId}/decline"] = async s =>
            await (await Core(s, HttpMethod.Post, $"/api/v1/organizations/invitations/{s.Invitation.Id}/decline/")).DetailAsync(HttpStatusCode.NotFound),
        ["core DELETE /api/v1/organizations/{id}/members/{userId}"] = async s =>
        {
            await (await Core(s, HttpMethod.Delete, $"/api/v1/organizations/{s.Organization.Id}/members/{s.Member.User.Id}/")).DetailAsync(HttpStatusCode.NotFound);
            await (await Core(s, HttpMethod.Delete, $"/api/v1/organizations/{s.Organization.Id}/members/{s.Victim.User.Id}/")).DetailAsync(HttpStatusCode.NotFound);
        },
        ["core GET /api/v1/progress/{id}"] = async s =>
            await (await Core(s, HttpMethod.Get, $"/api/v1/progress/{s.Progress.Id}/")).DetailAsync(HttpStatusCode.Forbidden),
        ["core PATCH /api/v1/progress/{id}"] = async s =>
            await (await Core(s, HttpMethod.Patch, $"/api/v1/progress/{s.Progress.Id}/", """{"status":"completed","score":1,"metadata":{"owned":true}}"""))
                .DetailAsync(HttpStatusCode.Forbidden),
        ["core DELETE /api/v1/progress/{id}"] = async s =>
            await (await Core(s, HttpMethod.Delete, $"/api/v1/progress/{s.Progress.Id}/")).DetailAsync(HttpStatusCode.Forbidden),
        ["core GET /api/v1/progress"] = async s =>
            await (await Core(s, HttpMethod.Get, $"/api/v1/progress/?user={s.Victim.User.Id}")).DetailAsync(HttpStatusCode.Forbidden),
        ["core POST /api/v1/progress"] = async s =>
        {
            // A user_id in the body is not a field: the record is the caller's own.
            var created = await (await Core(s, HttpMethod.Post, "/api/v1/progress/",
                $$"""{"user_id":{{s.Victim.User.Id}},"content_id":"{{s.Progress.ContentId}}","content_type":"{{s.Progress.ContentType}}","status":"completed"}"""))
                .ReadAsync<ProgressDto>(HttpStatusCode.Created);
            Assert.Equal(s.Attacker.User.Id, created.UserId);
        },
        ["core DELETE /api/v1/service-clients/{clientId}"] = async s =>
            await (await Core(s, HttpMethod.Delete, $"/api/v1/service-clients/{s.ServiceClient.ClientId}/")).DetailAsync(HttpStatusCode.Forbidden),
        ["core POST /api/v1/token/service"] = async s =>
            // Anonymous by design: the id is only half of a credential, and a guessed secret gets nothing.
            await (await Core(s, HttpMethod.Post, "/api/v1/token/service/", $$"""{"client_id":"{{s.ServiceClient.ClientId}}","client_secret":"a-guess"}"""))
                .DetailAsync(HttpStatusCode.Unauthorized),

        ["ai GET /api/v1/recommendations/{userId}"] = async s =>
            await (await Ai(s, HttpMethod.Get, $"/api/v1/recommendations/{s.Victim.User.Id}")).DetailAsync(HttpStatusCode.Forbidden),
        ["ai POST /api/v1/recommendations"] = async s =>
            await (await Ai(s, HttpMethod.Post, "/api/v1/recommendations", $$"""{"user_id":{{s.Victim.User.Id}},"limit":5}""")).DetailAsync(HttpStatusCode.Forbidden),
        ["ai POST /api/v1/personality/analyze"] = async s =>
        {
            await (await Ai(s, HttpMethod.Post, "/api/v1/personality/analyze", $$"""{"user_id":{{s.Victim.User.Id}}}""")).DetailAsync(HttpStatusCode.Forbidden);
            // Given records would overwrite the victim's stored analysis with whatever the attacker made up.
            await (await Ai(s, HttpMethod.Post, "/api/v1/personality/analyze", $$"""
                {"user_id":{{s.Victim.User.Id}},"progress_data":[{"content_id":"made-up","content_type":"lab","status":"not_started"}]}
                """)).DetailAsync(HttpStatusCode.Forbidden);
        },
        ["ai GET /api/v1/personality/{userId}"] = async s =>
            await (await Ai(s, HttpMethod.Get, $"/api/v1/personality/{s.Victim.User.Id}")).DetailAsync(HttpStatusCode.Forbidden),
        ["ai GET /api/v1/content/{contentType}/{contentId}"] = async s =>
            // The catalog belongs to no learner: every signed-in caller reads it.
            await (await Ai(s, HttpMethod.Get, $"/api/v1/content/{s.CatalogItem.ContentType}/{s.CatalogItem.ContentId}")).ReadAsync<ContentItemDto>(),
        ["ai DELETE /api/v1/content/{contentType}/{contentId}"] = async s =>
            await (await Ai(s, HttpMethod.Delete, $"/api/v1/content/{s.CatalogItem.ContentType}/{s.CatalogItem.ContentId}")).DetailAsync(HttpStatusCode.Forbidden),
        ["ai POST /api/v1/embeddings/store"] = async s =>
            await (await Ai(s, HttpMethod.Post, "/api/v1/embeddings/store", $$"""
                {"texts":["Replaced."],"content_type":"{{s.CatalogItem.ContentType}}","content_id":"{{s.CatalogItem.ContentId}}","title":"Replaced","description":"Replaced."}
                """)).DetailAsync(HttpStatusCode.Forbidden),
        ["ai POST /api/v1/sync/progress-events"] = async s =>
            await (await Ai(s, HttpMethod.Post, "/api/v1/sync/progress-events", $$"""
                {"events":[{"event_id":"{{Guid.NewGuid()}}","sequence":1,"type":"progress.deleted","user_id":{{s.Victim.User.Id}},
                  "occurred_at":"2026-01-01T00:00:00Z","progress":{{JsonSerializer.Serialize(s.Progress, CyberHubJson.Options)}}}]}
                """)).DetailAsync(HttpStatusCode.Forbidden),
    };

    [Fact]
    public async Task Every_route_with_an_id_in_either_openapi_document_has_a_row_in_the_table()
    {
        var found = new List<string>();
        foreach (var (service, client) in new[] { ("core", platform.Core.CreateClient()), ("ai", platform.Ai.CreateClient()) })
        {
            using (client)
            {
                using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));
                found.AddRange(RoutesWithIds(document.RootElement).Select(r => $"{service} {r}"));
            }
        }

        Assert.Contains("core GET /api/v1/progress/{id}", found);
        Assert.Contains("ai POST /api/v1/recommendations", found);
        var missing = found.Except(Routes.Keys).ToList();
        Assert.True(missing.Count == 0, $"Routes with an id and no access-control row: {string.Join(", ", missing)}");
        var stale = Routes.Keys.Except(found).ToList();
        Assert.True(stale.Count == 0, $"Rows for routes the documents no longer have: {string.Join(", ", stale)}");
    }

    [Fact]
    public async Task A_learner_gets_the_defined_refusal_on_every_route_with_another_learners_id_and_nothing_changes()
    {
        var scene = await SetUpAsync();
        var before = await SnapshotAsync(scene);

        foreach (var (route, attack) in Routes)
        {
            try
            {
                await attack(scene);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new Xunit.Sdk.XunitException($"{route}: {e.Message}");
            }
        }

        var after = await SnapshotAsync(scene);
        foreach (var (what, value) in before)
        {
            Assert.True(value == after[what], $"{what} changed:\n{value}\n{after[what]}");
        }
        using var me = scene.Attacker.Client;
        Assert.Equal([Roles.Learner], (await (await me.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>()).Roles);
    }

    private async Task<Scene> SetUpAsync()
    {
        var victim = await platform.Core.RegisterAsync("victim");
        var member = await platform.Core.RegisterAsync("member");
        var attacker = await platform.Core.RegisterAsync("attacker");
        using var admin = await platform.Core.AdminClientAsync();
        using var adminAi = await platform.AdminAiClientAsync();

        var progress = await (await victim.Client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest("web-security-101", "course", ProgressStatus.InProgress, 40, null, 600, null))).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        var slug = $"victims-{Guid.NewGuid():N}"[..24];
        var organization = await (await victim.Client.PostJsonAsync("/api/v1/organizations/", new CreateOrganizationRequest("Victim's team", slug, "")))
            .ReadAsync<OrganizationDto>(HttpStatusCode.Created);
        var joining = await (await victim.Client.PostJsonAsync($"/api/v1/organizations/{organization.Id}/invitations/", new CreateInvitationRequest(member.User.Email, null)))
            .ReadAsync<OrganizationInvitationDto>(HttpStatusCode.Created);
        await (await member.Client.PostAsync($"/api/v1/organizations/invitations/{joining.Id}/accept/", null)).ReadAsync<OrganizationDto>();
        var invitation = await (await victim.Client.PostJsonAsync($"/api/v1/organizations/{organization.Id}/invitations/",
            new CreateInvitationRequest($"friend-{Guid.NewGuid():N}@example.com", "owner"))).ReadAsync<OrganizationInvitationDto>(HttpStatusCode.Created);
        var serviceClient = await (await admin.PostJsonAsync("/api/v1/service-clients/", new CreateServiceClientRequest("reporting job")))
            .ReadAsync<ServiceClientCreated>(HttpStatusCode.Created);
        var item = (await (await adminAi.GetAsync("/api/v1/content/?page_size=1")).ReadAsync<PagedResponse<ContentItemDto>>()).Results.Single();

        // The progress event reaches AI (which then drops the victim's cached analysis) before the analysis is made.
        await Platform.EventuallyAsync(async () =>
        {
            await using var scope = platform.Core.Services.CreateAsyncScope();
            return !await scope.ServiceProvider.GetRequiredService<CoreDbContext>().OutboxEvents
                .AnyAsync(e => e.UserId == victim.User.Id && e.DeliveredAt == null);
        }, "the victim's progress event is delivered");
        await (await platform.AiClient(victim.Access).PostJsonAsync("/api/v1/personality/analyze", new PersonalityRequest(victim.User.Id, null)))
            .ReadAsync<PersonalityAnalysis>();

        return new Scene(victim, member, attacker, platform.AiClient(attacker.Access), progress, organization, invitation, serviceClient, item);
    }

    /// <summary>The victim's data as its owner (or an admin) sees it, raw.</summary>
    private async Task<Dictionary<string, string>> SnapshotAsync(Scene s)
    {
        using var admin = await platform.Core.AdminClientAsync();
        using var adminAi = await platform.AdminAiClientAsync();
        using var victimAi = platform.AiClient(s.Victim.Access);
        var reads = new Dictionary<string, (HttpClient Client, string Url)>
        {
            ["victim's profile"] = (s.Victim.Client, "/api/v1/users/me/"),
            ["victim's progress record"] = (s.Victim.Client, $"/api/v1/progress/{s.Progress.Id}/"),
            ["victim's progress list"] = (s.Victim.Client, $"/api/v1/progress/?user={s.Victim.User.Id}"),
            ["the organization"] = (s.Victim.Client, $"/api/v1/organizations/{s.Organization.Id}/"),
            ["its members"] = (s.Victim.Client, $"/api/v1/organizations/{s.Organization.Id}/members/"),
            ["its invitations"] = (s.Victim.Client, $"/api/v1/organizations/{s.Organization.Id}/invitations/"),
            ["victim's analysis"] = (victimAi, $"/api/v1/personality/{s.Victim.User.Id}"),
            ["service clients"] = (admin, "/api/v1/service-clients/"),
            ["the catalog item"] = (adminAi, $"/api/v1/content/{s.CatalogItem.ContentType}/{s.CatalogItem.ContentId}"),
        };
        var snapshot = new Dictionary<string, string>();
        foreach (var (what, (client, url)) in reads)
        {
            using var response = await client.GetAsync(url);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{what}: {(int)response.StatusCode} {body}");
            snapshot[what] = $"{response.Headers.ETag} {body}";
        }
        return snapshot;
    }

    private static Task<HttpResponseMessage> Core(Scene s, HttpMethod method, string url, string? body = null) => SendAsync(s.Attacker.Client, method, url, body);

    private static Task<HttpResponseMessage> Ai(Scene s, HttpMethod method, string url, string? body = null) => SendAsync(s.AttackerAi, method, url, body);

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string url, string? body)
    {
        using var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }
        return await client.SendAsync(request);
    }

    /// <summary>
    /// "METHOD path" of each operation that names a user or record: a path parameter, a query parameter such as
    /// <c>user</c>, or an id anywhere in its request body's schema.
    /// </summary>
    private static IEnumerable<string> RoutesWithIds(JsonElement document)
    {
        var schemas = document.TryGetProperty("components", out var components) && components.TryGetProperty("schemas", out var s) ? s : default;
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var names = new List<string>();
                if (operation.Value.TryGetProperty("parameters", out var parameters))
                {
                    names.AddRange(parameters.EnumerateArray()
                        .Where(p => p.GetProperty("in").GetString() == "path" || IsId(p.GetProperty("name").GetString()!))
                        .Select(p => p.GetProperty("name").GetString()!));
                }
                if (operation.Value.TryGetProperty("requestBody", out var requestBody))
                {
                    names.AddRange(PropertyNames(requestBody, schemas, []).Where(IsId));
                }
                if (names.Count > 0)
                {
                    yield return $"{operation.Name.ToUpperInvariant()} {path.Name}";
                }
            }
        }
    }

    private static bool IsId(string name) =>
        name is "id" or "user" || name.EndsWith("_id", StringComparison.Ordinal) || name.EndsWith("Id", StringComparison.Ordinal);

    /// <summary>Every property name in a schema, following <c>$ref</c>s, items and nested objects.</summary>
    private static IEnumerable<string> PropertyNames(JsonElement node, JsonElement schemas, HashSet<string> seen)
    {
        switch (node.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in node.EnumerateObject())
                {
                    if (property.Name == "$ref" && property.Value.GetString() is { } reference && seen.Add(reference))
                    {
                        var name = reference[(reference.LastIndexOf('/') + 1)..];
                        if (schemas.ValueKind == JsonValueKind.Object && schemas.TryGetProperty(name, out var target))
                        {
                            foreach (var inner in PropertyNames(target, schemas, seen))
                            {
                                yield return inner;
                            }
                        }
                    }
                    if (property.Name == "properties" && property.Value.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var field in property.Value.EnumerateObject())
                        {
                            yield return field.Name;
                        }
                    }
                    foreach (var inner in PropertyNames(property.Value, schemas, seen))
                    {
                        yield return inner;
                    }
                }
                break;
            case JsonValueKind.Array:
                foreach (var element in node.EnumerateArray())
                {
                    foreach (var inner in PropertyNames(element, schemas, seen))
                    {
                        yield return inner;
                    }
                }
                break;
        }
    }
}

public sealed class EmbeddedAccessControlTests(EmbeddedPlatform platform) : AccessControlTests<EmbeddedPlatform>(platform), IClassFixture<EmbeddedPlatform>;

public sealed class PostgresAccessControlTests(PostgresPlatform platform) : AccessControlTests<PostgresPlatform>(platform), IClassFixture<PostgresPlatform>;
