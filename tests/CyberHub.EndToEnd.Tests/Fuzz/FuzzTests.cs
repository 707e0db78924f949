using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.EndToEnd.Tests.Infrastructure;
using CyberHub.ServiceDefaults.Limits;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace CyberHub.EndToEnd.Tests.Fuzz;

/// <summary>
/// Sends malformed requests, generated from both services' own OpenAPI documents, to every operation, as an admin
/// (so that requests get past authorization to the validation), as a learner, anonymously and with a forged token.
/// <para>
/// Policy. Every request the generator makes carries one defect the contract refuses (see <see cref="OpenApiFuzzer"/>),
/// starting from a valid request against things that exist, so that the defect is what is judged. The answer must
/// not be a 5xx; a 4xx must be exactly <c>{"detail", "request_id"}</c> (<see cref="Http.DetailAsync"/>), except the
/// bare 400 Kestrel itself gives a request line with a percent-encoded NUL in its path, before any CyberHub code runs.
/// A 2xx is allowed only where the contract accepts the defect on purpose and writes nothing: revoking a refresh
/// token that is no token is 204 whatever its text, so that logging out never fails. Everything stored (every Core
/// row, the AI catalog, the learners' AI profiles) is compared after every single request with the state before it:
/// no request of the run, refused or tolerated, may change anything, and a change names the request that made it.
/// </para>
/// <para>
/// Reproducible and bounded: request <c>n</c> of an operation depends only on the seed, so a failure prints the seed
/// and the exact request, and <c>CYBERHUB_FUZZ_SEED</c>, <c>CYBERHUB_FUZZ_OPERATION</c> and <c>CYBERHUB_FUZZ_VARIANT</c>
/// replay it alone. The seed is fixed unless <c>CYBERHUB_FUZZ_SEED</c> says otherwise (<c>random</c> picks one and
/// prints it). At most <c>CYBERHUB_FUZZ_REQUESTS</c> requests per operation (default 40), sent round-robin across the
/// operations, for at most <c>CYBERHUB_FUZZ_SECONDS</c> (default 60) per platform.
/// </para>
/// </summary>
public abstract class FuzzTests<TPlatform>(TPlatform platform, ITestOutputHelper output) where TPlatform : Platform
{
    private const int MaxReportedFailures = 20;

    /// <summary>Defects the contract accepts without writing anything (see the class summary).</summary>
    private static readonly string[] TolerantOperations = ["core POST /api/v1/token/revoke"];

