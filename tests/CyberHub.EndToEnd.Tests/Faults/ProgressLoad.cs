using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CyberHub.Contracts;
using CyberHub.Testing;

namespace CyberHub.EndToEnd.Tests.Faults;

public sealed record LoadLearner(long UserId, string Access)
{
    public static async Task<LoadLearner> RegisterAsync(HttpClient http, string prefix)
    {
        var name = $"{prefix}{Guid.NewGuid():N}"[..20];
        var response = await http.PostAsJsonAsync("/api/v1/users/",
            new RegisterRequest($"{name}@example.com", name, $"pw-{Guid.NewGuid():N}", "Fault", "Learner"), CyberHubJson.Options);
        var registered = await response.ReadAsync<RegisterResponse>(HttpStatusCode.Created);
        return new LoadLearner(registered.User.Id, registered.Access);
    }
}

/// <summary>A progress write as sent: a create names its content, an update its record; both set these two values.</summary>
public sealed record ProgressWrite(long UserId, bool Create, long? RecordId, string? ContentId, double CompletionPercentage, long TimeSpentSeconds);

/// <summary>One request of the load and how it ended: <see cref="Status"/> 0 when no answer came (see <see cref="Error"/>).</summary>
public sealed record LoadOutcome(string Request, DateTime StartedAt, TimeSpan Elapsed, int Status, string Body, string? RetryAfter, string? Error)
{
    public bool Succeeded => Status is >= 200 and < 300;
    public override string ToString() => $"{Request} at {StartedAt:HH:mm:ss.fff} → {(Status == 0 ? Error : $"{Status} {Body}")} in {Elapsed.TotalMilliseconds:0} ms";
}

/// <summary>
/// Learners writing progress at the same time, each one request after another on records of its own (creating one now
/// and then, updating the others, reading its list when asked to): so for each record the last acknowledged state is
/// known, and which unanswered or failed writes might have committed anyway. Every request's outcome is kept.
/// </summary>
public sealed class ProgressLoad(HttpClient http, IReadOnlyList<LoadLearner> learners, bool withReads)
{
    private readonly ConcurrentQueue<ProgressDto> _acknowledged = new();
    private readonly ConcurrentDictionary<long, ConcurrentQueue<ProgressWrite>> _unknown = new();
    private readonly ConcurrentQueue<LoadOutcome> _outcomes = new();
    private int _createdVersion = -1;

    /// <summary>Decides, for a request that failed, whether its learner carries on (true) or stops (false); it may also throw.</summary>
    public Func<LoadOutcome, bool> OnFailure { get; init; } = _ => true;

    public IReadOnlyList<ProgressDto> Acknowledged => [.. _acknowledged];
    public IReadOnlyList<LoadOutcome> Outcomes => [.. _outcomes];
    public int AcknowledgedCount => _acknowledged.Count;

    /// <summary>Writes that got no 2xx: each may or may not have committed.</summary>
    public IReadOnlyList<ProgressWrite> Unknown(long userId) => _unknown.TryGetValue(userId, out var writes) ? [.. writes] : [];

    /// <summary>The version every record is created with (the acknowledgements say which).</summary>
    public int CreatedVersion => _createdVersion;

    /// <summary>One task per learner, until <paramref name="stop"/> or until <see cref="OnFailure"/> stops the learner.</summary>
    public Task[] Start(CancellationToken stop) => [.. learners.Select(l => Task.Run(() => RunAsync(l, stop)))];

    /// <summary>Until <paramref name="acknowledged"/> writes are acknowledged; a learner whose load failed fails the wait at once.</summary>
    public async Task WaitForAsync(int acknowledged, Task[] load, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
        while (AcknowledgedCount < acknowledged)
        {
            if (load.FirstOrDefault(t => t.IsCompleted) is { } ended)
            {
                await ended;
                Assert.Fail("a learner's load ended early");
            }
            Assert.True(DateTime.UtcNow < deadline, $"only {AcknowledgedCount} writes were acknowledged in time");
            await Task.Delay(10);
        }
    }

