using System.Net;
using System.Text.Json;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Organizations;
using CyberHub.Core.Tests.Infrastructure;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core.Tests;

/// <summary>
/// The cohort views against figures computed by hand. The cohort: learners A, B and C (members), an instructor and
/// the owner (who have progress too, which the views leave out, being no learners).
/// <list type="bullet">
/// <item>A: lab sqli in progress at 40 %, 600 s, untouched for 9 days; quiz q1 completed, score 80, 300 s.</item>
/// <item>B: lab sqli completed, score 40, 1200 s; quiz q1 in progress at 50 %, 100 s, touched now.</item>
/// <item>C: quiz q1 not started (a record with no work).</item>
/// </list>
/// </summary>
public abstract class OrganizationInsightsTests<TServer>(TServer server) where TServer : CoreServer
{
    private const string Organizations = "/api/v1/organizations/";
    private const long UnknownId = 987654321;

    private sealed record Cohort(
        OrganizationDto Organization, Learner Owner, Learner Instructor, Learner A, Learner B, Learner C)
    {
        public string Url(string rest = "") => $"{Organizations}{Organization.Id}/insights/{rest}";
    }

    private async Task<Cohort> CohortAsync()
    {
        var owner = await server.RegisterAsync("owner");
        var instructor = await server.RegisterAsync("instr");
        var a = await server.RegisterAsync("a");
        var b = await server.RegisterAsync("b");
        var c = await server.RegisterAsync("c");
        var organization = await (await owner.Client.PostJsonAsync(Organizations,
            new CreateOrganizationRequest("Cohort", $"cohort-{Guid.NewGuid():N}"[..20], null))).ReadAsync<OrganizationDto>(HttpStatusCode.Created);
        await JoinAsync(owner, organization.Id, instructor, OrganizationRoles.Instructor);
        foreach (var learner in new[] { a, b, c })
        {
            await JoinAsync(owner, organization.Id, learner, OrganizationRoles.Member);
        }

        await RecordAsync(owner, "sqli", ContentTypes.Lab, ProgressStatus.Completed, null, 10, 5);
        await RecordAsync(instructor, "q1", ContentTypes.Quiz, ProgressStatus.InProgress, 10, null, 5);
        var idle = await RecordAsync(a, "sqli", ContentTypes.Lab, ProgressStatus.InProgress, 40, null, 600);
        await RecordAsync(a, "q1", ContentTypes.Quiz, ProgressStatus.Completed, null, 80, 300);
        await RecordAsync(b, "sqli", ContentTypes.Lab, ProgressStatus.Completed, null, 40, 1200);
        await RecordAsync(b, "q1", ContentTypes.Quiz, ProgressStatus.InProgress, 50, null, 100);
        await RecordAsync(c, "q1", ContentTypes.Quiz, null, null, null, null);

        // A's lab has been left alone for nine days (and an hour, so that the whole days are nine).
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
        var then = DateTime.UtcNow.AddDays(-9).AddHours(-1);
        await db.Progress.Where(p => p.Id == idle.Id).ExecuteUpdateAsync(s => s.SetProperty(p => p.UpdatedAt, then));
        return new Cohort(organization, owner, instructor, a, b, c);
    }

    private static async Task JoinAsync(Learner owner, long organizationId, Learner member, string role)
    {
        var invitation = await (await owner.Client.PostJsonAsync($"{Organizations}{organizationId}/invitations/",
            new CreateInvitationRequest(member.User.Email, role))).ReadAsync<OrganizationInvitationDto>(HttpStatusCode.Created);
        await (await member.Client.PostAsync($"{Organizations}invitations/{invitation.Id}/accept/", null)).ReadAsync<OrganizationDto>();
    }

