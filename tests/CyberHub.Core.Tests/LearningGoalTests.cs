using System.Net;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Tests;

/// <summary>The weekly goal and the streak of active days (<c>/api/v1/progress/goal/</c>), computed from progress.</summary>
public abstract class LearningGoalTests<TServer>(TServer server) where TServer : CoreServer
{
    private const string Goal = "/api/v1/progress/goal/";

    private static Task<HttpResponseMessage> PutAsync(HttpClient client, string json) => client.SendRawAsync(HttpMethod.Put, Goal, json);

    private static async Task<LearningGoalDto> GetAsync(HttpClient client) => await (await client.GetAsync(Goal)).ReadAsync<LearningGoalDto>();

    /// <summary>Records progress on a new item and moves its timestamps to <paramref name="at"/> (the API stamps the server's now).</summary>
    private async Task WorkedOnAsync(Learner learner, DateTime at, bool completed)
    {
        var id = $"goal-{Guid.NewGuid():N}";
        var created = await (await learner.Client.PostJsonAsync("/api/v1/progress/", new
        {
            content_id = id, content_type = "lesson", status = completed ? "completed" : "in_progress", completion_percentage = completed ? 100 : 30,
        })).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
        await db.Progress.Where(p => p.Id == created.Id).ExecuteUpdateAsync(s => s
            .SetProperty(p => p.StartedAt, at)
            .SetProperty(p => p.UpdatedAt, at)
            .SetProperty(p => p.CompletedAt, completed ? at : null));
    }

    [Fact]
    public async Task A_new_learner_has_no_goal_and_no_streak_and_days_count_in_utc()
    {
        var learner = await server.RegisterAsync();

        var goal = await GetAsync(learner.Client);

        Assert.Null(goal.ItemsPerWeek);
        Assert.Equal("UTC", goal.TimeZone);
        Assert.False(goal.TimeZoneSet);
        Assert.Equal((0, 0, false), (goal.CompletedThisWeek, goal.StreakDays, goal.ActiveToday));
        Assert.Null(goal.LastActiveDay);
        Assert.Equal(DayOfWeek.Monday, goal.WeekStart.DayOfWeek);
        Assert.True(goal.WeekStart <= goal.Today && goal.Today.DayNumber - goal.WeekStart.DayNumber < 7);
    }

    [Fact]
    public async Task Put_sets_the_goal_and_time_zone_they_persist_and_null_clears_them()
    {
        var learner = await server.RegisterAsync();

        var set = await (await PutAsync(learner.Client, """{"items_per_week":3,"time_zone":"Pacific/Auckland"}""")).ReadAsync<LearningGoalDto>();
        Assert.Equal((3, "Pacific/Auckland", true), (set.ItemsPerWeek, set.TimeZone, set.TimeZoneSet));
        var again = await GetAsync(learner.Client);
        Assert.Equal((3, "Pacific/Auckland", true), (again.ItemsPerWeek, again.TimeZone, again.TimeZoneSet));
        var auckland = DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeBySystemTimeZoneId(DateTime.UtcNow, "Pacific/Auckland"));
        Assert.InRange(again.Today.DayNumber, auckland.DayNumber - 1, auckland.DayNumber);

        // Another learner's goal is their own.
        var other = await server.RegisterAsync();
        Assert.Null((await GetAsync(other.Client)).ItemsPerWeek);