    [Fact]
    public async Task Malformed_requests_to_every_operation_are_refused_with_a_detail_and_change_nothing()
    {
        var settings = FuzzSettings.FromEnvironment();
        output.WriteLine($"Fuzz seed {settings.Seed} (replay with CYBERHUB_FUZZ_SEED={settings.Seed}); at most {settings.RequestsPerOperation} " +
            $"requests per operation, {settings.Budget.TotalSeconds:0} s");
        var targets = await FuzzTargets.CreateAsync(platform);
        var operations = (await targets.OperationsAsync())
            .Where(o => settings.Operation is null || o.Key.Contains(settings.Operation, StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(operations);
        var fuzzer = new OpenApiFuzzer(settings.Seed, targets.Context);
        var plan = operations.ToDictionary(o => o.Key, o => settings.Variant is { } only
            ? fuzzer.Variant(o, only) is { } one ? [one] : []
            : fuzzer.Generate(o, settings.RequestsPerOperation));
        var idle = plan.Where(p => p.Value.Count == 0).Select(p => p.Key).ToList();
        output.WriteLine($"{operations.Count} operations; nothing to malform in: {string.Join(", ", idle)}");

        var clock = Stopwatch.StartNew();
        var before = await DatabaseSnapshot.TakeAsync(platform, targets.Learners);
        var failures = new List<string>();
        var statuses = new SortedDictionary<int, int>();
        var tolerated = new List<string>();
        var sent = 0;
        var snapshotTime = TimeSpan.Zero;
        var queues = plan.Values.Where(q => q.Count > 0).Select(q => new Queue<FuzzRequest>(q)).ToList();
        while (queues.Any(q => q.Count > 0) && clock.Elapsed < settings.Budget)
        {
            foreach (var queue in queues.Where(q => q.Count > 0))
            {
                var request = queue.Dequeue();
                var (status, problem, answer) = await SendAndCheckAsync(targets, request);
                if (settings.Verbose)
                {
                    output.WriteLine($"{request.Operation} #{request.Variant} as {request.Caller} ({request.Defect}) -> {answer}");
                }
                sent++;
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
                if (status is >= 200 and < 300)
                {
                    tolerated.Add($"{request.Operation}: {request.Defect} -> {status}");
                    if (!TolerantOperations.Contains(request.Operation))
                    {
                        problem ??= $"accepted with {status}, but the request is malformed";
                    }
                }
                var snapshotStart = clock.Elapsed;
                var after = await DatabaseSnapshot.TakeAsync(platform, targets.Learners);
                snapshotTime += clock.Elapsed - snapshotStart;
                if (!after.SameAs(before))
                {
                    problem = (problem is null ? "" : problem + "; ") + "it changed the database:\n    " + string.Join("\n    ", after.Differences(before));
                    before = after;
                }
                if (problem is not null && failures.Count < MaxReportedFailures)
                {
                    failures.Add($"{request.Describe(targets.BaseAddress(request.Service))}  -> {problem}");
                }
            }
        }

        output.WriteLine($"{sent} requests in {clock.Elapsed.TotalSeconds:0.0} s ({sent / clock.Elapsed.TotalSeconds:0} per second); " +
            $"{queues.Sum(q => q.Count)} left unsent at the time limit; a snapshot of {before.Lines} stored lines after each " +
            $"({snapshotTime.TotalSeconds:0.0} s in all)");
        output.WriteLine("answers: " + string.Join(", ", statuses.Select(s => $"{s.Key} x{s.Value}")));
        output.WriteLine($"tolerated (2xx) {tolerated.Count}: " + string.Join("; ", tolerated.Distinct().Take(20)));
        Assert.True(failures.Count == 0,
            $"Seed {settings.Seed}: {failures.Count}{(failures.Count == MaxReportedFailures ? "+" : "")} malformed requests were mishandled:\n\n" +
            string.Join("\n", failures));
        // A run that reached no validation would prove nothing.
        Assert.True(statuses.GetValueOrDefault(400) > sent / 4, $"Only {statuses.GetValueOrDefault(400)} of {sent} requests were answered 400.");
    }

    private static async Task<(int Status, string? Problem, string Answer)> SendAndCheckAsync(FuzzTargets targets, FuzzRequest request)
    {
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), targets.Url(request));
        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(request.Body);
            // A body the server refuses unread would otherwise be cut off mid-upload by the closing connection.
            message.Headers.ExpectContinue = request.Body.Length > 256 * 1024;
            if (request.ContentType is not null)
            {
                message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
            }
        }
        HttpResponseMessage response;
        try
        {
            response = await targets.Client(request.Service, request.Caller).SendAsync(message);
        }
        catch (HttpRequestException e)
        {
            return (0, $"no answer: {e.Message}", e.Message);
        }
        using (response)
        {
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync();
            var answer = $"{status} {response.Content.Headers.ContentType} {(body.Length > 300 ? body[..300] + "..." : body)}";
            if (request.RefusedByKestrel && status == 400 && body.Length == 0)
            {
                return (status, null, answer);
            }
            if (status >= 500 || status < 200 || status is >= 300 and < 400)
            {
                return (status, $"answered {answer}", answer);
            }
            if (status >= 400)
            {
                try
                {
                    await response.DetailAsync(response.StatusCode);
                }
                catch (XunitException e)
                {
                    return (status, $"answered {answer}, not {{\"detail\", \"request_id\"}}: {e.Message.ReplaceLineEndings(" ")}", answer);
                }
            }
            if (body.Length > 0 && response.Content.Headers.ContentType?.MediaType != "application/json")
            {
                return (status, $"answered {answer} as {response.Content.Headers.ContentType}, not application/json", answer);
            }
            return (status, null, answer);
        }
    }
}