    /// <summary>
    /// A record acknowledged at version v is stored at v with the acknowledged values, or later with the values of one of
    /// the learner's unacknowledged writes to it (which may have committed). A record never acknowledged may exist only as
    /// one of the learner's unacknowledged creates. Nothing else may be stored.
    /// </summary>
    public void CheckStored(LoadLearner learner, IReadOnlyList<ProgressDto> records)
    {
        var acknowledged = _acknowledged.Where(a => a.UserId == learner.UserId).GroupBy(a => a.Id).ToDictionary(g => g.Key, g => g.MaxBy(a => a.Version)!);
        var unknown = Unknown(learner.UserId);
        foreach (var (id, ack) in acknowledged)
        {
            var record = records.SingleOrDefault(r => r.Id == id);
            Assert.True(record is not null, $"acknowledged record {id} (version {ack.Version}) of user {learner.UserId} is lost");
            if (record.Version == ack.Version)
            {
                Assert.True((ack.CompletionPercentage, ack.TimeSpentSeconds) == (record.CompletionPercentage, record.TimeSpentSeconds),
                    $"record {id} at its acknowledged version {ack.Version} holds {record.CompletionPercentage}/{record.TimeSpentSeconds}, acknowledged {ack.CompletionPercentage}/{ack.TimeSpentSeconds}");
                continue;
            }
            Assert.True(record.Version > ack.Version, $"record {id} went back from acknowledged version {ack.Version} to {record.Version}");
            // Writes of a learner are sequential, so the unacknowledged ones after the acknowledgement are the later ones.
            var later = unknown.Where(w => !w.Create && w.RecordId == id && w.TimeSpentSeconds > ack.TimeSpentSeconds).ToList();
            Assert.True(record.Version - ack.Version <= later.Count && later.Any(w => (w.CompletionPercentage, w.TimeSpentSeconds) == (record.CompletionPercentage, record.TimeSpentSeconds)),
                $"record {id} is at version {record.Version}, acknowledged at {ack.Version}, and holds values no unacknowledged write sent");
        }
        foreach (var record in records.Where(r => !acknowledged.ContainsKey(r.Id)))
        {
            Assert.True(unknown.Any(w => w.Create && w.ContentId == record.ContentId
                    && (w.CompletionPercentage, w.TimeSpentSeconds) == (record.CompletionPercentage, record.TimeSpentSeconds)),
                $"record {record.Id} ({record.ContentId}) of user {learner.UserId} was never acknowledged nor sent unacknowledged");
        }
    }

    private async Task RunAsync(LoadLearner learner, CancellationToken stop)
    {
        var records = new List<long>();
        // Values only grow (time spent is the write's number), which tells a learner's writes apart and orders them.
        for (var n = 1; !stop.IsCancellationRequested; n++)
        {
            if (withReads && n % 3 == 0)
            {
                if (await SendAsync(learner, "GET /progress/", () => new HttpRequestMessage(HttpMethod.Get, "/api/v1/progress/?page_size=5"), null) is null)
                {
                    return;
                }
                continue;
            }
            var create = records.Count == 0 || n % 4 == 0;
            var write = create
                ? new ProgressWrite(learner.UserId, true, null, $"fault-{learner.UserId}-{n}", n % 98 + 1, n)
                : new ProgressWrite(learner.UserId, false, records[n % records.Count], null, n % 98 + 1, n);
            var dto = await SendAsync(learner, create ? "POST /progress/" : $"PATCH /progress/{write.RecordId}/", () => create
                ? new HttpRequestMessage(HttpMethod.Post, "/api/v1/progress/")
                {
                    Content = JsonContent.Create(new CreateProgressRequest(write.ContentId, "lesson", ProgressStatus.InProgress,
                        write.CompletionPercentage, null, write.TimeSpentSeconds, null), options: CyberHubJson.Options),
                }
                : new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/progress/{write.RecordId}/")
                {
                    Content = JsonContent.Create(new UpdateProgressRequest(null, write.CompletionPercentage, null, write.TimeSpentSeconds, null),
                        options: CyberHubJson.Options),
                }, write);
            if (dto is null)
            {
                return;
            }
            if (create && dto.Id > 0)
            {
                records.Add(dto.Id);
            }
        }
    }

    /// <summary>
    /// Sends one request and notes how it ended. Answers the acknowledged record of a write (a dummy for a failed one or
    /// a read), or null when the learner stops.
    /// </summary>
    private async Task<ProgressDto?> SendAsync(LoadLearner learner, string name, Func<HttpRequestMessage> build, ProgressWrite? write)
    {
        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        LoadOutcome outcome;
        try
        {
            using var request = build();
            request.Headers.Authorization = new("Bearer", learner.Access);
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            outcome = new LoadOutcome(name, started, clock.Elapsed, (int)response.StatusCode, body,
                response.Headers.RetryAfter?.ToString(), null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            outcome = new LoadOutcome(name, started, clock.Elapsed, 0, "", null, $"{e.GetType().Name}: {e.Message}");
        }
        _outcomes.Enqueue(outcome);
        if (outcome.Succeeded)
        {
            if (write is null)
            {
                return Placeholder;
            }
            var dto = JsonSerializer.Deserialize<ProgressDto>(outcome.Body, CyberHubJson.Options)!;
            if (write.Create)
            {
                var previous = Interlocked.CompareExchange(ref _createdVersion, dto.Version, -1);
                Assert.True(previous == -1 || previous == dto.Version, $"records are created at version {previous} and {dto.Version}");
            }
            _acknowledged.Enqueue(dto);
            return dto;
        }
        if (write is not null)
        {
            _unknown.GetOrAdd(learner.UserId, _ => new()).Enqueue(write);
        }
        if (!OnFailure(outcome))
        {
            return null;
        }
        // Not a hot loop while a dependency is down.
        await Task.Delay(100);
        return Placeholder;
    }

    private static readonly ProgressDto Placeholder = new(0, 0, "", "", ProgressStatus.NotStarted, 0, null, 0, [], null, null, default, default, 0);
}
