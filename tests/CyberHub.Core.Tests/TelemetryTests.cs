using System.Data.Common;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.ServiceDefaults.Observability;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Tests;

/// <summary>
/// Database command durations, by system and operation. Requests are sent in a fresh trace and the recorder notes
/// the trace each measurement was made in, so a test reads only what it caused, though other tests run at the same time.
/// </summary>
public abstract class DatabaseTelemetryTests<TServer>(TServer server, string system) : IDisposable where TServer : CoreServer
{
    private readonly TelemetryRecorder _recorder = new();

    public void Dispose() => _recorder.Dispose();

    [Fact]
    public async Task Each_command_of_a_request_is_timed_by_system_and_operation()
    {
        using var anonymous = server.CreateClient();
        var name = $"tele{Guid.NewGuid():N}"[..20];
        var register = await _recorder.SendAsync(anonymous, HttpMethod.Post, "/api/v1/users/",
            new RegisterRequest($"{name}@example.com", name, $"pw-{Guid.NewGuid():N}", "Tele", "Metry"), HttpStatusCode.Created);
        var registered = _recorder.Measured(register, "cyberhub.db.query.duration");
        Assert.Contains(registered, m => (string?)m.Tags["db.operation"] == "insert");
        Assert.Contains(registered, m => (string?)m.Tags["db.operation"] == "select");

        var learner = await server.RegisterAsync();
        var update = await _recorder.SendAsync(learner.Client, HttpMethod.Patch, "/api/v1/users/me/", new UpdateProfileRequest("Changed", null, null, null));
        var updated = _recorder.Measured(update, "cyberhub.db.query.duration");
        Assert.Contains(updated, m => (string?)m.Tags["db.operation"] == "update");

        Assert.All([.. registered, .. updated], m =>
        {
            Assert.Equal(system, m.Tags["db.system"]);
            Assert.False(m.Tags.ContainsKey("error.type"));
            Assert.InRange(m.Value, 0, 30);
        });
    }

    [Fact]
    public async Task Commands_are_timed_on_the_sync_and_async_paths_and_failures_with_their_error_type()
    {
        var trace = ActivityTraceId.CreateRandom();
        using (new Activity("cyberhub-test").SetParentId(trace, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded).Start())
        {
            await using var scope = server.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
            Assert.True(db.Users.Count() >= 0);
            Assert.ThrowsAny<DbException>(() => db.Database.ExecuteSqlRaw("SELECT * FROM no_such_table"));
            await db.Database.ExecuteSqlRawAsync("""/* tagged */ DELETE FROM outbox_events WHERE "Id" < 0""");
            await Assert.ThrowsAnyAsync<DbException>(() => db.Database.ExecuteSqlRawAsync("DELETE FROM no_such_table"));
            await db.Database.ExecuteSqlRawAsync("SELECT 1; SELECT 2;");
        }

        var measured = _recorder.Measured(trace, "cyberhub.db.query.duration");
        Assert.All(measured, m => Assert.Equal(system, m.Tags["db.system"]));
        Assert.Equal(["select", "select", "delete", "delete", "batch"], measured.Select(m => (string?)m.Tags["db.operation"]));
        Assert.Equal([false, true, false, true, false], measured.Select(m => m.Tags.ContainsKey("error.type")));
        Assert.EndsWith("Exception", (string?)measured[1].Tags["error.type"]);
        Assert.EndsWith("Exception", (string?)measured[3].Tags["error.type"]);
    }
}

public sealed class SqliteDatabaseTelemetryTests(SqliteCoreServer server)
    : DatabaseTelemetryTests<SqliteCoreServer>(server, "sqlite"), IClassFixture<SqliteCoreServer>;

public sealed class PostgresDatabaseTelemetryTests(PostgresCoreServer server)
    : DatabaseTelemetryTests<PostgresCoreServer>(server, "postgresql"), IClassFixture<PostgresCoreServer>;