        var cleared = await (await PutAsync(learner.Client, """{"items_per_week":null,"time_zone":null}""")).ReadAsync<LearningGoalDto>();
        Assert.Equal((null, "UTC", false), (cleared.ItemsPerWeek, cleared.TimeZone, cleared.TimeZoneSet));
        Assert.Null((await GetAsync(learner.Client)).ItemsPerWeek);
    }

    [Theory]
    [InlineData("""{"items_per_week":0}""", "items_per_week")]
    [InlineData("""{"items_per_week":101}""", "items_per_week")]
    [InlineData("""{"items_per_week":-3}""", "items_per_week")]
    [InlineData("""{"items_per_week":2,"time_zone":"Mars/Olympus_Mons"}""", "time_zone")]
    [InlineData("""{"items_per_week":2,"time_zone":"../../etc/passwd"}""", "time_zone")]
    [InlineData("""{"items_per_week":2,"time_zone":"Europe/Berlin\u0007"}""", "time_zone")]
    public async Task A_bad_goal_is_400_naming_the_field_and_changes_nothing(string json, string field)
    {
        var learner = await server.RegisterAsync();
        await (await PutAsync(learner.Client, """{"items_per_week":5,"time_zone":"Europe/Berlin"}""")).ReadAsync<LearningGoalDto>();

        var detail = await (await PutAsync(learner.Client, json)).DetailAsync(HttpStatusCode.BadRequest);

        Assert.StartsWith(field + ":", detail, StringComparison.Ordinal);
        var goal = await GetAsync(learner.Client);
        Assert.Equal((5, "Europe/Berlin"), (goal.ItemsPerWeek, goal.TimeZone));
    }

    [Fact]
    public async Task The_streak_counts_consecutive_active_days_and_the_week_counts_completions()
    {
        var learner = await server.RegisterAsync();
        var now = DateTime.UtcNow;
        await WorkedOnAsync(learner, now.AddDays(-1), completed: false);
        await WorkedOnAsync(learner, now.AddDays(-2), completed: true);
        await WorkedOnAsync(learner, now.AddDays(-4), completed: true); // a gap: not part of the streak

        // Nothing today yet: the streak runs up to yesterday.
        var before = await GetAsync(learner.Client);
        Assert.Equal((2, false), (before.StreakDays, before.ActiveToday));
        Assert.Equal(before.Today.AddDays(-1), before.LastActiveDay);

        await WorkedOnAsync(learner, now, completed: true);
        var after = await GetAsync(learner.Client);
        Assert.Equal((3, true), (after.StreakDays, after.ActiveToday));
        var today = DateOnly.FromDateTime(now);
        var expectedThisWeek = new[] { now.AddDays(-2), now.AddDays(-4), now }
            .Count(d => DateOnly.FromDateTime(d) >= after.WeekStart && DateOnly.FromDateTime(d) <= today);
        Assert.Equal(expectedThisWeek, after.CompletedThisWeek);
    }

    [Fact]
    public async Task Days_are_counted_in_the_learners_time_zone()
    {
        var learner = await server.RegisterAsync();
        // Half an hour before the last UTC midnight: yesterday in UTC, already today's date (13:30) at UTC+14.
        var midnight = DateTime.UtcNow.Date;
        await WorkedOnAsync(learner, midnight.AddMinutes(-30), completed: false);

        var utc = await GetAsync(learner.Client);
        Assert.Equal(DateOnly.FromDateTime(midnight).AddDays(-1), utc.LastActiveDay);

        var kiritimati = await (await PutAsync(learner.Client, """{"items_per_week":1,"time_zone":"Pacific/Kiritimati"}""")).ReadAsync<LearningGoalDto>();
        Assert.Equal(DateOnly.FromDateTime(midnight), kiritimati.LastActiveDay);
        Assert.True(kiritimati.StreakDays >= 1);
    }

    [Fact]
    public async Task Deleting_the_account_deletes_its_goal()
    {
        var learner = await server.RegisterAsync();
        await (await PutAsync(learner.Client, """{"items_per_week":4}""")).ReadAsync<LearningGoalDto>();
        using var admin = await server.AdminClientAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/users/{learner.User.Id}/")).StatusCode);

        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
        Assert.False(await db.LearningGoals.AnyAsync(g => g.UserId == learner.User.Id));
    }
}

public sealed class SqliteLearningGoalTests(SqliteCoreServer server) : LearningGoalTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresLearningGoalTests(PostgresCoreServer server) : LearningGoalTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;