public sealed class EmbeddedFuzzTests(EmbeddedPlatform platform, ITestOutputHelper output)
    : FuzzTests<EmbeddedPlatform>(platform, output), IClassFixture<EmbeddedPlatform>;

public sealed class PostgresFuzzTests(PostgresPlatform platform, ITestOutputHelper output)
    : FuzzTests<PostgresPlatform>(platform, output), IClassFixture<PostgresPlatform>;

/// <summary>The run's knobs, from the environment (see <see cref="FuzzTests{TPlatform}"/>).</summary>
public sealed record FuzzSettings(int Seed, int RequestsPerOperation, TimeSpan Budget, string? Operation, int? Variant, bool Verbose)
{
    public const int DefaultSeed = 20261127;

    public static FuzzSettings FromEnvironment()
    {
        static string? Get(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
        var seed = Get("CYBERHUB_FUZZ_SEED") switch
        {
            null => DefaultSeed,
            "random" => Random.Shared.Next(),
            var text => int.Parse(text, System.Globalization.CultureInfo.InvariantCulture),
        };
        return new FuzzSettings(
            seed,
            Get("CYBERHUB_FUZZ_REQUESTS") is { } requests ? int.Parse(requests, System.Globalization.CultureInfo.InvariantCulture) : 40,
            TimeSpan.FromSeconds(Get("CYBERHUB_FUZZ_SECONDS") is { } seconds ? double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture) : 60),
            Get("CYBERHUB_FUZZ_OPERATION"),
            Get("CYBERHUB_FUZZ_VARIANT") is { } variant ? int.Parse(variant, System.Globalization.CultureInfo.InvariantCulture) : null,
            Get("CYBERHUB_FUZZ_VERBOSE") is "1" or "true");
    }
}

/// <summary>
/// What the run aims at: one learner who owns a progress record and an organization (with a second member), a
/// third learner invited to it, a service client, a catalog item, valid bodies for every operation that takes one, and a
/// client per service and caller.
/// </summary>
public sealed class FuzzTargets
{
    private readonly Platform _platform;
    private readonly Dictionary<(string, Caller), HttpClient> _clients = [];
    private readonly Dictionary<string, JsonNode> _bodies = [];
    private readonly Dictionary<string, string> _pathValues = [];

    private FuzzTargets(Platform platform) => _platform = platform;

    public IReadOnlyList<long> Learners { get; private set; } = [];
    public FuzzContext Context { get; private set; } = null!;

    public static async Task<FuzzTargets> CreateAsync(Platform platform)
    {
        var targets = new FuzzTargets(platform);
        await targets.SetUpAsync();
        return targets;
    }

    public Uri BaseAddress(string service) => service == "core" ? _platform.Core.BaseAddress : _platform.Ai.BaseAddress;

