using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Contracts;
using CyberHub.Testing;
using Xunit.Abstractions;

namespace CyberHub.Ai.Tests;

/// <summary>One item of the held-out quality catalog (Data/quality-catalog.json): 8 topics × 12 items, none from the demo catalog.</summary>
public sealed record QualityItem(string ContentId, string ContentType, string Title, string Description, string Text, JsonObject Metadata)
{
    public string Topic => (string)Metadata["topic"]!;
    public string Level => (string)Metadata["level"]!;
    public string Key => $"{ContentType}/{ContentId}";

    public static IReadOnlyList<QualityItem> Load() =>
        JsonSerializer.Deserialize<QualityItem[]>(
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "quality-catalog.json")), CyberHubJson.Options)!;
}

/// <summary>
/// A real Core and AI service whose catalog holds only the quality catalog: the demo catalog is not seeded,
/// and the 96 items are stored once through the API, as a content author would.
/// </summary>
public sealed class QualityCatalogServer : AiServer, IAsyncLifetime
{
    public IReadOnlyList<QualityItem> Catalog { get; } = QualityItem.Load();

    protected override Task<string?> CreateVectorDatabaseAsync() => Task.FromResult<string?>(null);

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?> { ["CYBERHUB_SEED_DEMO_CATALOG"] = "false" };

    async Task IAsyncLifetime.InitializeAsync()
    {
        await InitializeAsync();
        using var admin = await AdminClientAsync();
        await Parallel.ForEachAsync(Catalog, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (item, _) =>
        {
            var request = new StoreEmbeddingsRequest(
                [$"{item.Title}. {item.Description}", item.Text], item.ContentType, item.ContentId, item.Title, item.Description, item.Metadata);
            var stored = await (await admin.PostJsonAsync("/api/v1/embeddings/store", request)).ReadAsync<StoreEmbeddingsResponse>();
            Assert.Equal(2, stored.StoredCount);
        });
        var page = await (await admin.GetAsync("/api/v1/content/?page_size=1")).ReadAsync<PagedResponse<ContentItemDto>>();
        Assert.Equal(Catalog.Count, page.Count);
    }
}

/// <summary>
/// How good the recommendations are, measured over real HTTP on a catalog the algorithm was not tuned on:
/// learners who finish part of one topic should be offered the rest of it (recall@10), well above what
/// recommending the most popular items would give; mixed histories get mixed lists; newcomers get a tour.
/// </summary>
public sealed class RecommendationQualityTests(QualityCatalogServer server, ITestOutputHelper output) : IClassFixture<QualityCatalogServer>
{
    private const int Limit = 10;

    /// <summary>Which of a topic's 12 items (in file order) its learner completes: a course, beginner, intermediate and advanced work.</summary>
    private static readonly int[] Completed = [0, 2, 5, 9];