    private static async Task<ProgressDto> RecordAsync(
        Learner learner, string contentId, string contentType, ProgressStatus? status, double? completion, double? score, long? seconds) =>
        await (await learner.Client.PostJsonAsync("/api/v1/progress/",
            new CreateProgressRequest(contentId, contentType, status, completion, score, seconds, null))).ReadAsync<ProgressDto>(HttpStatusCode.Created);

    private static async Task<CohortSummaryDto> SummaryAsync(HttpClient client, Cohort cohort, string query = "") =>
        await (await client.GetAsync(cohort.Url(query))).ReadAsync<CohortSummaryDto>();

    private static async Task<PagedResponse<LearnerInsightDto>> LearnersAsync(HttpClient client, Cohort cohort, string query = "") =>
        await (await client.GetAsync(cohort.Url("learners/" + query))).ReadAsync<PagedResponse<LearnerInsightDto>>();

    private static async Task<PagedResponse<ItemInsightDto>> ItemsAsync(HttpClient client, Cohort cohort, string query = "") =>
        await (await client.GetAsync(cohort.Url("items/" + query))).ReadAsync<PagedResponse<ItemInsightDto>>();

    [Fact]
    public async Task The_summary_counts_the_learners_only()
    {
        var cohort = await CohortAsync();

        var summary = await SummaryAsync(cohort.Instructor.Client, cohort);
        Assert.Equal(cohort.Organization.Id, summary.OrganizationId);
        Assert.Equal(3, summary.Members);
        Assert.Equal(3, summary.ActiveLast7Days);       // each touched a record today (C opened q1 without working on it)
        Assert.Equal(2, summary.CompletedItems);        // A's q1, B's sqli
        Assert.Equal(60, summary.AverageScore);         // (80 + 40) / 2
        Assert.Equal(2, summary.StuckCount);            // A (sqli idle 9 days), B (sqli scored 40)
        Assert.Equal(2, summary.StuckItems);
        Assert.Equal(InsightRules.DefaultIdleDays, summary.IdleDays);
        Assert.Equal(InsightRules.Weeks, summary.CompletionsByWeek.Count);
        Assert.Equal(2, summary.CompletionsByWeek[^1].Completed);
        Assert.All(summary.CompletionsByWeek.SkipLast(1), w => Assert.Equal(0, w.Completed));
        Assert.Equal(DayOfWeek.Monday, summary.CompletionsByWeek[^1].WeekStart.DayOfWeek);
        Assert.True(summary.CompletionsByWeek[^1].WeekStart <= DateOnly.FromDateTime(DateTime.UtcNow));

        // With idle_days=0 every item in progress is stuck: B's q1 joins.
        var now = await SummaryAsync(cohort.Owner.Client, cohort, "?idle_days=0");
        Assert.Equal((2, 3, 0), (now.StuckCount, now.StuckItems, now.IdleDays));
        // With 10, A's lab (9 days) is no longer stuck.
        var ten = await SummaryAsync(cohort.Owner.Client, cohort, "?idle_days=10");
        Assert.Equal((1, 1), (ten.StuckCount, ten.StuckItems));
    }