public sealed class SqlOperationTests
{
    [Theory]
    [InlineData("SELECT 1", "select")]
    [InlineData("  insert INTO users VALUES (1)", "insert")]
    [InlineData("-- a query tag\n-- and another\nUPDATE users SET x = 1", "update")]
    [InlineData("/* multi\nline */ DELETE FROM users", "delete")]
    [InlineData("INSERT INTO a VALUES (1);\n", "insert")]
    [InlineData("INSERT INTO a VALUES (1);\nDELETE FROM b;", "batch")]
    [InlineData("SELECTED", "other")]
    [InlineData("WITH x AS (SELECT 1) SELECT * FROM x", "other")]
    [InlineData("PRAGMA journal_mode=WAL;", "other")]
    [InlineData("-- only a comment", "other")]
    [InlineData("/* unterminated", "other")]
    [InlineData("", "other")]
    [InlineData(null, "other")]
    public void The_operation_is_the_first_keyword_after_comments(string? sql, string operation) =>
        Assert.Equal(operation, QueryDurationInterceptor.Operation(sql));
}

/// <summary>
/// A Core instance that dispatches to a stand-in receiver, started while a test span is current: the dispatcher
/// must not adopt it, each delivery being a trace of its own.
/// </summary>
public abstract class OutboxTelemetryFixture : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));

    /// <summary>Listening before the server starts, so that it sees the dispatcher's spans from the first.</summary>
    public TelemetryRecorder Recorder { get; } = new();
    public ProgressEventReceiver Receiver { get; } = new();
    public CoreServer Server { get; private set; } = null!;
    public ActivityTraceId StartTrace { get; private set; }

    protected abstract Task<string?> CreateDatabaseAsync();
    protected virtual Task DropDatabaseAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        await Receiver.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["CYBERHUB_AI_API_URL"] = Receiver.BaseAddress.ToString(),
            ["Outbox:Enabled"] = "true",
            ["Outbox:PollInterval"] = "00:00:00.200",
            ["Outbox:MinBackoff"] = "00:00:00.050",
            ["Outbox:MaxBackoff"] = "00:00:00.400",
            ["Outbox:LeaseDuration"] = "00:00:10",
        };
        Server = new ConfiguredCoreServer(await CreateDatabaseAsync(), _dataDirectory, settings);
        using var starting = new Activity("cyberhub-test-start").Start();
        StartTrace = starting.TraceId;
        await Server.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await Receiver.DisposeAsync();
        await DropDatabaseAsync();
        Recorder.Dispose();
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}

public sealed class SqliteOutboxTelemetryFixture : OutboxTelemetryFixture
{
    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
}

public sealed class PostgresOutboxTelemetryFixture : OutboxTelemetryFixture
{
    private readonly ThrowawayDatabase _database = new("core_outbox_telemetry");

    protected override async Task<string?> CreateDatabaseAsync() => await _database.CreateAsync();

    protected override Task DropDatabaseAsync() => _database.DropAsync();
}

/// <summary>
/// Outbox spans and metrics. Several Core servers dispatch in this process at once, and the dispatcher's spans
/// carry no user, so the assertions hold for every dispatch span the recorder saw, and counts are "at least".
/// </summary>
public abstract class OutboxTelemetryTests<TFixture>(TFixture fixture) : IDisposable where TFixture : OutboxTelemetryFixture
{
    private readonly TelemetryRecorder _recorder = fixture.Recorder;

    public void Dispose() => fixture.Receiver.Respond = _ => 200;