    [Fact]
    public async Task Learners_are_offered_the_rest_of_their_topic_far_above_a_popularity_baseline()
    {
        var topics = server.Catalog.GroupBy(i => i.Topic).Select(g => (Topic: g.Key, Items: g.ToList())).ToList();
        Assert.Equal(8, topics.Count);
        Assert.All(topics, t => Assert.Equal(12, t.Items.Count));

        // One learner per topic, each completing four of its items.
        var learners = await Task.WhenAll(topics.Select(async t =>
        {
            var done = Completed.Select(i => t.Items[i]).ToList();
            var learner = await server.Core.RegisterAsync("quality");
            await CompleteAsync(learner, done);
            return (t.Topic, t.Items, Done: done, Learner: learner);
        }));

        // A population whose popularity is known: the topic learners above, plus six learners who all work
        // through the same mixed-topic favourites, the first ones most often (completion counts 6,6,5,5,...,1,1).
        var favourites = topics.Select(t => t.Items[1]).Concat(topics.Take(4).Select(t => t.Items[7])).ToList();
        var popularSets = Enumerable.Range(0, 6).Select(j => favourites.Take(favourites.Count - 2 * j).ToList()).ToList();
        await Task.WhenAll(popularSets.Select(async set => await CompleteAsync(await server.Core.RegisterAsync("popular"), set)));
        var completions = learners.SelectMany(l => l.Done).Concat(popularSets.SelectMany(s => s))
            .GroupBy(i => i.Key).ToDictionary(g => g.Key, g => g.Count());

        var rows = new List<(string Topic, double Recall, double Baseline, double BySimilarity, string Missed, IReadOnlyList<RecommendationDto> Picks)>();
        foreach (var (topic, items, done, learner) in learners)
        {
            using var ai = server.CreateClient(learner.Access);
            var response = await (await ai.GetAsync($"/api/v1/recommendations/{learner.User.Id}?limit={Limit}")).ReadAsync<RecommendationsResponse>();
            Assert.Equal(learner.User.Id, response.UserId);

            var doneKeys = done.Select(i => i.Key).ToHashSet();
            var remaining = items.Where(i => !doneKeys.Contains(i.Key)).Select(i => i.Key).ToHashSet();
            var expected = Math.Min(Limit, remaining.Count);
            var recall = response.Recommendations.Count(r => remaining.Contains($"{r.ContentType}/{r.ContentId}")) / (double)expected;

            var popular = server.Catalog.Where(i => !doneKeys.Contains(i.Key))
                .OrderByDescending(i => completions.GetValueOrDefault(i.Key))
                .ThenBy(i => i.Key, StringComparer.Ordinal)
                .Take(Limit);
            var baseline = popular.Count(i => remaining.Contains(i.Key)) / (double)expected;

            // Diagnostics only, for whoever tunes the algorithm: the full list (the same candidates, ranked further) shows
            // what ranking by similarity alone would give and where the topic's items the top 10 left out ended up.
            var full = (await (await ai.GetAsync($"/api/v1/recommendations/{learner.User.Id}?limit={RecommendationService.MaxLimit}"))
                .ReadAsync<RecommendationsResponse>()).Recommendations;
            var bySimilarity = full.OrderByDescending(r => r.Score).Take(Limit)
                .Count(r => remaining.Contains($"{r.ContentType}/{r.ContentId}")) / (double)expected;
            var picked = response.Recommendations.Select(r => $"{r.ContentType}/{r.ContentId}").ToHashSet();
            var missed = full.Select((r, rank) => (Key: $"{r.ContentType}/{r.ContentId}", r.ContentId, r.Score, Rank: rank + 1))
                .Where(x => remaining.Contains(x.Key) && !picked.Contains(x.Key))
                .Select(x => $"{x.ContentId} (rank {x.Rank}, similarity {x.Score:0.000})");
            rows.Add((topic, recall, baseline, bySimilarity, string.Join(", ", missed), response.Recommendations));
        }

        // The figures first, so they are in the output whichever assertion fails.
        var meanRecall = rows.Average(r => r.Recall);
        var meanBaseline = rows.Average(r => r.Baseline);
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"{"topic",-32} {"recall@10",10} {"popularity",11} {"similarity only",16}");
        foreach (var row in rows)
        {
            table.AppendLine(CultureInfo.InvariantCulture, $"{row.Topic,-32} {row.Recall,10:0.000} {row.Baseline,11:0.000} {row.BySimilarity,16:0.000}");
        }
        table.AppendLine(CultureInfo.InvariantCulture,
            $"{"mean",-32} {meanRecall,10:0.000} {meanBaseline,11:0.000} {rows.Average(r => r.BySimilarity),16:0.000}");
        foreach (var row in rows.Where(r => r.Recall < 1))
        {
            var misses = row.Picks.Select(p => server.Catalog.Single(i => i.ContentType == p.ContentType && i.ContentId == p.ContentId))
                .Where(i => i.Topic != row.Topic).Select(i => $"{i.ContentId} ({i.Topic})");
            table.AppendLine(CultureInfo.InvariantCulture, $"{row.Topic}: off-topic picks {string.Join(", ", misses)}; missed {row.Missed}");
        }
        output.WriteLine(table.ToString());

