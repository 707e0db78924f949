using System.Diagnostics;
using System.Net;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Observability;
using CyberHub.Testing;

namespace CyberHub.Ai.Tests;

/// <summary>
/// CyberHub's own spans and metrics, seen from outside over real HTTP. Each request is sent in a fresh trace
/// (HttpClient passes it on in a <c>traceparent</c> header), and the recorder notes the trace each span and measurement was made in, so a
/// test reads only what its own request caused, though other tests run at the same time.
/// </summary>
public abstract class TelemetryTests<TServer>(TServer server, string backend) : IDisposable where TServer : AiServer
{
    private readonly TelemetryRecorder _recorder = new();

    public void Dispose() => _recorder.Dispose();

    [Fact]
    public async Task Embedding_texts_records_one_batch_with_its_size_duration_and_span()
    {
        var learner = await server.Core.RegisterAsync();
        using var ai = server.CreateClient(learner.Access);
        var trace = await _recorder.SendAsync(ai, HttpMethod.Post, "/api/v1/embeddings",
            new EmbeddingsRequest(["phishing emails", "firewall rules for a small office", "what a buffer overflow is"]));

        var batch = Assert.Single(_recorder.Spans(trace, "embedding.batch"));
        Assert.Equal(3, batch.GetTagItem("embedding.batch_size"));
        Assert.Equal("sentence-transformers/all-MiniLM-L6-v2", batch.GetTagItem("embedding.model"));
        Assert.True((int)batch.GetTagItem("embedding.sequence_length")! > 2);
        Assert.Equal(ActivityStatusCode.Unset, batch.Status);
        Assert.Equal(3, Assert.Single(_recorder.Measured(trace, "cyberhub.embedding.batch.size")).Value);
        Assert.InRange(Assert.Single(_recorder.Measured(trace, "cyberhub.embedding.batch.duration")).Value, 1e-6, batch.Duration.TotalSeconds);
    }

    [Fact]
    public async Task A_search_records_the_vector_search_and_caches_the_query_embedding()
    {
        var learner = await server.Core.RegisterAsync();
        using var ai = server.CreateClient(learner.Access);
        var search = new ContentSearchRequest($"securing a home wifi network {Guid.NewGuid():N}", null, 5);

        var first = await _recorder.SendAsync(ai, HttpMethod.Post, "/api/v1/content/search", search);
        var span = Assert.Single(_recorder.Spans(first, "vector.search"));
        Assert.Equal(backend, span.GetTagItem("vector.backend"));
        // Hybrid search reads the semantic list as deep as the fusion needs (the demo catalog has more items than that).
        var depth = HybridSearchOptions.Default.Candidates;
        Assert.Equal(depth, span.GetTagItem("vector.limit"));
        Assert.Equal(depth, span.GetTagItem("vector.results"));
        Assert.Equal(depth, Assert.Single(_recorder.Measured(first, "cyberhub.vector_search.results")).Value);
        var duration = Assert.Single(_recorder.Measured(first, "cyberhub.vector_search.duration"));
        Assert.Equal(backend, duration.Tags["backend"]);
        Assert.Single(_recorder.Spans(first, "embedding.batch"));
        Assert.Equal(["miss"], _recorder.CacheResults(first, "query_embedding"));

        // The same query again: the embedding comes from the cache and the model is not run.
        var second = await _recorder.SendAsync(ai, HttpMethod.Post, "/api/v1/content/search", search);
        Assert.Equal(["hit"], _recorder.CacheResults(second, "query_embedding"));
        Assert.Empty(_recorder.Spans(second, "embedding.batch"));
        Assert.Single(_recorder.Spans(second, "vector.search"));
    }

    [Fact]
    public async Task Recommendations_record_progress_and_list_caches_the_search_and_the_ranking()
    {
        var learner = await server.Core.RegisterAsync();
        await (await learner.Client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest("symmetric-encryption-aes-modes", "lesson", ProgressStatus.Completed, 100, 90, 1200, null)))
            .ReadAsync<ProgressDto>(HttpStatusCode.Created);
        using var ai = server.CreateClient(learner.Access);
        var url = $"/api/v1/recommendations/{learner.User.Id}";

        var first = await _recorder.SendAsync(ai, HttpMethod.Get, url);
        Assert.Equal(["miss"], _recorder.CacheResults(first, "recommendations"));
        Assert.Equal(["miss"], _recorder.CacheResults(first, "progress"));
        var search = Assert.Single(_recorder.Spans(first, "vector.search"));
        Assert.Equal(backend, search.GetTagItem("vector.backend"));
        var rank = Assert.Single(_recorder.Spans(first, "recommendations.rank"));
        Assert.Equal("blend", rank.GetTagItem("recommendations.strategy"));
        var candidates = (int)rank.GetTagItem("recommendations.candidates")!;
        var picks = (int)rank.GetTagItem("recommendations.picks")!;
        Assert.InRange(picks, 10, candidates);
        // Both spans sit inside the request's trace, under the cache lookup's factory.
        Assert.Equal(first, rank.TraceId);

        var second = await _recorder.SendAsync(ai, HttpMethod.Get, url);
        Assert.Equal(["hit"], _recorder.CacheResults(second, "recommendations"));
        Assert.Empty(_recorder.Spans(second, "recommendations.rank"));
        Assert.Empty(_recorder.Spans(second, "vector.search"));
    }

    [Fact]
    public async Task A_new_learner_gets_starter_picks_ranked_from_a_shared_cache()
    {
        var learner = await server.Core.RegisterAsync();
        using var ai = server.CreateClient(learner.Access);

        var trace = await _recorder.SendAsync(ai, HttpMethod.Get, $"/api/v1/recommendations/{learner.User.Id}");
        Assert.Equal(["miss"], _recorder.CacheResults(trace, "recommendations"));
        // Shared by every newcomer: computed here, or by an earlier test.
        var starter = Assert.Single(_recorder.CacheResults(trace, "recommendations_starter"));
        if (starter == "miss")
        {
            var rank = Assert.Single(_recorder.Spans(trace, "recommendations.rank"));
            Assert.Equal("starter", rank.GetTagItem("recommendations.strategy"));
        }
    }

    [Fact]
    public async Task Personality_lookups_count_hits_and_misses_of_their_caches()
    {
        var learner = await server.Core.RegisterAsync();
        using var ai = server.CreateClient(learner.Access);
        var last = $"/api/v1/personality/{learner.User.Id}";

        var none = await _recorder.SendAsync(ai, HttpMethod.Get, last, expected: HttpStatusCode.NotFound);
        Assert.Equal(["miss"], _recorder.CacheResults(none, "personality"));

        var given = new ProgressDataRecord(null, null, "owasp-top-10-explained", "lesson", ProgressStatus.Completed, 100, 80, 1800,
            null, null, null, null, null, null);
        var analyze = await _recorder.SendAsync(ai, HttpMethod.Post, "/api/v1/personality/analyze", new PersonalityRequest(learner.User.Id, [given]));
        Assert.Single(_recorder.CacheResults(analyze, "personality_catalog"));

        var found = await _recorder.SendAsync(ai, HttpMethod.Get, last);
        Assert.Equal(["hit"], _recorder.CacheResults(found, "personality"));
    }
}

public sealed class EmbeddedTelemetryTests(EmbeddedAiServer server)
    : TelemetryTests<EmbeddedAiServer>(server, "embedded"), IClassFixture<EmbeddedAiServer>;

public sealed class PgVectorTelemetryTests(PgVectorAiServer server)
    : TelemetryTests<PgVectorAiServer>(server, "pgvector"), IClassFixture<PgVectorAiServer>;
