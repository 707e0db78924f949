using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;

namespace CyberHub.Ai.Recommendations;

/// <summary>What a rebuild read and wrote.</summary>
public sealed record CoCompletionRebuildResult(int Learners, int Completions, int Pairs, int Items);

/// <summary>Core refused or could not answer a rebuild's read.</summary>
public sealed class CoCompletionRebuildException(string message) : Exception(message);

/// <summary>
/// Rebuilds the co-completion counts and every learner's completions from Core (<c>cyberhub rebuild-recommendations</c>),
/// for a fresh AI store or after a change of the settings: reads every learner's completed progress as a service client
/// and replaces the counts in one transaction. Deterministic: the counts equal what the events of those completions
/// produced, fed in the order of their completion times.
/// </summary>
public sealed class CoCompletionRebuild(ILearnerProfileStore store, CoCompletionSettings settings, TimeProvider clock)
{
    public const int PageSize = 100;

    public async Task<CoCompletionRebuildResult> RunAsync(HttpClient core, string clientId, string clientSecret, IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var records = await ReadCompletedAsync(core, clientId, clientSecret, progress, cancellationToken);
        var (learners, counts) = Build(records, settings);
        await store.ReplaceAsync(learners, counts, clock.GetUtcNow().UtcDateTime, cancellationToken);
        return new CoCompletionRebuildResult(learners.Count, learners.Values.Sum(l => l.Count), counts.Pairs.Count, counts.Items.Count);
    }

    /// <summary>
    /// Every learner's completions and the counts their completions make: each learner's completions in the order of
    /// their times, each paired with the ones before it, all learners' fed to the model in the order of time.
    /// </summary>
    public static (IReadOnlyDictionary<long, IReadOnlyList<LearnerCompletion>> Learners, CoCompletionState Counts) Build(
        IEnumerable<ProgressDto> records, CoCompletionSettings settings)
    {
        var learners = records
            .Where(r => r.Status == ProgressStatus.Completed)
            .GroupBy(r => r.UserId)
            .OrderBy(g => g.Key)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<LearnerCompletion>)[.. LearnerCompletions.Ordered(g
                .GroupBy(r => new ContentKey(r.ContentType, r.ContentId))
                .Select(r => new LearnerCompletion(r.Key, LearnerCompletions.ToMilliseconds(r.First().CompletedAt ?? r.First().UpdatedAt), ProgressStatus.Completed)))]);
        var model = new CoCompletionModel(settings);
        foreach (var (_, observed) in learners
            .SelectMany(l => LearnerCompletions.Observed(l.Value).Select(o => (User: l.Key, Observed: o)))
            .OrderBy(o => o.Observed.At).ThenBy(o => o.User))
        {
            model.Add(observed.Earlier, observed.Completed, observed.At);
        }
        return (learners, model.State());
    }

    /// <summary>Every completed progress record in Core, all pages, with a service token (asked again should it expire).</summary>
    private static async Task<IReadOnlyList<ProgressDto>> ReadCompletedAsync(HttpClient core, string clientId, string clientSecret,
        IProgress<int>? progress, CancellationToken cancellationToken)
    {
        var token = await TokenAsync(core, clientId, clientSecret, cancellationToken);
        // By id: a page that shifts while it is read (a record deleted meanwhile) repeats a record rather than losing one.
        var records = new Dictionary<long, ProgressDto>();
        for (var page = 1; ; page++)
        {
            var uri = string.Create(CultureInfo.InvariantCulture, $"/api/v1/progress/?status=completed&page={page}&page_size={PageSize}");
            var answer = await SendAsync(core, uri, token, cancellationToken);
            if (answer.StatusCode == HttpStatusCode.Unauthorized)
            {
                // The service token expired (15 minutes): ask for another.
                answer.Dispose();
                token = await TokenAsync(core, clientId, clientSecret, cancellationToken);
                answer = await SendAsync(core, uri, token, cancellationToken);
            }
            using var response = answer;
            if (response.StatusCode == HttpStatusCode.NotFound && page > 1)
            {
                break;
            }
            await EnsureSuccessAsync(response, uri, cancellationToken);
            var result = await response.Content.ReadFromJsonAsync<PagedResponse<ProgressDto>>(CyberHubJson.Options, cancellationToken)
                ?? throw new CoCompletionRebuildException($"Core answered {uri} with nothing.");
            foreach (var record in result.Results)
            {
                records[record.Id] = record;
            }
            progress?.Report(records.Count);
            if (result.Next is null || result.Results.Count == 0)
            {
                break;
            }
        }
        return [.. records.Values];
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient core, string uri, string token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await core.SendAsync(request, cancellationToken);
    }

    private static async Task<string> TokenAsync(HttpClient core, string clientId, string clientSecret, CancellationToken cancellationToken)
    {
        using var response = await core.PostAsJsonAsync("/api/v1/token/service/", new ClientCredentialsRequest(clientId, clientSecret), CyberHubJson.Options, cancellationToken);
        await EnsureSuccessAsync(response, "/api/v1/token/service/", cancellationToken);
        var token = await response.Content.ReadFromJsonAsync<ServiceTokenResponse>(CyberHubJson.Options, cancellationToken);
        return token?.Access ?? throw new CoCompletionRebuildException("Core's token answer holds no access token.");
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string uri, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new CoCompletionRebuildException($"Core answered {(int)response.StatusCode} to {uri}: {(body.Length > 300 ? body[..300] : body)}");
        }
    }
}
