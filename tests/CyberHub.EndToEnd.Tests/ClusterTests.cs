using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using CyberHub.Ai.Recommendations;
using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.EndToEnd.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace CyberHub.EndToEnd.Tests;

/// <summary>
/// The deployment of scripts/cluster.sh, used as users use it: every request through nginx, while one Core and
/// one AI instance are killed mid-run. A client retries a failed request a few times; after that nothing may
/// have failed and nothing acknowledged may be lost.
/// </summary>
public sealed partial class ClusterTests(ITestOutputHelper output)
{
    private const int LearnerCount = 6;
    private const int RecordsPerLearner = 5;

    [Fact]
    public async Task A_learner_journey_through_nginx_loses_nothing_when_an_instance_of_each_service_is_killed()
    {
        var clock = Stopwatch.StartNew();
        await using var cluster = await Cluster.StartAsync(new Dictionary<string, string>
        {
            // The killed Core's claimed events wait out its lease before the survivor delivers them.
            ["Outbox__LeaseDuration"] = "00:00:06",
            ["Outbox__PollInterval"] = "00:00:00.200",
            ["Outbox__MinBackoff"] = "00:00:00.200",
            ["Outbox__MaxBackoff"] = "00:00:02",
            // The journey reads and progresses through the demo catalog's lessons.
            ["CYBERHUB_SEED_DEMO_CATALOG"] = "true",
            // Every learner logs in from this one loopback address, many times over with the retries.
            ["RateLimiting__AuthPerMinute"] = "1000",
            // A login that dies with its instance stays counted as a failure (it was never verified), and its retry
            // counts again on the survivor: room for every in-flight login twice over.
            ["Auth__LoginThrottle__FreeFailures"] = $"{2 * KillLogins + 1}",
        });
        output.WriteLine($"cluster up in {clock.Elapsed.TotalSeconds:F1} s");
        try
        {
            await JourneyAsync(cluster);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\n\n{cluster.Diagnostics()}", e);
        }
        output.WriteLine($"done in {clock.Elapsed.TotalSeconds:F1} s");
    }