    [Fact]
    public async Task Each_delivery_is_a_root_span_that_counts_its_events_and_their_lag()
    {
        var learner = await fixture.Server.RegisterAsync();
        await CreateAsync(learner.Client);
        await CreateAsync(learner.Client);
        await fixture.Receiver.WaitForAsync(_ => fixture.Receiver.AcceptedFor(learner.User.Id).Count >= 2);
        // The span ends once the delivery is recorded, just after the receiver answered.
        await EventuallyAsync(() => Dispatches("delivered").Count > 0);

        var all = _recorder.Spans("outbox.dispatch");
        Assert.All(all, span =>
        {
            Assert.Null(span.Parent);
            Assert.Equal(default, span.ParentSpanId);
            Assert.NotEqual(fixture.StartTrace, span.TraceId);
        });
        Assert.All(Dispatches("delivered"), span =>
        {
            var events = (int)span.GetTagItem("outbox.events")!;
            Assert.InRange(events, 1, 100);
            Assert.Equal(ActivityStatusCode.Unset, span.Status);
            Assert.Equal(events, _recorder.Measured(span.TraceId, "cyberhub.outbox.delivered").Sum(m => m.Value));
            var lags = _recorder.Measured(span.TraceId, "cyberhub.outbox.delivery.lag");
            Assert.Equal(events, lags.Count);
            Assert.All(lags, lag => Assert.True(lag.Value >= 0, $"lag {lag.Value}"));
            Assert.Empty(_recorder.Measured(span.TraceId, "cyberhub.outbox.failures"));
        });
    }

    [Fact]
    public async Task Failed_attempts_are_counted_by_reason_and_the_backlog_gauge_shows_what_waits()
    {
        fixture.Receiver.Respond = _ => (int)HttpStatusCode.ServiceUnavailable;
        var learner = await fixture.Server.RegisterAsync();
        for (var i = 0; i < 3; i++)
        {
            await CreateAsync(learner.Client);
        }

        await EventuallyAsync(() => Dispatches("unavailable").Count > 0);
        Assert.All(Dispatches("unavailable"), span =>
        {
            Assert.Equal(ActivityStatusCode.Error, span.Status);
            var failure = Assert.Single(_recorder.Measured(span.TraceId, "cyberhub.outbox.failures"));
            Assert.Equal(1, failure.Value);
            Assert.Equal("unavailable", failure.Tags["reason"]);
            Assert.Empty(_recorder.Measured(span.TraceId, "cyberhub.outbox.delivered"));
        });

        // Counted off the reader's thread: a reading reports the count an earlier one started.
        await EventuallyAsync(() =>
        {
            _recorder.ObserveGauges();
            return _recorder.Measured(null, CyberHubTelemetry.OutboxBacklogName).Any(m => m.Value >= 3);
        }, TimeSpan.FromSeconds(30));
        // One gauge for the process, however many Core servers run in it.
        Assert.Single(_recorder.Instruments, i => i.Name == CyberHubTelemetry.OutboxBacklogName);

        fixture.Receiver.Respond = _ => 200;
        await fixture.Receiver.WaitForAsync(_ => fixture.Receiver.AcceptedFor(learner.User.Id).Count >= 3);
    }

    private IReadOnlyList<Activity> Dispatches(string result) =>
        [.. _recorder.Spans("outbox.dispatch").Where(s => (string?)s.GetTagItem("outbox.result") == result)];

    private static async Task CreateAsync(HttpClient client) =>
        await (await client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest($"item-{Guid.NewGuid():N}", "lesson", null, null, null, null, null))).ReadAsync<ProgressDto>(HttpStatusCode.Created);

    private static async Task EventuallyAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not come true in time.");
            await Task.Delay(50);
        }
    }
}

public sealed class SqliteOutboxTelemetryTests(SqliteOutboxTelemetryFixture fixture)
    : OutboxTelemetryTests<SqliteOutboxTelemetryFixture>(fixture), IClassFixture<SqliteOutboxTelemetryFixture>;

public sealed class PostgresOutboxTelemetryTests(PostgresOutboxTelemetryFixture fixture)
    : OutboxTelemetryTests<PostgresOutboxTelemetryFixture>(fixture), IClassFixture<PostgresOutboxTelemetryFixture>;
