using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using CyberHub.Contracts;
using CyberHub.EndToEnd.Tests.Infrastructure;
using CyberHub.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CyberHub.EndToEnd.Tests;

/// <summary>
/// Request ids, request logs, traces and metrics across the two services, as an operator sees them: one
/// learner's recommendation request followed from AI into Core, and /metrics moving with traffic.
/// </summary>
public sealed class ObservabilityTests(EmbeddedPlatform platform) : IClassFixture<EmbeddedPlatform>
{
    [Fact]
    public async Task A_request_id_follows_a_recommendation_request_from_AI_into_Core_and_back()
    {
        var learner = await platform.Core.RegisterAsync();
        using var ai = platform.AiClient(learner.Access);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/recommendations/{learner.User.Id}?limit=3");
        request.Headers.Add("X-Request-ID", "abc-123");
        using var response = await ai.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("abc-123", Assert.Single(response.Headers.GetValues("X-Request-ID")));

        // AI's own request event, and Core's event for the progress read it caused: same id, same trace.
        var aiEvent = Assert.Single(platform.Ai.Logs.Requests, e => e.Value("RequestId") == "abc-123");
        Assert.Equal("/api/v1/recommendations/{userId:long}", aiEvent.Value("Route"));
        Assert.Equal("200", aiEvent.Value("StatusCode"));
        Assert.Equal(learner.User.Id.ToString(CultureInfo.InvariantCulture), aiEvent.Value("UserId"));

        // (AI may also fetch Core's signing keys under the same id, when it has not had them yet.)
        var coreEvent = Assert.Single(platform.Core.Logs.Requests,
            e => e.Value("RequestId") == "abc-123" && e.Value("Path") != "/.well-known/jwks.json");
        Assert.Equal("GET", coreEvent.Value("Method"));
        Assert.Equal("/api/v1/progress/", coreEvent.Value("Route"));
        Assert.Equal("/api/v1/progress/", coreEvent.Value("Path"));
        Assert.Equal(learner.User.Id.ToString(CultureInfo.InvariantCulture), coreEvent.Value("UserId"));
        Assert.Matches("^[0-9a-f]{32}$", coreEvent.Value("TraceId"));
        Assert.Equal(aiEvent.Value("TraceId"), coreEvent.Value("TraceId"));
        Assert.True(double.Parse(coreEvent.Value("DurationMs")!, CultureInfo.InvariantCulture) >= 0);

        // Never the token, in any form, in either service's log.
        Assert.DoesNotContain(platform.Core.Logs.Entries.Concat(platform.Ai.Logs.Entries), e => e.Message.Contains(learner.Access, StringComparison.Ordinal));
        // Whatever is logged while the request runs carries its id as a scope, the request event included.
        Assert.Equal("abc-123", coreEvent.Scopes.GetValueOrDefault("request_id"));
    }

    [Theory]
    [InlineData("abc 123")]
    [InlineData("abc/123")]
    [InlineData("<script>alert(1)</script>")]
    [InlineData("")]
    [InlineData(null)]
    public async Task An_unsafe_or_missing_request_id_is_replaced_and_error_bodies_carry_the_one_used(string? offered)
    {
        using var anonymous = platform.Ai.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/recommendations/1");
        if (offered is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Request-ID", offered);
        }
        using var response = await anonymous.SendAsync(request);

        await response.DetailAsync(HttpStatusCode.Unauthorized);
        var used = Assert.Single(response.Headers.GetValues("X-Request-ID"));
        Assert.Matches("^[0-9a-f]{32}$", used);
        Assert.NotEqual(offered, used);
    }