    private async Task JourneyAsync(Cluster cluster)
    {
        var clock = Stopwatch.StartNew();
        using var door = new FrontDoor(cluster.FrontDoor);
        var (probe, lessons) = await CheckEveryInstanceAcceptsOneTokenAsync(cluster, door);

        // Six learners at once; when about a third of their requests are done, core-1 and ai-1 die.
        var expectedRequests = LearnerCount * (7 + RecordsPerLearner * 3);
        var killed = KillMidFlightAsync(cluster, door, probe, expectedRequests / 3);
        var learners = await Task.WhenAll(Enumerable.Range(0, LearnerCount).Select(n => LearnerAsync(door, n, lessons)));
        await killed;

        output.WriteLine($"journeys done in {clock.Elapsed.TotalSeconds:F1} s");
        output.WriteLine($"{door.Requests} requests through nginx, {door.AfterKill} after the kill; {door.Retries.Count} retried:");
        foreach (var retry in door.Retries)
        {
            output.WriteLine($"  {retry}");
        }
        Assert.True(door.AfterKill >= expectedRequests / 4, $"only {door.AfterKill} requests ran after the kill");
        Assert.NotEmpty(door.Retries);
        // Before the kill nginx spread the requests over all four instances.
        Assert.Equal(cluster.CorePorts.Concat(cluster.AiPorts).Select(p => $"127.0.0.1:{p}").Order(), door.UpstreamsBeforeKill.Keys.Order());

        // Every acknowledged write is there, exactly, read through nginx from the surviving Core.
        foreach (var learner in learners)
        {
            var stored = await door.ReadAsync<PagedResponse<ProgressDto>>(HttpMethod.Get, "/api/v1/progress/?page_size=100", learner.Access);
            Assert.Equal(learner.Progress.Count, stored.Count);
            foreach (var record in stored.Results)
            {
                Assert.True(learner.Progress.TryGetValue(record.ContentId, out var expected), $"unexpected record {record.ContentId}");
                Assert.Equal(expected, Acknowledged.From(record));
            }
        }

        // Core's outbox delivered every event to AI, through nginx to the surviving instance.
        var userIds = learners.Select(l => l.UserId).ToArray();
        await Platform.EventuallyAsync(async () => await PendingEventsAsync(cluster, userIds) == 0, "the outbox is drained", seconds: 60);
        Assert.Equal(0, await FailedEventsAsync(cluster, userIds));
        output.WriteLine($"outbox drained after {clock.Elapsed.TotalSeconds:F1} s");
        await using var profiles = new PgLearnerProfileStore(cluster.VectorsConnectionString, CoCompletionSettings.Default);
        foreach (var learner in learners)
        {
            var profile = await profiles.GetAsync(learner.UserId);
            Assert.NotNull(profile);
            // AI knows every completion, and the status each completed record has now.
            Assert.Equal(
                learner.Progress.Values.Where(p => p.Status == ProgressStatus.Completed).Select(p => p.ContentId).Order(),
                profile.Completed.Select(c => c.ContentId).Order());
            Assert.All(profile.Completions, c => Assert.Equal(
                learner.Progress.TryGetValue(c.Item.ContentId, out var record) ? record.Status : ProgressStatus.NotStarted, c.Status));
        }

        // What AI derives follows: the analysis counts every record, the picks explain themselves by completions.
        foreach (var learner in learners)
        {
            await Platform.EventuallyAsync(async () =>
            {
                var analysis = await door.ReadAsync<PersonalityAnalysis>(HttpMethod.Post, "/api/v1/personality/analyze", learner.Access,
                    new PersonalityRequest(learner.UserId, null));
                var picks = await door.ReadAsync<RecommendationsResponse>(HttpMethod.Get, $"/api/v1/recommendations/{learner.UserId}", learner.Access);
                return analysis.RecordsAnalyzed == learner.Progress.Count
                    && picks.Recommendations.Count > 0
                    && picks.Recommendations.All(r => PersonalReasons.Any(p => r.Reason.StartsWith(p, StringComparison.Ordinal)));
            }, $"learner {learner.UserId}'s analysis and recommendations reflect all {learner.Progress.Count} records", seconds: 30);
        }
        Assert.Empty(door.Failures);
        output.WriteLine($"AI caught up after {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// After <paramref name="afterRequests"/> requests, kills core-1 and ai-1 (SIGKILL) while requests are sure to
    /// be running on them: besides the learners' own, logins (a deliberately slow password hash) and large
    /// embedding batches, spread by nginx over both instances of each service.
    /// </summary>
    private const int KillLogins = 4;

    private static async Task KillMidFlightAsync(Cluster cluster, FrontDoor door, Learner probe, int afterRequests)
    {
        await door.AfterRequests(afterRequests);
        var texts = Enumerable.Range(0, 8).Select(i =>
            $"Case study {i}: " + string.Concat(Enumerable.Repeat("an attacker pivots from a phished workstation to the domain controller; ", 12))).ToList();
        // Each attempt counts as a failure until its password is verified; the cluster's throttle leaves room for
        // these logins and their retries (see the cluster's settings).
        var inFlight = Enumerable.Range(0, KillLogins)
            .Select(_ => (Task)door.ReadAsync<TokenPair>(HttpMethod.Post, "/api/v1/token/", null, new TokenRequest(null, probe.Username, probe.Password)))
            .Concat(Enumerable.Range(0, 4)
                .Select(_ => (Task)door.ReadAsync<EmbeddingsResponse>(HttpMethod.Post, "/api/v1/embeddings", probe.Access, new EmbeddingsRequest(texts))))
            .ToList();
        await Task.Delay(100);
        cluster.Kill("core-1");
        cluster.Kill("ai-1");
        door.MarkKill();
        await Task.WhenAll(inFlight);
    }

    /// <summary>
    /// A token from one Core instance is accepted by every instance of both services (one shared signing key),
    /// asked directly rather than through nginx. Returns that learner and the catalog's lessons, read through nginx.
    /// </summary>
    private static async Task<(Learner Probe, IReadOnlyList<ContentItemDto> Lessons)> CheckEveryInstanceAcceptsOneTokenAsync(Cluster cluster, FrontDoor door)
    {
        var probe = await RegisterAsync(door, "probe");
        using var direct = new HttpClient();
        direct.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", probe.Access);
        var jwks = new List<string>();
        foreach (var port in cluster.CorePorts)
        {
            (await direct.GetAsync($"http://127.0.0.1:{port}/api/v1/users/me/")).EnsureSuccessStatusCode();
            jwks.Add(await direct.GetStringAsync($"http://127.0.0.1:{port}/.well-known/jwks.json"));
        }
        Assert.Single(jwks.Distinct());
        foreach (var port in cluster.AiPorts)
        {
            (await direct.GetAsync($"http://127.0.0.1:{port}/api/v1/recommendations/{probe.UserId}?limit=3")).EnsureSuccessStatusCode();
        }

        // The front door passes the caller's request id on and returns it.
        using var traced = new HttpRequestMessage(HttpMethod.Get, new Uri(cluster.FrontDoor, "/api/v1/health/"));
        traced.Headers.Add("X-Request-ID", "cluster-test-1");
        using var answer = await direct.SendAsync(traced);
        Assert.Equal("cluster-test-1", Assert.Single(answer.Headers.GetValues("X-Request-ID")));

        var lessons = await door.ReadAsync<PagedResponse<ContentItemDto>>(HttpMethod.Get, "/api/v1/content/?content_type=lesson&page_size=50", probe.Access);
        Assert.True(lessons.Results.Count >= LearnerCount + RecordsPerLearner, $"only {lessons.Results.Count} lessons in the catalog");
        return (probe, lessons.Results);
    }

    private static async Task<Learner> LearnerAsync(FrontDoor door, int n, IReadOnlyList<ContentItemDto> lessons)
    {
        var learner = await RegisterAsync(door, $"l{n}");
        var pair = await door.ReadAsync<TokenPair>(HttpMethod.Post, "/api/v1/token/", null, new TokenRequest(null, learner.Username, learner.Password));
        learner.Access = pair.Access;
        var me = await door.ReadAsync<UserDto>(HttpMethod.Get, "/api/v1/users/me/", learner.Access);
        Assert.Equal(learner.UserId, me.Id);

        await door.ReadAsync<PagedResponse<ContentItemDto>>(HttpMethod.Get, "/api/v1/content/?page_size=20", learner.Access);
        await door.ReadAsync<ContentSearchResponse>(HttpMethod.Post, "/api/v1/content/search", learner.Access,
            new ContentSearchRequest("finding and fixing injection flaws", null, 5));
        await door.ReadAsync<RecommendationsResponse>(HttpMethod.Get, $"/api/v1/recommendations/{learner.UserId}?limit=5", learner.Access);

        foreach (var (lesson, k) in lessons.Skip(n).Take(RecordsPerLearner).Select((l, k) => (l, k)))
        {
            var created = await CreateProgressAsync(door, learner,
                new CreateProgressRequest(lesson.ContentId, "lesson", ProgressStatus.InProgress, 20 + k * 10, null, 300 * (k + 1), null));
            learner.Progress[lesson.ContentId] = Acknowledged.From(created);

            // Read-your-writes through whichever Core instance answers.
            var listed = await door.ReadAsync<PagedResponse<ProgressDto>>(HttpMethod.Get, "/api/v1/progress/?page_size=100", learner.Access);
            Assert.Equal(learner.Progress.Count, listed.Count);

            // Absolute values: applying the same PATCH twice (a retry) changes nothing.
            var update = k % 2 == 0
                ? new UpdateProgressRequest(ProgressStatus.Completed, null, 70 + k * 5, 1800 + k, null)
                : new UpdateProgressRequest(ProgressStatus.InProgress, 60, null, 900 + k, null);
            var updated = await door.ReadAsync<ProgressDto>(HttpMethod.Patch, $"/api/v1/progress/{created.Id}/", learner.Access, update);
            learner.Progress[lesson.ContentId] = Acknowledged.From(updated);
        }

        var analysis = await door.ReadAsync<PersonalityAnalysis>(HttpMethod.Post, "/api/v1/personality/analyze", learner.Access,
            new PersonalityRequest(learner.UserId, null));
        Assert.NotEmpty(analysis.Traits);
        await door.ReadAsync<RecommendationsResponse>(HttpMethod.Get, $"/api/v1/recommendations/{learner.UserId}?limit=5", learner.Access);
        return learner;
    }

    /// <summary>Registers; when an earlier attempt may have registered already (its answer was lost), logs in instead.</summary>
    private static async Task<Learner> RegisterAsync(FrontDoor door, string prefix)
    {
        var username = $"{prefix}{Guid.NewGuid():N}"[..20];
        var password = $"pw-{Guid.NewGuid():N}";
        var (status, body, ambiguous) = await door.SendAsync(HttpMethod.Post, "/api/v1/users/", null,
            new RegisterRequest($"{username}@example.com", username, password, "Cluster", "Learner"));
        if (status == HttpStatusCode.Created)
        {
            var registered = Deserialize<RegisterResponse>(body);
            return new Learner(registered.User.Id, username, password) { Access = registered.Access };
        }
        Assert.True(ambiguous && status == HttpStatusCode.BadRequest, $"registration answered {(int)status}: {body}");
        var pair = await door.ReadAsync<TokenPair>(HttpMethod.Post, "/api/v1/token/", null, new TokenRequest(null, username, password));
        var me = await door.ReadAsync<UserDto>(HttpMethod.Get, "/api/v1/users/me/", pair.Access);
        return new Learner(me.Id, username, password) { Access = pair.Access };
    }

    /// <summary>
    /// POST /progress/; when an earlier attempt may have created the record (its answer was lost), the 400 naming
    /// the existing record is success if that record is exactly what was sent.
    /// </summary>
    private static async Task<ProgressDto> CreateProgressAsync(FrontDoor door, Learner learner, CreateProgressRequest request)
    {
        var (status, body, ambiguous) = await door.SendAsync(HttpMethod.Post, "/api/v1/progress/", learner.Access, request);
        if (status == HttpStatusCode.Created)
        {
            return Deserialize<ProgressDto>(body);
        }
        Assert.True(ambiguous && status == HttpStatusCode.BadRequest, $"POST /progress/ answered {(int)status}: {body}");
        var id = ExistingRecordId().Match(body) is { Success: true } match ? match.Groups[1].Value
            : throw new InvalidOperationException($"POST /progress/ answered 400 without naming a record: {body}");
        var existing = await door.ReadAsync<ProgressDto>(HttpMethod.Get, $"/api/v1/progress/{id}/", learner.Access);
        Assert.Equal((request.ContentId, request.Status, request.CompletionPercentage, request.TimeSpentSeconds),
            (existing.ContentId, (ProgressStatus?)existing.Status, (double?)existing.CompletionPercentage, (long?)existing.TimeSpentSeconds));
        return existing;
    }

    [GeneratedRegex(@"\(id (\d+)\)")]
    private static partial Regex ExistingRecordId();

    private static async Task<long> PendingEventsAsync(Cluster cluster, long[] userIds) =>
        await CountEventsAsync(cluster, userIds, "\"DeliveredAt\" IS NULL AND \"FailedAt\" IS NULL");

    private static async Task<long> FailedEventsAsync(Cluster cluster, long[] userIds) =>
        await CountEventsAsync(cluster, userIds, "\"FailedAt\" IS NOT NULL");

    private static async Task<long> CountEventsAsync(Cluster cluster, long[] userIds, string condition)
    {
        await using var connection = new NpgsqlConnection(cluster.CoreConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM outbox_events WHERE \"UserId\" = ANY($1) AND {condition}", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = userIds });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static T Deserialize<T>(string body) => JsonSerializer.Deserialize<T>(body, CyberHubJson.Options)!;

    private sealed record Learner(long UserId, string Username, string Password)
    {
        public required string Access { get; set; }
        public Dictionary<string, Acknowledged> Progress { get; } = [];
    }

    /// <summary>What the service acknowledged about a record: what must still be there at the end.</summary>
    private sealed record Acknowledged(long Id, string ContentId, ProgressStatus Status, double CompletionPercentage, double? Score, long TimeSpentSeconds)
    {
        public static Acknowledged From(ProgressDto p) => new(p.Id, p.ContentId, p.Status, p.CompletionPercentage, p.Score, p.TimeSpentSeconds);
    }

    /// <summary>
    /// The client side of the front door: each request is retried (up to six attempts, backing off from 200 ms)
    /// after a connection failure, a timeout or a 502/503/504, as a browser app or SDK would. nginx itself moves a
    /// request to the next instance only if it was not sent yet (or is idempotent).
    /// </summary>
    /// <summary>How a pick drawn from the learner's own completions is explained (never the starter list's reasons).</summary>
    private static readonly string[] PersonalReasons = ["Because you completed '", "Next step after '", "Learners who completed '"];

    private sealed class FrontDoor(Uri address) : IDisposable
    {
        private const int MaxAttempts = 6;
        private readonly HttpClient _http = new() { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        private readonly TaskCompletionSource _threshold = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _requests;
        private int _afterKill;
        private int _thresholdCount = int.MaxValue;
        private volatile bool _killed;

        public int Requests => _requests;
        public int AfterKill => _afterKill;
        public ConcurrentQueue<string> Retries { get; } = new();
        public ConcurrentQueue<string> Failures { get; } = new();
        public ConcurrentDictionary<string, int> UpstreamsBeforeKill { get; } = new();

        public Task AfterRequests(int count)
        {
            _thresholdCount = count;
            return _threshold.Task;
        }

        public void MarkKill() => _killed = true;

        public async Task<T> ReadAsync<T>(HttpMethod method, string url, string? access, object? body = null)
        {
            var (status, text, _) = await SendAsync(method, url, access, body);
            Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Created, $"{method} {url} answered {(int)status}: {text}");
            return Deserialize<T>(text);
        }

        /// <summary>The first answer that is not a gateway failure, and whether an earlier attempt may have reached a service.</summary>
        public async Task<(HttpStatusCode Status, string Body, bool Ambiguous)> SendAsync(HttpMethod method, string url, string? access, object? body)
        {
            var ambiguous = false;
            for (var attempt = 1; ; attempt++)
            {
                string failure;
                try
                {
                    using var request = new HttpRequestMessage(method, url);
                    if (access is not null)
                    {
                        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", access);
                    }
                    if (body is not null)
                    {
                        request.Content = JsonContent.Create(body, body.GetType(), options: CyberHubJson.Options);
                    }
                    using var response = await _http.SendAsync(request);
                    var text = await response.Content.ReadAsStringAsync();
                    Count(response);
                    if (response.StatusCode is not (HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout))
                    {
                        return (response.StatusCode, text, ambiguous);
                    }
                    failure = text.StartsWith('{') ? $"{(int)response.StatusCode} {text}" : $"{(int)response.StatusCode} from nginx";
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    failure = $"{e.GetType().Name}: {e.Message}";
                }
                ambiguous = true;
                Retries.Enqueue($"{method} {url} attempt {attempt}: {failure}");
                if (attempt == MaxAttempts)
                {
                    Failures.Enqueue($"{method} {url}: {failure}");
                    throw new InvalidOperationException($"{method} {url} still failed after {MaxAttempts} attempts: {failure}");
                }
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 100 << attempt)));
            }
        }

        private void Count(HttpResponseMessage response)
        {
            if (_killed)
            {
                Interlocked.Increment(ref _afterKill);
            }
            else if (response.Headers.TryGetValues("X-CyberHub-Upstream", out var upstreams))
            {
                // "a, b" when nginx moved the request on: the last one answered.
                UpstreamsBeforeKill.AddOrUpdate(upstreams.First().Split(", ")[^1], 1, (_, n) => n + 1);
            }
            if (Interlocked.Increment(ref _requests) >= _thresholdCount)
            {
                _threshold.TrySetResult();
            }
        }

        public void Dispose() => _http.Dispose();
    }
}