        foreach (var ((topic, _, done, _), row) in learners.Zip(rows))
        {
            var picks = row.Picks;
            Assert.Equal(Limit, picks.Count);
            Assert.Equal(Limit, picks.Select(p => $"{p.ContentType}/{p.ContentId}").Distinct().Count());
            Assert.DoesNotContain(picks, p => done.Any(d => d.ContentType == p.ContentType && d.ContentId == p.ContentId));
            Assert.All(picks, p => Assert.InRange(p.Score, -1.0, 1.0));
            var reasons = done.Select(d => $"Because you completed '{d.Title}'").ToHashSet();
            Assert.All(picks, p => Assert.True(reasons.Contains(p.Reason), $"{topic}: '{p.Reason}' names none of the learner's completed items"));
        }
        Assert.True(meanRecall >= 0.8, $"mean recall@10 is {meanRecall:0.000}, below 0.8");
        Assert.True(meanRecall >= meanBaseline + 0.3, $"mean recall@10 {meanRecall:0.000} is not clearly above the popularity baseline {meanBaseline:0.000}");
    }

    [Fact]
    public async Task A_learner_of_two_topics_is_offered_both_with_reasons_from_each()
    {
        var (first, second) = ("digital-forensics", "secure-software-development");
        var done = new[] { first, second }
            .SelectMany(topic => server.Catalog.Where(i => i.Topic == topic).Where((_, index) => index is 0 or 5))
            .ToList();
        var learner = await server.Core.RegisterAsync("mixed");
        await CompleteAsync(learner, done);

        using var ai = server.CreateClient(learner.Access);
        var picks = (await (await ai.GetAsync($"/api/v1/recommendations/{learner.User.Id}?limit={Limit}")).ReadAsync<RecommendationsResponse>())
            .Recommendations;
        var topics = picks.Select(p => TopicOf(p)).ToList();
        output.WriteLine(string.Join(Environment.NewLine, picks.Select((p, i) => $"{p.Score,7:0.0000} {topics[i],-28} {p.ContentId,-44} {p.Reason}")));

        Assert.Equal(Limit, picks.Count);
        Assert.DoesNotContain(picks, p => done.Any(d => d.ContentType == p.ContentType && d.ContentId == p.ContentId));
        Assert.All(picks, p => Assert.InRange(p.Score, -1.0, 1.0));
        Assert.True(topics.Count(t => t == first) >= 2, $"{first}: {topics.Count(t => t == first)} of {Limit} picks");
        Assert.True(topics.Count(t => t == second) >= 2, $"{second}: {topics.Count(t => t == second)} of {Limit} picks");

        var reasonTopics = picks.Select(p => done.SingleOrDefault(d => p.Reason == $"Because you completed '{d.Title}'")).ToList();
        Assert.All(reasonTopics, d => Assert.NotNull(d));
        Assert.Contains(reasonTopics, d => d!.Topic == first);
        Assert.Contains(reasonTopics, d => d!.Topic == second);
    }

    [Fact]
    public async Task A_new_learner_gets_introductory_items_from_across_the_catalog()
    {
        var learner = await server.Core.RegisterAsync("newcomer");
        using var ai = server.CreateClient(learner.Access);
        var response = await (await ai.GetAsync($"/api/v1/recommendations/{learner.User.Id}?limit={Limit}")).ReadAsync<RecommendationsResponse>();
        var picks = response.Recommendations;

        var stored = new List<ContentItemDto>();
        foreach (var pick in picks)
        {
            stored.Add(await (await ai.GetAsync($"/api/v1/content/{pick.ContentType}/{pick.ContentId}")).ReadAsync<ContentItemDto>());
        }
        output.WriteLine(string.Join(Environment.NewLine, picks.Zip(stored).Select(x =>
            $"{x.First.Score,7:0.0000} {(string?)x.Second.Metadata["topic"],-32} {(string?)x.Second.Metadata["level"],-13} {x.First.ContentId,-44} {x.First.Reason}")));

        Assert.Equal(Limit, picks.Count);
        Assert.Equal(Limit, picks.Select(p => $"{p.ContentType}/{p.ContentId}").Distinct().Count());
        Assert.All(picks, p => Assert.InRange(p.Score, -1.0, 1.0));
        var topics = stored.Select(s => (string?)s.Metadata["topic"]).Distinct().Count();
        Assert.True(topics >= 4, $"the picks cover {topics} topics");
        Assert.All(stored, s => Assert.Equal("beginner", (string?)s.Metadata["level"]));
        Assert.All(picks, p => Assert.True(
            p.Reason.Contains("introductory", StringComparison.OrdinalIgnoreCase) || p.Reason.Contains("starting point", StringComparison.OrdinalIgnoreCase),
            $"'{p.Reason}' does not present the pick as a starting point"));
    }

    private string TopicOf(RecommendationDto pick) =>
        server.Catalog.Single(i => i.ContentType == pick.ContentType && i.ContentId == pick.ContentId).Topic;

    /// <summary>Records each item as completed in Core, with a score between 80 and 95.</summary>
    private static async Task CompleteAsync(Learner learner, IEnumerable<QualityItem> items)
    {
        var n = 0;
        foreach (var item in items)
        {
            var score = 80 + n++ * 7 % 16;
            var request = new CreateProgressRequest(item.ContentId, item.ContentType, ProgressStatus.Completed, 100, score, null, null);
            await (await learner.Client.PostJsonAsync("/api/v1/progress/", request)).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        }
    }
}
