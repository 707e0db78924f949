using System.Net.Http.Json;
using CyberHub.Contracts;

namespace CyberHub.Bench.Load.Platform;

/// <summary>
/// The learners of a platform run: registered through Core's API, each with <see cref="RecordsEach"/> progress records
/// on real catalog items (four of one favourite topic, one from anywhere; the first in progress, the others a seeded
/// mix of completed with a score and in progress), so that the AI service has a personal profile for every one.
/// </summary>
public static class PlatformLearners
{
    public const int RecordsEach = 5;

    /// <summary>Items the learners work on come from the first items of the catalog, which every size contains.</summary>
    public const int ItemPool = 1_000;

    public static async Task<Learner[]> SetUpAsync(CoreClient core, CatalogGenerator catalog, int catalogSize, int count, int seed, string runId)
    {
        var learners = await CoreClient.ForEachAsync(count, i => core.RegisterAsync(runId, i));
        await CoreClient.ForEachAsync(count, async i =>
        {
            var first = 0L;
            foreach (var progress in ProgressOf(i, catalog, Math.Min(ItemPool, catalogSize), seed))
            {
                var created = await core.CreateProgressAsync(learners[i], progress);
                first = first == 0 ? created.Id : first;
            }
            learners[i].RecordId = first;
            // As Core stores them (timestamps at the database's precision), which is what AI reads too.
            learners[i].Records.AddRange(await core.ListProgressAsync(learners[i]));
            return true;
        });
        return learners;
    }

    private static IEnumerable<CreateProgressRequest> ProgressOf(int learner, CatalogGenerator catalog, int pool, int seed)
    {
        var random = new Random(unchecked(seed * 7_919 + learner));
        var favourite = catalog.Item(random.Next(pool)).Topic;
        var picked = new HashSet<int>();
        for (var n = 0; n < RecordsEach;)
        {
            var index = random.Next(pool);
            var item = catalog.Item(index);
            if ((n < RecordsEach - 1 && item.Topic != favourite) || !picked.Add(index))
            {
                continue;
            }
            var completed = n > 0 && random.NextDouble() < 0.6;
            var completion = completed ? 100 : random.Next(10, 91);
            var seconds = (long)(item.DurationMinutes * 60 * completion / 100.0 * (0.5 + random.NextDouble()));
            yield return new CreateProgressRequest(item.ContentId, item.ContentType,
                completed ? ProgressStatus.Completed : ProgressStatus.InProgress, completion, completed ? random.Next(60, 101) : null, seconds, null);
            n++;
        }
    }

    /// <summary>New token pairs for every learner, so no phase runs into an access token's 15 minutes.</summary>
    public static async Task RefreshAsync(CoreClient core, IReadOnlyList<Learner> learners) =>
        await CoreClient.ForEachAsync(learners.Count, async i =>
        {
            await core.RefreshAsync(learners[i]);
            return true;
        });

    /// <summary>Waits until Core's outbox has delivered every progress event to AI (its backlog gauge at 0 twice running).</summary>
    public static async Task WaitForOutboxAsync(HttpClient http, Uri core)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        var zeros = 0;
        while (zeros < 2)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("Core's outbox did not drain within 2 minutes; see core.log and ai.log.");
            }
            await Task.Delay(1_000);
            var metrics = await PrometheusText.ReadAsync(http, new Uri(core, "/metrics"), "cyberhub_outbox_backlog");
            zeros = metrics.TryGetValue("cyberhub_outbox_backlog", out var backlog) && backlog == 0 ? zeros + 1 : 0;
        }
    }

    /// <summary>
    /// Asks AI once for every learner's recommendations (which also fills its cache) and counts the learners whose
    /// picks are personal rather than the newcomer's starter picks; throws on any failure.
    /// </summary>
    public static async Task<int> PrimeAsync(HttpClient http, Uri ai, IReadOnlyList<Learner> learners)
    {
        var personal = await CoreClient.ForEachAsync(learners.Count, async i =>
        {
            using var request = CoreClient.Authorized(HttpMethod.Get, new Uri(ai, $"/api/v1/recommendations/{learners[i].User.Id}").ToString(), learners[i]);
            using var response = await http.SendAsync(request);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"recommendations for user {learners[i].User.Id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            var body = (await response.Content.ReadFromJsonAsync<RecommendationsResponse>(CyberHubJson.Options))!;
            return body.Recommendations.Count > 0 && !body.Recommendations[0].Reason.Contains("as you make progress", StringComparison.Ordinal);
        });
        return personal.Count(p => p);
    }
}
