using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CyberHub.Contracts;

namespace CyberHub.Bench.Load.Soak;

/// <summary>What the soak counts for each kind of request: latencies of every answer, and failures by kind.</summary>
public sealed class RequestStats
{
    private readonly ConcurrentQueue<long> _ticks = new();
    private readonly ConcurrentDictionary<string, (long Count, string Sample)> _errors = new();
    private long _count;

    public long Count => Interlocked.Read(ref _count);
    public long Errors => _errors.Values.Sum(e => e.Count);
    public IReadOnlyDictionary<string, (long Count, string Sample)> ErrorKinds => _errors;

    public void Add(long ticks, string? error, string sample)
    {
        _ticks.Enqueue(ticks);
        Interlocked.Increment(ref _count);
        if (error is not null)
        {
            _errors.AddOrUpdate(error, _ => (1, sample.Length > 300 ? sample[..300] : sample), (_, e) => (e.Count + 1, e.Sample));
        }
    }

    /// <summary>Nearest-rank percentile in milliseconds.</summary>
    public double PercentileMs(double p)
    {
        var sorted = _ticks.ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }
        Array.Sort(sorted);
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)] * 1000.0 / Stopwatch.Frequency;
    }
}

/// <summary>
/// One learner on the journey, again and again: log in now and then (a new session), list their progress, update one
/// of their records, and every fourth round start a new one. Notes what Core acknowledged, so the soak can check at
/// the end that every acknowledged create exists once and every acknowledged update is what is stored.
/// </summary>
public sealed class JourneyLearner(HttpClient http, string email, string password, TokenPair tokens, long userId)
{
    public const string Login = "login: POST /token/";
    public const string List = "list: GET /progress/";
    public const string Patch = "update: PATCH /progress/{id}/";
    public const string Create = "create: POST /progress/";
    public static readonly string[] Kinds = [Login, List, Patch, Create];

    private readonly List<long> _records = [];
    private string _access = tokens.Access;

    public long UserId => userId;
    /// <summary>The last acknowledged state of each of the learner's records (creates and updates).</summary>
    public Dictionary<long, ProgressDto> Acknowledged { get; } = [];
    public int AcknowledgedCreates { get; private set; }
    /// <summary>The version Core gives a new record (from an acknowledged create).</summary>
    public int? CreatedVersion { get; private set; }
    public int AcknowledgedUpdates { get; private set; }
    /// <summary>Writes that got no 2xx (each may or may not have committed).</summary>
    public int UnknownWrites { get; private set; }

    public static async Task<JourneyLearner> RegisterAsync(HttpClient http, string runId, int index)
    {
        var name = $"s{runId}u{index}";
        var password = $"pw-{Guid.NewGuid():N}";
        var email = $"{name}@soak.example";
        using var response = await http.PostAsJsonAsync("/api/v1/users/", new RegisterRequest(email, name, password, "Soak", "Learner"), CyberHubJson.Options);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"registering {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        var registered = (await response.Content.ReadFromJsonAsync<RegisterResponse>(CyberHubJson.Options))!;
        return new JourneyLearner(http, email, password, new TokenPair(registered.Access, registered.Refresh), registered.User.Id);
    }

    public async Task RunAsync(IReadOnlyDictionary<string, RequestStats> stats, CancellationToken stop)
    {
        for (var round = 0; !stop.IsCancellationRequested; round++)
        {
            if (round % 20 == 19)
            {
                var pair = await SendAsync<TokenPair>(stats[Login], HttpMethod.Post, "/api/v1/token/", new TokenRequest(email, null, password), authorized: false);
                if (pair is not null)
                {
                    _access = pair.Access;
                }
            }
            await SendAsync<PagedResponse<ProgressDto>>(stats[List], HttpMethod.Get, "/api/v1/progress/?page_size=20", null);
            if (_records.Count > 0)
            {
                var id = _records[Random.Shared.Next(_records.Count)];
                // The round number only grows, so it also tells the learner's updates apart.
                Write(await SendAsync<ProgressDto>(stats[Patch], HttpMethod.Patch, $"/api/v1/progress/{id}/",
                    new UpdateProgressRequest(null, round % 98 + 1, null, round, null)), create: false);
            }
            if (round % 4 == 0)
            {
                Write(await SendAsync<ProgressDto>(stats[Create], HttpMethod.Post, "/api/v1/progress/",
                    new CreateProgressRequest($"soak-{userId}-{round}", "lesson", ProgressStatus.InProgress, 1, null, round, null)), create: true);
            }
        }
    }

    private void Write(ProgressDto? acknowledged, bool create)
    {
        if (acknowledged is null)
        {
            UnknownWrites++;
            return;
        }
        Acknowledged[acknowledged.Id] = acknowledged;
        if (create)
        {
            _records.Add(acknowledged.Id);
            AcknowledgedCreates++;
            CreatedVersion = acknowledged.Version;
        }
        else
        {
            AcknowledgedUpdates++;
        }
    }

    /// <summary>Every record of the learner as Core lists them now, all pages.</summary>
    public async Task<List<ProgressDto>> StoredAsync()
    {
        var all = new List<ProgressDto>();
        for (var page = 1; ; page++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/progress/?page_size=100&page={page}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _access);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            var body = (await response.Content.ReadFromJsonAsync<PagedResponse<ProgressDto>>(CyberHubJson.Options))!;
            all.AddRange(body.Results);
            if (body.Next is null)
            {
                return all;
            }
        }
    }

    private async Task<T?> SendAsync<T>(RequestStats stats, HttpMethod method, string path, object? body, bool authorized = true) where T : class
    {
        var start = Stopwatch.GetTimestamp();
        string? error = null;
        var sample = "";
        T? result = null;
        try
        {
            using var request = new HttpRequestMessage(method, path);
            if (authorized)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _access);
            }
            if (body is not null)
            {
                request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), CyberHubJson.Options))
                {
                    Headers = { ContentType = new MediaTypeHeaderValue("application/json") },
                };
            }
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsByteArrayAsync();
            if (response.IsSuccessStatusCode)
            {
                result = JsonSerializer.Deserialize<T>(text, CyberHubJson.Options);
            }
            else
            {
                error = $"HTTP {(int)response.StatusCode}";
                sample = Encoding.UTF8.GetString(text);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            error = e is TaskCanceledException ? "client timeout" : e.GetType().Name;
            sample = e.Message;
        }
        stats.Add(Stopwatch.GetTimestamp() - start, error, sample);
        return result;
    }
}
