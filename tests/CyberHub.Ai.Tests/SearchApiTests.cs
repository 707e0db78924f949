using System.Net;
using System.Text.Json;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Contracts;
using CyberHub.Testing;

namespace CyberHub.Ai.Tests;

/// <summary>
/// <c>POST /api/v1/content/search</c> over the demo catalog with the real model: hybrid answers, the explicit
/// no-match answer, and query text that can never make it fail.
/// </summary>
public abstract class SearchApiTests<TServer>(TServer server) where TServer : AiServer
{
    private const string Url = "/api/v1/content/search";

    [Theory]
    [InlineData("asdf qwerty zxcv")]
    [InlineData("how to repot a cactus")]
    [InlineData("cheap flights to lisbon in july")]
    public async Task A_query_unrelated_to_the_catalog_gets_the_no_match_answer(string query)
    {
        using var learner = await server.LearnerClientAsync();
        var response = await learner.PostJsonAsync(Url, new ContentSearchRequest(query, null, 20));
        var raw = await response.Content.ReadAsStringAsync();
        var answer = JsonSerializer.Deserialize<ContentSearchResponse>(raw, CyberHubJson.Options)!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(answer.Matched, raw);
        Assert.Empty(answer.Results);
        Assert.Equal(0, answer.Total);
        Assert.Contains("\"matched\":false", raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Real_queries_keep_their_hits_by_words_and_by_meaning()
    {
        using var learner = await server.LearnerClientAsync();
        var sql = await (await learner.PostJsonAsync(Url, new ContentSearchRequest("how do I stop sql injection", null, 10))).ReadAsync<ContentSearchResponse>();
        Assert.True(sql.Matched);
        Assert.Contains("inject", sql.Results[0].Title, StringComparison.OrdinalIgnoreCase);
        Assert.True(sql.Results[0].LexicalMatch);
        Assert.All(sql.Results.Zip(sql.Results.Skip(1)), p => Assert.True(p.First.Score >= p.Second.Score));
        Assert.All(sql.Results, r => Assert.InRange(r.Score, 0, 1));
        Assert.All(sql.Results, r => Assert.NotNull(r.Similarity));

        // The browser finding: semantic search alone ranked the password-hashing lesson outside the top 20.
        var passwords = await (await learner.PostJsonAsync(Url, new ContentSearchRequest("stop attackers stealing passwords", null, 20))).ReadAsync<ContentSearchResponse>();
        Assert.True(passwords.Matched);
        var top = passwords.Results.Take(10).Select(r => r.ContentId).ToList();
        Assert.True(top.Contains("hashes-macs-and-password-hashing"), string.Join(", ", top));
    }

    public static TheoryData<string> HostileQueries() =>
    [
        "\"", "\"password", "NEAR(password hashing, 2)", "password NEAR hashing", "*", "pass*", "-password", "^password", "title:password",
        "{title}: password", "(sql OR injection", ")) AND ((", "AND", "OR NOT", "NOT", "'; DROP TABLE content_items; --", "\\",
        "password & hashing | !tls <-> x:*", "!!!", "🔐🔑", "пароль", "密码 哈希", "e\u0301te\u0301", "\u0301", "a\u200bb",
        "the of and to", string.Join(' ', Enumerable.Range(0, 150).Select(i => $"w{i}")), new string('x', 1000),
    ];

    [Theory]
    [MemberData(nameof(HostileQueries))]
    public async Task Any_query_text_is_answered(string query)
    {
        using var learner = await server.LearnerClientAsync();
        var answer = await (await learner.PostJsonAsync(Url, new ContentSearchRequest(query, null, 10))).ReadAsync<ContentSearchResponse>();
        Assert.Equal(query.Trim(), answer.Query);
        Assert.Equal(answer.Matched, answer.Results.Count > 0);
        Assert.Equal(answer.Results.Count, answer.Total);
    }

    [Theory]
    // Escapes the JSON reader may hand on as text: a NUL, lone surrogates, a control character.
    [InlineData("""{"query":"\u0000password","limit":5}""")]
    [InlineData("""{"query":"\ud800password","limit":5}""")]
    [InlineData("""{"query":"password\udc00\ud800","limit":5}""")]
    [InlineData("""{"query":"pass\u0007word","limit":5}""")]
    public async Task Escaped_text_is_answered_or_refused_never_failed(string body)
    {
        using var learner = await server.LearnerClientAsync();
        var response = await learner.SendRawAsync(HttpMethod.Post, Url, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        if (response.StatusCode == HttpStatusCode.BadRequest)
        {
            Assert.Contains("query", await response.DetailAsync(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("   ", "query is required")]
    [InlineData(null, "query is required")]
    public async Task A_query_without_text_is_400(string? query, string expected)
    {
        using var learner = await server.LearnerClientAsync();
        var detail = await (await learner.PostJsonAsync(Url, new ContentSearchRequest(query, null, 10))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, detail, StringComparison.Ordinal);
        var tooLong = await (await learner.PostJsonAsync(Url, new ContentSearchRequest(new string('x', 1001), null, 10))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("query", tooLong, StringComparison.Ordinal);
    }
}

public sealed class EmbeddedSearchApiTests(EmbeddedAiServer server) : SearchApiTests<EmbeddedAiServer>(server), IClassFixture<EmbeddedAiServer>;

public sealed class PgVectorSearchApiTests(PgVectorAiServer server) : SearchApiTests<PgVectorAiServer>(server), IClassFixture<PgVectorAiServer>;
