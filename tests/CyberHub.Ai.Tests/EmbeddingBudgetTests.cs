using System.Net;
using CyberHub.Ai.Embeddings;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.ServiceDefaults.RateLimiting;
using CyberHub.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberHub.Ai.Tests;

/// <summary>The AI service with a small embedding budget and queue, so that tests reach them with few requests.</summary>
public sealed class BudgetedAiServer : AiServer
{
    public const int LearnerTokensPerMinute = 4_096;

    protected override Task<string?> CreateVectorDatabaseAsync() => Task.FromResult<string?>(null);

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Embeddings:LearnerTokensPerMinute"] = LearnerTokensPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Embeddings:MaxQueuedTexts"] = "64",
        ["Embeddings:MaxQueuedTextsPerCaller"] = "40",
    };

    public FairModelScheduler Scheduler => Services.GetRequiredService<FairModelScheduler>();
}

/// <summary>
/// The model is bounded in work, not in requests: per-request ceilings by role, a budget of model tokens per caller
/// and minute, a bounded queue, and turns at the model served round robin between callers.
/// </summary>
public sealed class EmbeddingBudgetTests(BudgetedAiServer server) : IClassFixture<BudgetedAiServer>
{
    /// <summary>8,000 characters of distinct words: far more than the model's 256 tokens, so each costs 256.</summary>
    private static string LongText(int seed) =>
        string.Join(' ', Enumerable.Range(0, 2_000).Select(i => $"w{(seed * 7919 + i) % 5000}"))[..8_000];

    private static string[] Texts(int count, Func<int, string> text) => [.. Enumerable.Range(0, count).Select(text)];

    [Fact]
    public async Task A_learner_gets_a_small_ceiling_per_request_and_an_author_a_larger_one()
    {
        using var learner = await server.LearnerClientAsync();
        var tooMany = await learner.PostJsonAsync("/api/v1/embeddings/", new EmbeddingsRequest(Texts(17, i => $"short text {i}")));
        Assert.Contains("at most 16 texts per request for learners (got 17)", await tooMany.DetailAsync(HttpStatusCode.RequestEntityTooLarge), StringComparison.Ordinal);

        // Sixteen texts are within the count, but 16 x 256 model tokens are beyond the learner's 2,048.
        var tooLong = await learner.PostJsonAsync("/api/v1/embeddings/", new EmbeddingsRequest(Texts(16, LongText)));
        Assert.Matches("^texts: 40[0-9][0-9] model tokens after tokenisation; at most 2048 per request for learners",
            await tooLong.DetailAsync(HttpStatusCode.RequestEntityTooLarge));

        using var admin = await server.AdminClientAsync();
        var embedded = await (await admin.PostJsonAsync("/api/v1/embeddings/", new EmbeddingsRequest(Texts(40, i => $"short text {i}"))))
            .ReadAsync<EmbeddingsResponse>();
        Assert.Equal(40, embedded.Embeddings.Count);
    }