    [Fact]
    public async Task Active_means_a_record_touched_in_the_last_seven_days()
    {
        var cohort = await CohortAsync();
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
            var old = DateTime.UtcNow.AddDays(-8);
            await db.Progress.Where(p => p.UserId == cohort.B.User.Id || p.UserId == cohort.C.User.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(p => p.UpdatedAt, old));
        }
        Assert.Equal(1, (await SummaryAsync(cohort.Owner.Client, cohort)).ActiveLast7Days);
    }

    [Fact]
    public async Task The_learners_page_has_each_learners_figures_and_stuck_items()
    {
        var cohort = await CohortAsync();

        var page = await LearnersAsync(cohort.Instructor.Client, cohort, "?sort=-time_spent_seconds");
        Assert.Equal(3, page.Count);
        Assert.Null(page.Next);
        Assert.Null(page.Previous);
        Assert.Equal([cohort.B.User.Id, cohort.A.User.Id, cohort.C.User.Id], page.Results.Select(r => r.UserId));

        var b = page.Results[0];
        Assert.Equal((cohort.B.User.Username, 1, 1, 1300L, (double?)40), (b.Username, b.Completed, b.InProgress, b.TimeSpentSeconds, b.AverageScore));
        var bStuck = Assert.Single(b.Stuck);
        Assert.Equal(("sqli", ContentTypes.Lab, 100.0, (double?)40, 0), (bStuck.ContentId, bStuck.ContentType, bStuck.CompletionPercentage, bStuck.Score, bStuck.IdleDays));
        Assert.NotNull(b.LastActive);
        Assert.True(b.LastActive > DateTime.UtcNow.AddMinutes(-5));

        var a = page.Results[1];
        Assert.Equal((1, 1, 900L, (double?)80), (a.Completed, a.InProgress, a.TimeSpentSeconds, a.AverageScore));
        var aStuck = Assert.Single(a.Stuck);
        Assert.Equal(("sqli", 40.0, (double?)null, 9), (aStuck.ContentId, aStuck.CompletionPercentage, aStuck.Score, aStuck.IdleDays));

        var c = page.Results[2];
        Assert.Equal((0, 0, 0L, (double?)null), (c.Completed, c.InProgress, c.TimeSpentSeconds, c.AverageScore));
        Assert.Empty(c.Stuck);

        // idle_days=0: B's quiz in progress, touched just now, is stuck too.
        var now = await LearnersAsync(cohort.Instructor.Client, cohort, "?sort=-time_spent_seconds&idle_days=0");
        Assert.Equal(["q1", "sqli"], now.Results[0].Stuck.Select(s => s.ContentId).Order());
        Assert.Equal(0, now.Results[0].Stuck.Single(s => s.ContentId == "q1").IdleDays);

        // Sorted by name (only the page's learners' records read), the same figures and stuck items.
        foreach (var (sort, ids) in new[] { ("username", new[] { cohort.A, cohort.B, cohort.C }), ("-username", new[] { cohort.C, cohort.B, cohort.A }) })
        {
            var byName = await LearnersAsync(cohort.Instructor.Client, cohort, $"?sort={sort}");
            Assert.Equal(3, byName.Count);
            Assert.Equal(ids.Select(l => l.User.Id), byName.Results.Select(r => r.UserId));
            Assert.Equal(
                JsonSerializer.Serialize(ids.Select(l => page.Results.Single(r => r.UserId == l.User.Id)), CyberHubJson.Options),
                JsonSerializer.Serialize(byName.Results, CyberHubJson.Options));
        }
        var zero = await LearnersAsync(cohort.Instructor.Client, cohort, "?sort=username&idle_days=0");
        Assert.Equal(["q1", "sqli"], zero.Results.Single(r => r.UserId == cohort.B.User.Id).Stuck.Select(s => s.ContentId).Order());
    }

    [Theory]
    [InlineData("average_score", "B A C")]     // empty scores last either way
    [InlineData("-average_score", "A B C")]
    [InlineData("time_spent_seconds", "C A B")]
    [InlineData("-stuck", "A B C")]             // A and B one each, then by name: the names are a…, b…, c…
    [InlineData("in_progress", "C A B")]
    public async Task The_learners_sort_as_asked(string sort, string expected)
    {
        var cohort = await CohortAsync();
        var ids = new Dictionary<long, string> { [cohort.A.User.Id] = "A", [cohort.B.User.Id] = "B", [cohort.C.User.Id] = "C" };
        var page = await LearnersAsync(cohort.Owner.Client, cohort, $"?sort={sort}");
        Assert.Equal(expected, string.Join(' ', page.Results.Select(r => ids[r.UserId])));
    }

    [Fact]
    public async Task The_learners_page_in_pages()
    {
        var cohort = await CohortAsync();
        var first = await LearnersAsync(cohort.Owner.Client, cohort, "?sort=username&page_size=2");
        Assert.Equal(3, first.Count);
        Assert.Equal(2, first.Results.Count);
        Assert.NotNull(first.Next);
        Assert.Contains("sort=username", first.Next, StringComparison.Ordinal);
        var second = await LearnersAsync(cohort.Owner.Client, cohort, "?sort=username&page_size=2&page=2");
        Assert.Equal(cohort.C.User.Id, Assert.Single(second.Results).UserId);
        Assert.Null(second.Next);
        Assert.NotNull(second.Previous);
        await (await cohort.Owner.Client.GetAsync(cohort.Url("learners/?page=3&page_size=2"))).DetailAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_items_view_says_where_learners_are_lost()
    {
        var cohort = await CohortAsync();

        var items = await ItemsAsync(cohort.Instructor.Client, cohort);
        Assert.Equal(2, items.Count);
        var sqli = items.Results[0];   // most stuck first
        Assert.Equal(("sqli", ContentTypes.Lab, 2, 1, 0.5, (double?)40, (double?)900, 2),
            (sqli.ContentId, sqli.ContentType, sqli.Started, sqli.Completed, sqli.CompletionRate, sqli.AverageScore, sqli.MedianTimeSpentSeconds, sqli.Stuck));
        var q1 = items.Results[1];
        // C's record was never started: not counted.
        Assert.Equal(("q1", 2, 1, 0.5, (double?)80, (double?)200, 0),
            (q1.ContentId, q1.Started, q1.Completed, q1.CompletionRate, q1.AverageScore, q1.MedianTimeSpentSeconds, q1.Stuck));

        var now = await ItemsAsync(cohort.Instructor.Client, cohort, "?idle_days=0&sort=content_id");
        Assert.Equal([("q1", 1), ("sqli", 2)], now.Results.Select(i => (i.ContentId, i.Stuck)));
        var paged = await ItemsAsync(cohort.Instructor.Client, cohort, "?page_size=1&page=2&sort=-median_time_spent_seconds");
        Assert.Equal(2, paged.Count);
        Assert.Equal("q1", Assert.Single(paged.Results).ContentId);
    }

    [Fact]
    public async Task The_median_of_an_odd_count_is_the_middle_record()
    {
        var cohort = await CohortAsync();
        var c = (await (await cohort.C.Client.GetAsync("/api/v1/progress/")).ReadAsync<PagedResponse<ProgressDto>>()).Results.Single();
        await (await cohort.C.Client.PatchJsonAsync($"/api/v1/progress/{c.Id}/",
            new UpdateProgressRequest(ProgressStatus.InProgress, 10, null, 5000, null))).ReadAsync<ProgressDto>();

        var q1 = (await ItemsAsync(cohort.Owner.Client, cohort)).Results.Single(i => i.ContentId == "q1");
        Assert.Equal((3, (double?)300), (q1.Started, q1.MedianTimeSpentSeconds));   // 100, 300, 5000
    }

    [Fact]
    public async Task A_member_who_leaves_drops_out_of_every_view()
    {
        var cohort = await CohortAsync();
        var left = await cohort.A.Client.DeleteAsync($"{Organizations}{cohort.Organization.Id}/members/{cohort.A.User.Id}/");
        Assert.Equal(HttpStatusCode.NoContent, left.StatusCode);

        var summary = await SummaryAsync(cohort.Owner.Client, cohort);
        Assert.Equal((2, 2, 1, (double?)40, 1), (summary.Members, summary.ActiveLast7Days, summary.CompletedItems, summary.AverageScore, summary.StuckCount));
        var learners = await LearnersAsync(cohort.Owner.Client, cohort);
        Assert.DoesNotContain(learners.Results, r => r.UserId == cohort.A.User.Id);
        Assert.Equal(2, learners.Count);
        var items = await ItemsAsync(cohort.Owner.Client, cohort);
        Assert.Equal(1, items.Results.Single(i => i.ContentId == "sqli").Started);
        var csv = await (await cohort.Owner.Client.GetAsync(cohort.Url("export.csv"))).Content.ReadAsStringAsync();
        Assert.DoesNotContain(cohort.A.User.Username, csv, StringComparison.Ordinal);

        // And so does one the owner removes.
        var removed = await cohort.Owner.Client.DeleteAsync($"{Organizations}{cohort.Organization.Id}/members/{cohort.B.User.Id}/");
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Equal([cohort.C.User.Id], (await LearnersAsync(cohort.Owner.Client, cohort)).Results.Select(r => r.UserId));
    }

    [Fact]
    public async Task A_membership_change_drops_the_cohorts_cached_views_at_once()
    {
        var cohort = await CohortAsync();
        // Read (and so cached, Insights:CacheSeconds) before the changes.
        Assert.Equal(3, (await SummaryAsync(cohort.Owner.Client, cohort)).Members);
        Assert.Equal(3, (await LearnersAsync(cohort.Owner.Client, cohort)).Count);
        Assert.Equal(2, (await ItemsAsync(cohort.Owner.Client, cohort)).Results.Single(i => i.ContentId == "sqli").Started);

        Assert.Equal(HttpStatusCode.NoContent, (await cohort.A.Client.DeleteAsync($"{Organizations}{cohort.Organization.Id}/members/{cohort.A.User.Id}/")).StatusCode);
        Assert.Equal(2, (await SummaryAsync(cohort.Owner.Client, cohort)).Members);
        Assert.DoesNotContain((await LearnersAsync(cohort.Owner.Client, cohort)).Results, r => r.UserId == cohort.A.User.Id);
        Assert.Equal(1, (await ItemsAsync(cohort.Owner.Client, cohort)).Results.Single(i => i.ContentId == "sqli").Started);

        await (await cohort.Owner.Client.PatchJsonAsync($"{Organizations}{cohort.Organization.Id}/members/{cohort.B.User.Id}/",
            new ChangeMemberRoleRequest(OrganizationRoles.Instructor))).ReadAsync<OrganizationMemberDto>();
        Assert.Equal(1, (await SummaryAsync(cohort.Owner.Client, cohort)).Members);

        await JoinAsync(cohort.Owner, cohort.Organization.Id, cohort.A, OrganizationRoles.Member);
        Assert.Equal([cohort.A.User.Id, cohort.C.User.Id], (await LearnersAsync(cohort.Owner.Client, cohort, "?sort=username")).Results.Select(r => r.UserId).Order());
    }

    [Fact]
    public async Task A_learner_made_instructor_leaves_the_cohort()
    {
        var cohort = await CohortAsync();
        await (await cohort.Owner.Client.PatchJsonAsync($"{Organizations}{cohort.Organization.Id}/members/{cohort.B.User.Id}/",
            new ChangeMemberRoleRequest(OrganizationRoles.Instructor))).ReadAsync<OrganizationMemberDto>();
        Assert.Equal(2, (await SummaryAsync(cohort.Owner.Client, cohort)).Members);
        // ... and, as an instructor now, may read the insights.
        Assert.Equal(2, (await SummaryAsync(cohort.B.Client, cohort)).Members);
    }

    [Fact]
    public async Task An_instructor_demoted_or_removed_stops_reading_at_once()
    {
        var cohort = await CohortAsync();
        var second = await server.RegisterAsync("instr");
        await JoinAsync(cohort.Owner, cohort.Organization.Id, second, OrganizationRoles.Instructor);
        // Both read (and so are known as readers, Insights:CacheSeconds) before the changes.
        Assert.Equal(3, (await SummaryAsync(cohort.Instructor.Client, cohort)).Members);
        Assert.Equal(3, (await SummaryAsync(second.Client, cohort)).Members);

        await (await cohort.Owner.Client.PatchJsonAsync($"{Organizations}{cohort.Organization.Id}/members/{cohort.Instructor.User.Id}/",
            new ChangeMemberRoleRequest(OrganizationRoles.Member))).ReadAsync<OrganizationMemberDto>();
        await (await cohort.Instructor.Client.GetAsync(cohort.Url())).DetailAsync(HttpStatusCode.Forbidden);

        Assert.Equal(HttpStatusCode.NoContent, (await cohort.Owner.Client.DeleteAsync($"{Organizations}{cohort.Organization.Id}/members/{second.User.Id}/")).StatusCode);
        await (await second.Client.GetAsync(cohort.Url("learners/"))).DetailAsync(HttpStatusCode.NotFound);
        await (await second.Client.GetAsync(cohort.Url())).DetailAsync(HttpStatusCode.NotFound);
    }

    public static TheoryData<string> Views => ["", "learners/", "items/", "export.csv"];

    [Theory]
    [MemberData(nameof(Views))]
    public async Task Owners_instructors_and_admins_may_read_a_member_is_403_anyone_else_cannot_tell_it_exists(string view)
    {
        var cohort = await CohortAsync();
        var stranger = await server.RegisterAsync();
        var decliner = await server.RegisterAsync();
        var invitation = await (await cohort.Owner.Client.PostJsonAsync($"{Organizations}{cohort.Organization.Id}/invitations/",
            new CreateInvitationRequest(decliner.User.Email, OrganizationRoles.Instructor))).ReadAsync<OrganizationInvitationDto>(HttpStatusCode.Created);
        Assert.Contains("owners and instructors will see your progress", invitation.Consent, StringComparison.OrdinalIgnoreCase);
        var declined = await decliner.Client.PostAsync($"{Organizations}invitations/{invitation.Id}/decline/", null);
        Assert.Equal(HttpStatusCode.NoContent, declined.StatusCode);

        foreach (var reader in new[] { cohort.Owner.Client, cohort.Instructor.Client, await server.AdminClientAsync() })
        {
            var response = await reader.GetAsync(cohort.Url(view));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Contains("owner or instructor", await (await cohort.A.Client.GetAsync(cohort.Url(view))).DetailAsync(HttpStatusCode.Forbidden),
            StringComparison.Ordinal);

        var missing = await (await stranger.Client.GetAsync($"{Organizations}{UnknownId}/insights/{view}")).DetailAsync(HttpStatusCode.NotFound);
        foreach (var outsider in new[] { stranger, decliner })
        {
            Assert.Equal(missing, await (await outsider.Client.GetAsync(cohort.Url(view))).DetailAsync(HttpStatusCode.NotFound));
        }
        var admin = await server.AdminClientAsync();
        await (await admin.GetAsync($"{Organizations}{UnknownId}/insights/{view}")).DetailAsync(HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.CreateClient().GetAsync(cohort.Url(view))).StatusCode);
    }

    [Theory]
    [InlineData("learners/?sort=bogus", "sort")]
    [InlineData("learners/?sort=-", "sort")]
    [InlineData("learners/?sort=--username", "sort")]
    [InlineData("items/?sort=username", "sort")]
    [InlineData("learners/?idle_days=-1", "idle_days")]
    [InlineData("learners/?idle_days=abc", "idle_days")]
    [InlineData("learners/?idle_days=1.5", "idle_days")]
    [InlineData("learners/?idle_days=99999999999", "idle_days")]
    [InlineData("?idle_days=x", "idle_days")]
    [InlineData("items/?idle_days=3651", "idle_days")]
    [InlineData("learners/?page=0", "page")]
    [InlineData("learners/?page=abc", "page")]
    [InlineData("learners/?page_size=0", "page_size")]
    [InlineData("learners/?page_size=101", "page_size")]
    [InlineData("items/?page_size=-3", "page_size")]
    public async Task Bad_sort_idle_days_or_paging_is_400_naming_the_parameter(string query, string parameter)
    {
        var cohort = await CohortAsync();
        var detail = await (await cohort.Owner.Client.GetAsync(cohort.Url(query))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(parameter, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_export_has_a_row_per_learner_and_item_and_neutralises_formulas()
    {
        var cohort = await CohortAsync();
        await RecordAsync(cohort.B, "=HYPERLINK(\"x\",\"y\")", ContentTypes.Lab, ProgressStatus.InProgress, 5, null, 1);
        await RecordAsync(cohort.B, "@cmd", ContentTypes.Lab, ProgressStatus.InProgress, 5, null, 1);

        var response = await cohort.Instructor.Client.GetAsync(cohort.Url("export.csv"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        Assert.Contains(".csv", response.Content.Headers.ContentDisposition?.FileNameStar ?? response.Content.Headers.ContentDisposition?.FileName, StringComparison.Ordinal);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.NotEqual(0xEF, bytes[0]);   // no byte order mark
        var text = System.Text.Encoding.UTF8.GetString(bytes);
        Assert.EndsWith("\r\n", text, StringComparison.Ordinal);
        var lines = text.Split("\r\n")[..^1];
        Assert.Equal("user_id,username,content_type,content_id,status,completion_percentage,score,time_spent_seconds,started_at,completed_at,updated_at", lines[0]);
        // A: 2, B: 4, C: 1 (not started); the owner and the instructor are not learners.
        Assert.Equal(1 + 2 + 4 + 1, lines.Length);
        Assert.Contains($"{cohort.B.User.Id},{cohort.B.User.Username},lab,\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\",in_progress,5,,1,", text, StringComparison.Ordinal);
        Assert.Contains($",lab,'@cmd,in_progress,", text, StringComparison.Ordinal);
        Assert.Contains($"{cohort.A.User.Id},{cohort.A.User.Username},quiz,q1,completed,100,80,300,", text, StringComparison.Ordinal);
        Assert.Contains($"{cohort.C.User.Id},{cohort.C.User.Username},quiz,q1,not_started,0,,0,,,", text, StringComparison.Ordinal);
        Assert.DoesNotContain(cohort.Owner.User.Username, text, StringComparison.Ordinal);
        Assert.DoesNotContain(cohort.Instructor.User.Username, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_learner_without_records_is_one_row_with_empty_item_cells()
    {
        var cohort = await CohortAsync();
        var d = await server.RegisterAsync("d");
        await JoinAsync(cohort.Owner, cohort.Organization.Id, d, OrganizationRoles.Member);
        var text = await (await cohort.Owner.Client.GetAsync(cohort.Url("export.csv"))).Content.ReadAsStringAsync();
        Assert.Contains($"\r\n{d.User.Id},{d.User.Username},,,,,,,,,\r\n", text, StringComparison.Ordinal);
    }
}

public sealed class SqliteOrganizationInsightsTests(SqliteCoreServer server) : OrganizationInsightsTests<SqliteCoreServer>(server), IClassFixture<SqliteCoreServer>;

public sealed class PostgresOrganizationInsightsTests(PostgresCoreServer server) : OrganizationInsightsTests<PostgresCoreServer>(server), IClassFixture<PostgresCoreServer>;

public sealed class CsvCellsTests
{
    [Theory]
    [InlineData(null, "")]
    [InlineData("", "")]
    [InlineData("plain", "plain")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    [InlineData("cr\rlf", "\"cr\rlf\"")]
    [InlineData("=1+2", "'=1+2")]
    [InlineData("+1", "'+1")]
    [InlineData("-1", "'-1")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("\tx", "'\tx")]
    [InlineData("=a,b", "\"'=a,b\"")]
    [InlineData("ünïcødé", "ünïcødé")]
    [InlineData("a=b", "a=b")]
    public void Cells_are_quoted_and_formulas_made_inert(string? value, string expected) => Assert.Equal(expected, CsvCells.Cell(value));
}