    [Fact]
    public async Task A_request_id_of_128_safe_characters_is_kept_and_one_of_129_is_not()
    {
        using var anonymous = platform.Core.CreateClient();
        var longest = "a.b_c-" + new string('x', 122);
        foreach (var (offered, kept) in new[] { (longest, true), (longest + "x", false) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/users/me/");
            request.Headers.Add("X-Request-ID", offered);
            using var response = await anonymous.SendAsync(request);
            await response.DetailAsync(HttpStatusCode.Unauthorized);
            Assert.Equal(kept, response.Headers.GetValues("X-Request-ID").Single() == offered);
        }
    }

    [Fact]
    public async Task Metrics_expose_the_named_series_and_they_move_after_traffic()
    {
        using var anonymous = new HttpClient();
        var coreBefore = await ScrapeAsync(platform.Core.BaseAddress);
        var aiBefore = await ScrapeAsync(platform.Ai.BaseAddress);

        var learner = await platform.Core.RegisterAsync();
        using var ai = platform.AiClient(learner.Access);
        (await ai.PostJsonAsync("/api/v1/content/search", new ContentSearchRequest("phishing awareness for small teams", null, 5))).EnsureSuccessStatusCode();
        (await ai.GetAsync($"/api/v1/recommendations/{learner.User.Id}")).EnsureSuccessStatusCode();
        (await ai.GetAsync($"/api/v1/recommendations/{learner.User.Id}")).EnsureSuccessStatusCode();
        (await learner.Client.PostJsonAsync("/api/v1/progress/", new CreateProgressRequest("obs-lesson", "lesson", ProgressStatus.InProgress, 40, null, 600, null)))
            .EnsureSuccessStatusCode();

        await Platform.EventuallyAsync(async () =>
        {
            var core = await ScrapeAsync(platform.Core.BaseAddress);
            var aiNow = await ScrapeAsync(platform.Ai.BaseAddress);
            return Sum(aiNow, "http_server_request_duration_seconds_count", "http_route=\"/api/v1/recommendations/{userId:long}\"")
                    >= Sum(aiBefore, "http_server_request_duration_seconds_count", "http_route=\"/api/v1/recommendations/{userId:long}\"") + 2
                && Sum(core, "http_server_request_duration_seconds_count", "http_route=\"/api/v1/progress/\"", "http_request_method=\"POST\"")
                    > Sum(coreBefore, "http_server_request_duration_seconds_count", "http_route=\"/api/v1/progress/\"", "http_request_method=\"POST\"")
                && Sum(core, "cyberhub_outbox_delivered_total") > Sum(coreBefore, "cyberhub_outbox_delivered_total");
        }, "the request counters and the outbox delivery counter moved");

        var after = await ScrapeAsync(platform.Core.BaseAddress);
        // Every series the operations guide names: latency per route (with the status code for error rates),
        // database, vector search, embeddings, caches, outbox, runtime.
        foreach (var series in new[]
        {
            "http_server_request_duration_seconds_bucket", "cyberhub_db_query_duration_seconds_count",
            "cyberhub_vector_search_duration_seconds_count", "cyberhub_vector_search_results_count",
            "cyberhub_embedding_batch_size_count", "cyberhub_embedding_batch_duration_seconds_count",
            "cyberhub_cache_requests_total", "cyberhub_outbox_delivery_lag_seconds_count", "cyberhub_outbox_backlog",
            "http_client_request_duration_seconds_count", "dotnet_gc_collections_total",
        })
        {
            Assert.True(after.Any(line => line.StartsWith(series, StringComparison.Ordinal)), $"/metrics has no {series} series");
        }
        Assert.Contains(after, line => line.StartsWith("http_server_request_duration_seconds_count", StringComparison.Ordinal) && line.Contains("http_response_status_code=\"201\"", StringComparison.Ordinal));
        Assert.True(Sum(after, "cyberhub_vector_search_duration_seconds_count") > Sum(aiBefore, "cyberhub_vector_search_duration_seconds_count"));
        Assert.True(Sum(after, "cyberhub_embedding_batch_size_count") > Sum(aiBefore, "cyberhub_embedding_batch_size_count"));
        Assert.True(Sum(after, "cyberhub_cache_requests_total", "result=\"hit\"") > Sum(aiBefore, "cyberhub_cache_requests_total", "result=\"hit\""));
        Assert.True(Sum(after, "cyberhub_cache_requests_total", "result=\"miss\"") > Sum(aiBefore, "cyberhub_cache_requests_total", "result=\"miss\""));
        Assert.True(Sum(after, "cyberhub_db_query_duration_seconds_count") > Sum(coreBefore, "cyberhub_db_query_duration_seconds_count"));
    }

    [Fact]
    public async Task Metrics_can_be_served_on_their_own_port_or_switched_off()
    {
        var directory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));
        var apiPort = LoopbackPorts.Free();
        var metricsPort = LoopbackPorts.Free();
        try
        {
            await using (var separate = new ConfiguredCoreServer(null, directory, new Dictionary<string, string?>
            {
                ["CYBERHUB_CORE_URL"] = $"http://127.0.0.1:{apiPort}",
                ["Metrics:Url"] = $"http://127.0.0.1:{metricsPort}",
            }))
            {
                await separate.InitializeAsync();
                using var client = new HttpClient();
                Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"http://127.0.0.1:{apiPort}/metrics")).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"http://127.0.0.1:{apiPort}/api/v1/health/live")).StatusCode);
                using var scrape = await client.GetAsync($"http://127.0.0.1:{metricsPort}/metrics");
                Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
                Assert.Contains("text/plain", scrape.Content.Headers.ContentType!.MediaType, StringComparison.Ordinal);
            }

            await using var off = new ConfiguredCoreServer(null, directory, new Dictionary<string, string?> { ["Metrics:Enabled"] = "false" });
            await off.InitializeAsync();
            using var plain = off.CreateClient();
            Assert.Equal(HttpStatusCode.NotFound, (await plain.GetAsync("/metrics")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await plain.GetAsync("/api/v1/health/live")).StatusCode);
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    [Fact]
    public async Task AI_readiness_reports_Core_unreachable_as_degraded_and_recovers()
    {
        await using var own = new OwnPlatform();
        await own.InitializeAsync();
        using var anonymous = own.Ai.CreateClient();
        Assert.Equal("healthy", (await ReadHealthAsync(anonymous)).Checks["core"].Status);

        await own.Core.StopAsync();
        var degraded = await ReadHealthAsync(anonymous);
        Assert.Equal("degraded", degraded.Status);
        Assert.Equal("degraded", degraded.Checks["core"].Status);
        Assert.Equal("healthy", degraded.Checks["vector_store"].Status);

        await own.Core.RestartAsync();
        Assert.Equal("healthy", (await ReadHealthAsync(anonymous)).Status);
    }

    [Fact]
    public async Task Traces_and_metrics_are_exported_over_OTLP_when_an_endpoint_is_set()
    {
        await using var collector = await OtlpCollector.StartAsync();
        var directory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));
        try
        {
            await using var core = new ConfiguredCoreServer(null, directory, new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.BaseAddress,
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_SERVICE_NAME"] = "cyberhub-core-otlp-test",
                ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
                ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
            });
            await core.InitializeAsync();
            var learner = await core.RegisterAsync();
            (await learner.Client.GetAsync("/api/v1/progress/")).EnsureSuccessStatusCode();

            await Platform.EventuallyAsync(() => Task.FromResult(
                    collector.Received("/v1/traces", "cyberhub-core-otlp-test") && collector.Received("/v1/traces", "/api/v1/progress/")
                    && collector.Received("/v1/metrics", "http.server.request.duration")),
                "the collector received the service's spans and metrics", seconds: 20);
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static async Task<HealthResponse> ReadHealthAsync(HttpClient client) =>
        await (await client.GetAsync("/api/v1/health/")).ReadAsync<HealthResponse>();

    private static async Task<string[]> ScrapeAsync(Uri service)
    {
        using var client = new HttpClient();
        var text = await client.GetStringAsync(new Uri(service, "/metrics"));
        return text.Split('\n');
    }

    /// <summary>The sum over every sample of <paramref name="name"/> whose labels contain each of <paramref name="labels"/>.</summary>
    private static double Sum(IEnumerable<string> scrape, string name, params string[] labels) =>
        scrape.Where(line => (line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal))
                && labels.All(label => line.Contains(label, StringComparison.Ordinal)))
            .Sum(SampleValue);

    /// <summary><c>name{labels} value [timestamp]</c>: the value.</summary>
    private static double SampleValue(string line)
    {
        var afterLabels = line.LastIndexOf('}') is var close and >= 0 ? line[(close + 1)..] : line[line.IndexOf(' ', StringComparison.Ordinal)..];
        return double.Parse(afterLabels.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
    }

    /// <summary>A platform of this test's own, to stop its Core without disturbing the class's shared one.</summary>
    private sealed class OwnPlatform : Platform, IAsyncDisposable
    {
        ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());
    }

    /// <summary>An OTLP/HTTP endpoint on loopback that keeps what it is sent (protobuf strings are plain UTF-8 inside).</summary>
    private sealed class OtlpCollector : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly List<(string Path, string Body)> _received = [];

        private OtlpCollector(WebApplication app) => _app = app;

        public string BaseAddress { get; private set; } = "";

        public static async Task<OtlpCollector> StartAsync()
        {
            var port = LoopbackPorts.Free();
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var collector = new OtlpCollector(app) { BaseAddress = $"http://127.0.0.1:{port}" };
            app.MapPost("/v1/{signal}", async (HttpContext http) =>
            {
                using var body = new MemoryStream();
                await http.Request.Body.CopyToAsync(body);
                lock (collector._received)
                {
                    collector._received.Add((http.Request.Path.Value!, System.Text.Encoding.UTF8.GetString(body.ToArray())));
                }
                http.Response.ContentType = "application/x-protobuf";
                return Results.Ok();
            });
            await app.StartAsync();
            return collector;
        }

        public bool Received(string path, string text)
        {
            lock (_received)
            {
                return _received.Any(r => r.Path == path && r.Body.Contains(text, StringComparison.Ordinal));
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