    /// <summary>The request's target exactly as generated: no re-encoding, no dot-segment removal.</summary>
    public Uri Url(FuzzRequest request) =>
        new(BaseAddress(request.Service).GetLeftPart(UriPartial.Authority) + request.Target,
            new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });

    public HttpClient Client(string service, Caller caller) => _clients[(service, caller)];

    public async Task<IReadOnlyList<ApiOperation>> OperationsAsync()
    {
        var operations = new List<ApiOperation>();
        foreach (var service in new[] { "core", "ai" })
        {
            var document = JsonNode.Parse(await Client(service, Caller.Anonymous).GetStringAsync("/openapi/v1.json"))!;
            operations.AddRange(OpenApiDocument.Operations(service, document));
        }
        return operations;
    }

    private async Task SetUpAsync()
    {
        var core = _platform.Core;
        using var anonymous = core.CreateClient();
        var adminPair = await (await anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(CoreServer.AdminEmail, null, CoreServer.AdminPassword)))
            .ReadAsync<TokenPair>();
        var owner = await core.RegisterAsync("fuzzowner");
        var member = await core.RegisterAsync("fuzzmember");
        var outsider = await core.RegisterAsync("fuzzoutsider");
        Learners = [owner.User.Id, member.User.Id, outsider.User.Id];

        foreach (var service in new[] { "core", "ai" })
        {
            foreach (var caller in Enum.GetValues<Caller>())
            {
                var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = BaseAddress(service), Timeout = TimeSpan.FromSeconds(60) };
                var token = caller switch
                {
                    Caller.Admin => adminPair.Access,
                    Caller.Learner => owner.Access,
                    Caller.Forged => "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiIxIiwicm9sZXMiOlsiYWRtaW4iXX0.",
                    _ => null,
                };
                if (token is not null)
                {
                    client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
                }
                _clients[(service, caller)] = client;
            }
        }
        var admin = Client("core", Caller.Admin);
        var suffix = Guid.NewGuid().ToString("N")[..8];

        var organization = await (await owner.Client.PostJsonAsync("/api/v1/organizations/", new CreateOrganizationRequest("Fuzz org", $"fuzz-{suffix}", null)))
            .ReadAsync<OrganizationDto>(HttpStatusCode.Created);
        var joining = await (await owner.Client.PostJsonAsync($"/api/v1/organizations/{organization.Id}/invitations/", new CreateInvitationRequest(member.User.Email, null)))
            .ReadAsync<OrganizationInvitationDto>(HttpStatusCode.Created);
        (await member.Client.PostAsync($"/api/v1/organizations/invitations/{joining.Id}/accept/", null)).EnsureSuccessStatusCode();
        var invitation = await (await owner.Client.PostJsonAsync($"/api/v1/organizations/{organization.Id}/invitations/", new CreateInvitationRequest(outsider.User.Email, null)))
            .ReadAsync<OrganizationInvitationDto>(HttpStatusCode.Created);
        var progress = await (await owner.Client.PostJsonAsync("/api/v1/progress/", new CreateProgressRequest("fuzz-target", "lesson", ProgressStatus.InProgress, 30, null, 60, null)))
            .ReadAsync<ProgressDto>(HttpStatusCode.Created);
        var serviceClient = await (await admin.PostJsonAsync("/api/v1/service-clients/", new CreateServiceClientRequest("fuzz client")))
            .ReadAsync<ServiceClientCreated>(HttpStatusCode.Created);
        (await Client("ai", Caller.Admin).PostJsonAsync("/api/v1/embeddings/store",
            new StoreEmbeddingsRequest(["A lab about fuzzing HTTP APIs."], "lab", "fuzz-target", "Fuzzing", "Malformed input, on purpose.", null))).EnsureSuccessStatusCode();

        // The outbox delivers the setup's progress event to AI, which stores the owner's profile: let that settle first.
        await Platform.EventuallyAsync(async () =>
        {
            await using var scope = core.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
            return !await db.OutboxEvents.AnyAsync(e => e.DeliveredAt == null && e.FailedAt == null);
        }, "the setup's progress events were delivered");

        _pathValues["core /api/v1/users/{id}|id"] = $"{owner.User.Id}";
        _pathValues["core /api/v1/users/{id}/roles|id"] = $"{owner.User.Id}";
        _pathValues["core|id"] = $"{organization.Id}";
        _pathValues["core|userId"] = $"{member.User.Id}";
        _pathValues["core|invitationId"] = $"{invitation.Id}";
        _pathValues["core /api/v1/progress/{id}|id"] = $"{progress.Id}";
        _pathValues["core|clientId"] = serviceClient.ClientId;
        _pathValues["ai|contentType"] = "lab";
        _pathValues["ai|contentId"] = "fuzz-target";
        _pathValues["ai|userId"] = $"{owner.User.Id}";

        _bodies["core POST /api/v1/token"] = Node(new { email = $"nobody-{suffix}@example.com", password = "not the password 1" });
        _bodies["core POST /api/v1/token/refresh"] = Node(new { refresh = owner.Refresh });
        _bodies["core POST /api/v1/token/revoke"] = Node(new { refresh = owner.Refresh });
        _bodies["core POST /api/v1/token/service"] = Node(new { client_id = serviceClient.ClientId, client_secret = serviceClient.ClientSecret });
        _bodies["core POST /api/v1/service-clients"] = Node(new { name = "another fuzz client" });
        _bodies["core POST /api/v1/users"] = Node(new { email = $"fuzz-{suffix}@example.com", username = $"fuzz{suffix}", password = "a long passphrase 1", first_name = "Fuzz", last_name = "New" });
        _bodies["core PATCH /api/v1/users/me"] = Node(new { first_name = "Ann", last_name = "Lee", bio = "Learns by doing.", avatar_url = "https://example.com/ann.png" });
        _bodies["core POST /api/v1/users/me/password"] = Node(new { current_password = CoreServer.AdminPassword, new_password = "another long passphrase" });
        _bodies["core PUT /api/v1/users/{id}/roles"] = Node(new { roles = new[] { "learner", "content_creator" } });
        // The owner is active already: the valid body changes nothing, so only the defect is judged.
        _bodies["core PATCH /api/v1/users/{id}"] = Node(new { is_active = true });
        _bodies["core POST /api/v1/organizations"] = Node(new { name = "Another org", slug = $"another-{suffix}", description = "Made by the fuzzer." });
        _bodies["core POST /api/v1/organizations/{id}/invitations"] = Node(new { email = $"invitee-{suffix}@example.com", role = "instructor" });
        _bodies["core PATCH /api/v1/organizations/{id}/members/{userId}"] = Node(new { role = "instructor" });
        _bodies["core POST /api/v1/progress"] = Node(new
        {
            content_id = "fuzz-new", content_type = "lesson", status = "in_progress", completion_percentage = 40, score = 75.5,
            time_spent_seconds = 300, metadata = new { device = "laptop", tags = new[] { "a", "b" } },
        });
        _bodies["core PATCH /api/v1/progress/{id}"] = Node(new
        {
            status = "in_progress", completion_percentage = 60, score = 80, time_spent_seconds = 600, metadata = new { device = "phone" },
        });
        _bodies["ai POST /api/v1/sync/progress-events"] = Node(new
        {
            events = new[]
            {
                new
                {
                    event_id = Guid.NewGuid(), sequence = 1_000_000, type = "progress.updated", user_id = owner.User.Id, occurred_at = DateTime.UtcNow,
                    progress = progress with { ContentId = "fuzz-sync", Score = 90, Metadata = new JsonObject { ["k"] = "v" } },
                },
            },
        });
        _bodies["ai POST /api/v1/embeddings"] = Node(new { texts = new[] { "How does a TLS handshake work?", "Stopping SQL injection." } });
        _bodies["ai POST /api/v1/embeddings/store"] = Node(new
        {
            texts = new[] { "Fuzzing web APIs with malformed input." }, content_type = "lab", content_id = "fuzz-new-item",
            title = "Fuzzing", description = "Malformed input.", metadata = new { topic = "testing", level = "beginner" },
        });
        _bodies["ai POST /api/v1/content/search"] = Node(new { query = "sql injection", content_type = "lab", limit = 5 });
        _bodies["ai POST /api/v1/personality/analyze"] = Node(new
        {
            user_id = owner.User.Id,
            progress_data = new[]
            {
                new
                {
                    content_id = "encrypting-files-with-aes-gcm", content_type = "lab", status = "completed", completion_percentage = 100, score = 88,
                    time_spent_seconds = 3000, started_at = "2026-03-01T18:00:00Z", completed_at = "2026-03-02T19:00:00Z", metadata = new { k = "v" },
                },
            },
        });
        _bodies["ai POST /api/v1/recommendations"] = Node(new { user_id = owner.User.Id, content_type = "lab", limit = 5 });

        Context = new FuzzContext
        {
            PathValue = (operation, name) =>
                _pathValues.GetValueOrDefault($"{operation.Service} {operation.Path}|{name}") ?? _pathValues.GetValueOrDefault($"{operation.Service}|{name}"),
            ValidBody = operation => _bodies.GetValueOrDefault(operation.Key),
            MaxBodyBytes = service => service == "core" ? RequestLimits.CoreMaxRequestBodyBytes : RequestLimits.AiMaxRequestBodyBytes,
        };
    }

    private static JsonNode Node<T>(T value) => JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(value, CyberHubJson.Options))!;
}