    [Fact]
    public async Task A_learner_who_spends_their_token_budget_is_refused_with_retry_after_and_nobody_else_is()
    {
        using var learner = await server.LearnerClientAsync();
        using var other = await server.LearnerClientAsync();
        // Two requests of 8 x 256 tokens spend the 4,096 tokens a minute; the budget comes back at 68 tokens a second.
        for (var i = 0; i < 2; i++)
        {
            await (await learner.PostJsonAsync("/api/v1/embeddings/", new EmbeddingsRequest(Texts(8, t => LongText(i * 8 + t))))).ReadAsync<EmbeddingsResponse>();
        }
        var refused = await learner.PostJsonAsync("/api/v1/embeddings/", new EmbeddingsRequest(Texts(8, t => LongText(100 + t))));
        Assert.StartsWith("Embedding budget spent: 4096 model tokens a minute for learners", await refused.DetailAsync(HttpStatusCode.TooManyRequests), StringComparison.Ordinal);
        Assert.InRange(refused.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

        // The budget is this learner's: another has all of theirs, for embeddings and for searches (whose queries count too).
        await (await other.PostJsonAsync("/api/v1/embeddings/", new EmbeddingsRequest(Texts(8, t => LongText(200 + t))))).ReadAsync<EmbeddingsResponse>();
        await (await other.PostJsonAsync("/api/v1/content/search", new ContentSearchRequest($"phishing {Guid.NewGuid():N}", null, 3))).ReadAsync<ContentSearchResponse>();
    }

    [Fact]
    public async Task A_search_submitted_while_a_big_request_waits_runs_before_the_rest_of_that_request()
    {
        var learner = await server.Core.RegisterAsync();
        using var learnerAi = server.CreateClient(learner.Access);
        using var admin = await server.AdminClientAsync();
        var served = new List<string>();
        void Record(string caller) => served.Add(caller);

        // The model is held, so both requests queue in a known order: the 32-text request (4 batches of 8) first.
        var blocker = await server.Scheduler.TurnAsync("test-blocker", CancellationToken.None);
        server.Scheduler.Granted += Record;
        try
        {
            var big = admin.PostJsonAsync("/api/v1/embeddings/", new EmbeddingsRequest(Texts(32, i => $"bulk text number {i} {Guid.NewGuid():N}")));
            await UntilAsync(() => server.Scheduler.WaitingCallers == 1);
            var search = learnerAi.PostJsonAsync("/api/v1/content/search", new ContentSearchRequest($"network attacks {Guid.NewGuid():N}", null, 3));
            await UntilAsync(() => server.Scheduler.WaitingCallers == 2);
            blocker.Dispose();

            Assert.Equal(32, (await (await big).ReadAsync<EmbeddingsResponse>()).Embeddings.Count);
            await (await search).ReadAsync<ContentSearchResponse>();
        }
        finally
        {
            server.Scheduler.Granted -= Record;
        }

        var author = served[0];
        Assert.NotEqual($"user:{learner.User.Id}", author);
        Assert.Equal([author, $"user:{learner.User.Id}", author, author, author], served);
    }

    [Fact]
    public async Task The_queue_for_the_model_is_bounded_per_caller_and_in_total()
    {
        using var admin = await server.AdminClientAsync();
        using var first = await server.LearnerClientAsync();
        using var second = await server.LearnerClientAsync();
        var blocker = await server.Scheduler.TurnAsync("test-blocker", CancellationToken.None);
        Task<HttpResponseMessage> queued;
        Task<HttpResponseMessage> learnerQueued;
        try
        {
            queued = admin.PostJsonAsync("/api/v1/embeddings/", new EmbeddingsRequest(Texts(40, i => $"queued text {i} {Guid.NewGuid():N}")));
            await UntilAsync(() => server.Scheduler.WaitingCallers == 1);

            // The admin has their 40 texts waiting: no more for them; 40 + 16 of a learner fit the 64, 16 more do not.
            var mine = await admin.PostJsonAsync("/api/v1/embeddings/", new EmbeddingsRequest(["one more"]));
            Assert.Contains("Too many texts waiting for the model for this caller", await mine.DetailAsync(HttpStatusCode.TooManyRequests), StringComparison.Ordinal);
            Assert.NotNull(mine.Headers.RetryAfter);

            learnerQueued = first.PostJsonAsync("/api/v1/embeddings/", new EmbeddingsRequest(Texts(16, i => $"learner text {i} {Guid.NewGuid():N}")));
            await UntilAsync(() => server.Scheduler.WaitingCallers == 2);
            var full = await second.PostJsonAsync("/api/v1/embeddings/", new EmbeddingsRequest(Texts(16, i => $"later text {i}")));
            Assert.Contains("The embedding model is busy", await full.DetailAsync(HttpStatusCode.ServiceUnavailable), StringComparison.Ordinal);
            Assert.NotNull(full.Headers.RetryAfter);
        }
        finally
        {
            blocker.Dispose();
        }
        await (await queued).ReadAsync<EmbeddingsResponse>();
        await (await learnerQueued).ReadAsync<EmbeddingsResponse>();
        await (await second.PostJsonAsync("/api/v1/embeddings/", new EmbeddingsRequest(Texts(16, i => $"later text {i}")))).ReadAsync<EmbeddingsResponse>();
    }

    /// <summary>Waits for a state of the scheduler (no timing is asserted: a test that never gets there hangs until the runner stops it).</summary>
    private static async Task UntilAsync(Func<bool> condition)
    {
        while (!condition())
        {
            await Task.Delay(10);
        }
    }
}

/// <summary>A budget of several permits at once is counted the same way in memory and in Redis.</summary>
public sealed class RateLimitCostTests
{
    public static TheoryData<string> Stores => ["memory", "redis"];

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_cost_takes_that_many_permits_or_none(string kind)
    {
        await using var redis = new RedisConnection(TestRedis.ConnectionString);
        var memory = new MemoryRateLimitStore(TimeProvider.System);
        IRateLimitStore store = kind == "memory"
            ? memory
            : new RedisRateLimitStore(redis, TestRedis.NewPrefix(), memory, TimeProvider.System, NullLogger<RedisRateLimitStore>.Instance);
        var rule = RateLimitRule.PerMinute("tokens", 1_000);
        var partition = Guid.NewGuid().ToString("N");

        Assert.True((await store.AcquireManyAsync(rule, partition, 600)).Allowed);
        var refused = await store.AcquireManyAsync(rule, partition, 600);
        Assert.False(refused.Allowed);
        Assert.Equal(kind, refused.Store);
        Assert.InRange(refused.RetryAfter, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(12.1));
        Assert.True((await store.AcquireManyAsync(rule, partition, 390)).Allowed);
        Assert.False((await store.AcquireManyAsync(rule, Guid.NewGuid().ToString("N"), 1_001)).Allowed);
    }
}

/// <summary>Personality analysis costs CPU by the record: each caller has a budget of records a minute.</summary>
public sealed class PersonalityBudgetTests(BudgetedAiServer server) : IClassFixture<BudgetedAiServer>
{
    private static List<ProgressDataRecord> Records(int count) => [.. Enumerable.Range(0, count).Select(i => new ProgressDataRecord(
        null, null, $"item-{i}", i % 2 == 0 ? "lab" : "course", ProgressStatus.Completed, 100, 80, 600, null, null, null, null, null, null))];

    [Fact]
    public async Task Two_full_analyses_a_minute_then_429_with_retry_after_for_that_learner_only()
    {
        var learner = await server.Core.RegisterAsync();
        var other = await server.Core.RegisterAsync();
        using var ai = server.CreateClient(learner.Access);
        using var otherAi = server.CreateClient(other.Access);
        var records = Records(10_000);
        for (var i = 0; i < 2; i++)
        {
            await (await ai.PostJsonAsync("/api/v1/personality/analyze", new PersonalityRequest(learner.User.Id, records))).ReadAsync<PersonalityAnalysis>();
        }
        var refused = await ai.PostJsonAsync("/api/v1/personality/analyze", new PersonalityRequest(learner.User.Id, records));
        Assert.StartsWith("Analysis budget spent: 20000 progress records a minute", await refused.DetailAsync(HttpStatusCode.TooManyRequests), StringComparison.Ordinal);
        Assert.InRange(refused.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

        await (await otherAi.PostJsonAsync("/api/v1/personality/analyze", new PersonalityRequest(other.User.Id, records))).ReadAsync<PersonalityAnalysis>();
    }
}
