using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CyberHub.Contracts;

namespace CyberHub.Bench.Load;

/// <summary>The four scenarios, their set-up, and the request each virtual user sends.</summary>
public sealed class Scenarios(CoreClient core, BenchOptions options)
{
    public const string Baseline = "baseline: GET /health/live";
    public const string ProgressPatch = "progress PATCH";
    public const string ProgressList = "progress list (20 records)";
    public const string Login = "login: POST /token/";

    private const int ListedRecords = 20;

    private Learner[] _learners = [];
    private Learner _lister = null!;

    /// <summary>
    /// One learner per virtual user of the busiest phase, each with one progress record of its own, and
    /// one more learner with <see cref="ListedRecords"/> records for the list scenario.
    /// </summary>
    public async Task SetUpAsync()
    {
        var runId = Guid.NewGuid().ToString("N")[..10];
        var count = Math.Max(options.Concurrency.Max(), options.LoginConcurrency);
        _learners = await CoreClient.ForEachAsync(count, i => core.RegisterAsync(runId, i));
        await CoreClient.ForEachAsync(count, async i => _learners[i].RecordId = await core.CreateProgressAsync(_learners[i], "bench-lesson"));
        _lister = await core.RegisterAsync(runId, count);
        for (var i = 0; i < ListedRecords; i++)
        {
            await core.CreateProgressAsync(_lister, $"bench-lesson-{i:D2}");
        }
    }

    /// <summary>Every phase in run order; each is prepared (fresh tokens) just before it runs.</summary>
    public IEnumerable<(Phase Phase, Func<Task> Prepare)> Phases()
    {
        var baselineLevels = options.Concurrency.Append(options.LoginConcurrency).Distinct().Order();
        foreach (var c in baselineLevels)
        {
            yield return (new Phase(Baseline, c, (_, _) => new HttpRequestMessage(HttpMethod.Get, "/api/v1/health/live")), NothingToPrepare);
        }
        foreach (var c in options.Concurrency)
        {
            yield return (new Phase(ProgressPatch, c, Patch), () => RefreshAsync(_learners[..c]));
        }
        foreach (var c in options.Concurrency)
        {
            yield return (new Phase(ProgressList, c, List), () => RefreshAsync([_lister]));
        }
        var logins = _learners[..options.LoginConcurrency]
            .Select(l => JsonSerializer.SerializeToUtf8Bytes(new TokenRequest(l.User.Email, null, l.Password), CyberHubJson.Options))
            .ToArray();
        yield return (new Phase(Login, options.LoginConcurrency, (vu, _) =>
            new HttpRequestMessage(HttpMethod.Post, "/api/v1/token/") { Content = JsonBody(logins[vu]) }), NothingToPrepare);
    }

    // Each virtual user moves its own record back and forth below 100 %, so it never completes and every PATCH changes it.
    private HttpRequestMessage Patch(int vu, long n)
    {
        var learner = _learners[vu];
        var body = Encoding.UTF8.GetBytes($$"""{"completion_percentage":{{n % 99 + 1}},"time_spent_seconds":{{n + 1}}}""");
        return CoreClient.Authorized(HttpMethod.Patch, $"/api/v1/progress/{learner.RecordId}/", learner, JsonBody(body));
    }

    private HttpRequestMessage List(int vu, long n) =>
        CoreClient.Authorized(HttpMethod.Get, "/api/v1/progress/?page_size=20", _lister);

    private async Task RefreshAsync(Learner[] learners) =>
        await CoreClient.ForEachAsync(learners.Length, async i =>
        {
            await core.RefreshAsync(learners[i]);
            return true;
        });

    private static Task NothingToPrepare() => Task.CompletedTask;

    private static ByteArrayContent JsonBody(byte[] body) => new(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };
}
