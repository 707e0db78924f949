using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyberHub.Ai.Personality;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Contracts;
using CyberHub.Testing;

namespace CyberHub.Ai.Tests;

/// <summary>The personality API over real HTTP, with a real Core behind the AI service.</summary>
public sealed class PersonalityApiTests(EmbeddedAiServer server) : IClassFixture<EmbeddedAiServer>
{
    private const string Analyze = "/api/v1/personality/analyze";

    private static string Last(long userId) => $"/api/v1/personality/{userId}";

    private async Task<(Learner Learner, HttpClient Ai)> LearnerAsync()
    {
        var learner = await server.Core.RegisterAsync();
        return (learner, server.CreateClient(learner.Access));
    }

    private static async Task RecordInCoreAsync(Learner learner, params CreateProgressRequest[] records)
    {
        foreach (var record in records)
        {
            await (await learner.Client.PostJsonAsync("/api/v1/progress/", record)).ReadAsync<ProgressDto>(HttpStatusCode.Created);
        }
    }

    private static CreateProgressRequest Progress(string type, string id, ProgressStatus status, double completion, double? score, long seconds) =>
        new(id, type, status, completion, score, seconds, null);

    private static ProgressDataRecord Given(string type, string id, ProgressStatus status, double completion, double? score = null, long seconds = 0, long? userId = null) =>
        new(null, userId, id, type, status, completion, score, seconds, null, null, null, null, null, null);

    private static string Json(PersonalityAnalysis analysis) => JsonSerializer.Serialize(analysis, CyberHubJson.Options);

    [Fact]
    public async Task A_learner_analyses_their_own_progress_as_core_holds_it()
    {
        var (learner, ai) = await LearnerAsync();
        await RecordInCoreAsync(learner,
            Progress("lab", "intercepting-web-traffic-with-burp-suite", ProgressStatus.Completed, 100, 85, 3_000),
            Progress("lesson", "owasp-top-10-explained", ProgressStatus.Completed, 100, null, 2_400),
            Progress("lesson", "sql-injection-and-parameterized-queries", ProgressStatus.Completed, 100, 72, 3_300),
            Progress("lab", "exploit-and-fix-sql-injection-login", ProgressStatus.InProgress, 40, null, 1_800),
            Progress("lesson", "cia-triad-and-core-security-principles", ProgressStatus.Completed, 100, 90, 1_200),
            Progress("course", "introduction-to-web-application-security", ProgressStatus.NotStarted, 0, null, 0));

        var response = await ai.PostJsonAsync(Analyze, new PersonalityRequest(learner.User.Id, null));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["user_id", "traits", "summary", "recommendations", "confidence", "note", "records_analyzed", "analyzed_at"], body.Select(p => p.Key));
        Assert.Equal(["name", "score", "description", "known"], body["traits"]![0]!.AsObject().Select(p => p.Key));

        var analysis = body.Deserialize<PersonalityAnalysis>(CyberHubJson.Options)!;
        Assert.Equal(learner.User.Id, analysis.UserId);
        Assert.Equal(6, analysis.RecordsAnalyzed);
        Assert.Equal("medium", analysis.Confidence);
        Assert.Equal(
            [PersonalityAnalyzer.Persistence, PersonalityAnalyzer.Pace, PersonalityAnalyzer.Style, PersonalityAnalyzer.Consistency, PersonalityAnalyzer.Curiosity, PersonalityAnalyzer.Achievement],
            analysis.Traits.Select(t => t.Name));
        Assert.All(analysis.Traits, t => Assert.InRange(t.Score, 0, 1));
        var traits = analysis.Traits.ToDictionary(t => t.Name);
        Assert.StartsWith("Finished 4 of 5 items you started (80%); the one still open is 40% done; 1 more saved but not started.", traits[PersonalityAnalyzer.Persistence].Description, StringComparison.Ordinal);
        Assert.StartsWith("Mixes practice and theory: 2 of 5 started items", traits[PersonalityAnalyzer.Style].Description, StringComparison.Ordinal);
        // Topics come from the demo catalog the AI service was seeded with.
        Assert.StartsWith("Worked in 2 topics of the catalog's 12 (most in web-security, 4 items)", traits[PersonalityAnalyzer.Curiosity].Description, StringComparison.Ordinal);
        Assert.Contains("Average score 82 across 3 scored items", traits[PersonalityAnalyzer.Achievement].Description, StringComparison.Ordinal);
        Assert.InRange(analysis.Recommendations.Count, 2, 5);
        Assert.False(string.IsNullOrWhiteSpace(analysis.Summary));
    }

    [Fact]
    public async Task Given_progress_data_is_analysed_as_is_and_kept_as_the_last_analysis()
    {
        var (learner, ai) = await LearnerAsync();
        await (await ai.GetAsync(Last(learner.User.Id))).DetailAsync(HttpStatusCode.NotFound);

        // The learner has nothing in Core, so three analysed records can only have come from the request.
        var first = await (await ai.PostJsonAsync(Analyze, new PersonalityRequest(learner.User.Id,
        [
            Given("lab", "wireshark-packet-capture-basics", ProgressStatus.Completed, 100, 90, 3_600, learner.User.Id),
            Given("lesson", "tcp-ip-and-osi-for-network-defenders", ProgressStatus.Completed, 100, null, 2_000),
            Given("quiz", "my-own-quiz", ProgressStatus.InProgress, 50, 60, 300),
        ]))).ReadAsync<PersonalityAnalysis>();
        Assert.Equal(3, first.RecordsAnalyzed);
        Assert.Contains("network-security", first.Traits.Single(t => t.Name == PersonalityAnalyzer.Curiosity).Description, StringComparison.Ordinal);

        var last = await (await ai.GetAsync(Last(learner.User.Id))).ReadAsync<PersonalityAnalysis>();
        Assert.Equal(Json(first), Json(last));

        var second = await (await ai.PostJsonAsync(Analyze, new PersonalityRequest(learner.User.Id, []))).ReadAsync<PersonalityAnalysis>();
        Assert.Equal((0, "low"), (second.RecordsAnalyzed, second.Confidence));
        Assert.NotNull(second.Note);
        Assert.Equal(Json(second), Json(await (await ai.GetAsync(Last(learner.User.Id))).ReadAsync<PersonalityAnalysis>()));
    }

    [Fact]
    public async Task A_learner_may_not_analyse_or_read_another_learner()
    {
        var (_, ai) = await LearnerAsync();
        var (other, otherAi) = await LearnerAsync();
        await (await otherAi.PostJsonAsync(Analyze, new PersonalityRequest(other.User.Id, []))).ReadAsync<PersonalityAnalysis>();

        await (await ai.PostJsonAsync(Analyze, new PersonalityRequest(other.User.Id, null))).DetailAsync(HttpStatusCode.Forbidden);
        await (await ai.PostJsonAsync(Analyze, new PersonalityRequest(other.User.Id, [Given("lab", "x", ProgressStatus.Completed, 100)]))).DetailAsync(HttpStatusCode.Forbidden);
        await (await ai.GetAsync(Last(other.User.Id))).DetailAsync(HttpStatusCode.Forbidden);
    }

    /// <summary>An organization in Core with <paramref name="owner"/> as its owner and each of <paramref name="members"/> joined with its role.</summary>
    private static async Task<OrganizationDto> OrganizationAsync(Learner owner, params (Learner Who, string Role)[] members)
    {
        var organization = await (await owner.Client.PostJsonAsync("/api/v1/organizations/",
            new CreateOrganizationRequest("Cohort", $"cohort-{Guid.NewGuid():N}"[..24], ""))).ReadAsync<OrganizationDto>(HttpStatusCode.Created);
        foreach (var (who, role) in members)
        {
            var invitation = await (await owner.Client.PostJsonAsync($"/api/v1/organizations/{organization.Id}/invitations/", new CreateInvitationRequest(who.User.Email, role)))
                .ReadAsync<OrganizationInvitationDto>(HttpStatusCode.Created);
            await (await who.Client.PostAsync($"/api/v1/organizations/invitations/{invitation.Id}/accept/", null)).ReadAsync<OrganizationDto>();
        }
        return organization;
    }

    [Fact]
    public async Task An_instructor_of_the_learners_organization_may_analyse_and_read_them_until_they_leave()
    {
        var (learner, learnerAi) = await LearnerAsync();
        var (instructor, instructorAi) = await LearnerAsync();
        var (fellow, fellowAi) = await LearnerAsync();
        var (outsider, outsiderAi) = await LearnerAsync();
        var organization = await OrganizationAsync(instructor, (learner, OrganizationRoles.Member), (fellow, OrganizationRoles.Member));
        // The outsider owns an organization of their own; the learner is not in it.
        await OrganizationAsync(outsider);
        await RecordInCoreAsync(learner,
            Progress("lab", "exploit-and-fix-sql-injection-login", ProgressStatus.Completed, 100, 80, 2_000),
            Progress("lesson", "owasp-top-10-explained", ProgressStatus.InProgress, 50, null, 900));

        // Before any analysis: the instructor is told there is none, as the learner would be.
        await (await instructorAi.GetAsync(Last(learner.User.Id))).DetailAsync(HttpStatusCode.NotFound);
        var analysis = await (await instructorAi.PostJsonAsync(Analyze, new PersonalityRequest(learner.User.Id, null))).ReadAsync<PersonalityAnalysis>();
        Assert.Equal((learner.User.Id, 2), (analysis.UserId, analysis.RecordsAnalyzed));
        Assert.Equal(Json(analysis), Json(await (await instructorAi.GetAsync(Last(learner.User.Id))).ReadAsync<PersonalityAnalysis>()));
        // Given records would replace the learner's analysis with the instructor's: only the learner gives them.
        await (await instructorAi.PostJsonAsync(Analyze, new PersonalityRequest(learner.User.Id, [Given("lab", "x", ProgressStatus.Completed, 100)])))
            .DetailAsync(HttpStatusCode.Forbidden);

        // A fellow member of the organization and an outsider are refused, as for any other learner.
        foreach (var ai in new[] { fellowAi, outsiderAi })
        {
            await (await ai.PostJsonAsync(Analyze, new PersonalityRequest(learner.User.Id, null))).DetailAsync(HttpStatusCode.Forbidden);
            await (await ai.GetAsync(Last(learner.User.Id))).DetailAsync(HttpStatusCode.Forbidden);
        }
        // Nor does a member read their instructor.
        await (await fellowAi.GetAsync(Last(instructor.User.Id))).DetailAsync(HttpStatusCode.Forbidden);

        // The learner leaves: refused once Core's last yes has expired here (Personality:OrganizationAccessSeconds, 10 s).
        Assert.Equal(HttpStatusCode.NoContent, (await learner.Client.DeleteAsync($"/api/v1/organizations/{organization.Id}/members/{learner.User.Id}/")).StatusCode);
        var left = Stopwatch.StartNew();
        while ((await instructorAi.GetAsync(Last(learner.User.Id))).StatusCode == HttpStatusCode.OK)
        {
            Assert.True(left.Elapsed < TimeSpan.FromSeconds(30), "the instructor still reads the learner's analysis 30 s after they left");
            await Task.Delay(250);
        }
        await (await instructorAi.GetAsync(Last(learner.User.Id))).DetailAsync(HttpStatusCode.Forbidden);
        await (await instructorAi.PostJsonAsync(Analyze, new PersonalityRequest(learner.User.Id, null))).DetailAsync(HttpStatusCode.Forbidden);
        // The learner still reads their own.
        await (await learnerAi.GetAsync(Last(learner.User.Id))).ReadAsync<PersonalityAnalysis>();
    }

    [Fact]
    public async Task An_admin_may_analyse_and_read_any_learner()
    {
        var (learner, ai) = await LearnerAsync();
        await RecordInCoreAsync(learner,
            Progress("lab", "hardening-a-personal-computer", ProgressStatus.Completed, 100, 80, 3_000),
            Progress("lesson", "threats-vulnerabilities-and-risk", ProgressStatus.InProgress, 60, null, 900));
        using var admin = await server.AdminClientAsync();

        var fromCore = await (await admin.PostJsonAsync(Analyze, new PersonalityRequest(learner.User.Id, null))).ReadAsync<PersonalityAnalysis>();
        Assert.Equal((learner.User.Id, 2), (fromCore.UserId, fromCore.RecordsAnalyzed));

        var given = await (await admin.PostJsonAsync(Analyze, new PersonalityRequest(learner.User.Id, [Given("lab", "x", ProgressStatus.Completed, 100)])))
            .ReadAsync<PersonalityAnalysis>();
        Assert.Equal(1, given.RecordsAnalyzed);
        var read = await (await admin.GetAsync(Last(learner.User.Id))).ReadAsync<PersonalityAnalysis>();
        Assert.Equal(Json(given), Json(read));
        Assert.Equal(Json(given), Json(await (await ai.GetAsync(Last(learner.User.Id))).ReadAsync<PersonalityAnalysis>()));
    }

    [Theory]
    [InlineData("""{"progress_data":[]}""", "user_id is required")]
    [InlineData("""{"user_id":0}""", "user_id must be a positive integer")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_type":"lab","status":"completed"}]}""", "progress_data[0].content_id is required")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_id":"a","status":"completed"}]}""", "progress_data[0].content_type is required")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_id":"a","content_type":"podcast","status":"completed"}]}""", "progress_data[0].content_type: 'podcast' is not one of")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_id":"a","content_type":"lab"}]}""", "progress_data[0].status is required")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_id":"a","content_type":"lab","status":"in_progress"},{"content_id":"b","content_type":"lab","status":"in_progress","completion_percentage":150}]}""", "progress_data[1].completion_percentage must be between 0 and 100")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_id":"a","content_type":"lab","status":"completed","completion_percentage":40}]}""", "progress_data[0].completion_percentage must be 100 when status is completed")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_id":"a","content_type":"lab","status":"completed","score":-1}]}""", "progress_data[0].score must be between 0 and 100")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_id":"a","content_type":"lab","status":"completed","score":100.5}]}""", "progress_data[0].score must be between 0 and 100")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_id":"a","content_type":"lab","status":"completed","time_spent_seconds":-5}]}""", "progress_data[0].time_spent_seconds must be between 0")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_id":"a","content_type":"lab","status":"completed","started_at":"2025-03-02T10:00:00Z","completed_at":"2025-03-01T10:00:00Z"}]}""", "progress_data[0].completed_at (2025-03-01T10:00:00Z) is before started_at")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_id":"a","content_type":"lab","status":"in_progress","completed_at":"2025-03-01T10:00:00Z"}]}""", "progress_data[0].completed_at is set, but status is in_progress")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_id":"a","content_type":"lab","status":"completed","started_at":"2999-01-01T00:00:00Z"}]}""", "progress_data[0].started_at (2999-01-01T00:00:00Z) lies in the future")]
    [InlineData("""{"user_id":USER,"progress_data":[{"user_id":1,"content_id":"a","content_type":"lab","status":"completed"}]}""", "progress_data[0].user_id is 1, but the analysis is for user USER")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_id":"a","content_type":"lab","status":"completed"},{"content_id":"a","content_type":"lab","status":"in_progress"}]}""", "progress_data[1] repeats lab 'a' of progress_data[0]")]
    [InlineData("""{"user_id":USER,"progress_data":[null]}""", "progress_data[0] is null")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_id":"a","content_type":"lab","status":"done"}]}""", "$.progress_data[0].status")]
    [InlineData("""{"user_id":USER,"progress_data":[{"content_id":"a","content_type":"lab","status":"completed","score":"high"}]}""", "$.progress_data[0].score")]
    [InlineData("""{"user_id":USER,"progress_data":{"content_id":"a"}}""", "$.progress_data")]
    [InlineData("""{"user_id":"USER"}""", "$.user_id")]
    public async Task Malformed_requests_are_400_naming_the_record_and_field(string template, string expected)
    {
        var (learner, ai) = await LearnerAsync();
        var id = learner.User.Id.ToString(CultureInfo.InvariantCulture);
        var detail = await (await ai.SendRawAsync(HttpMethod.Post, Analyze, template.Replace("USER", id, StringComparison.Ordinal)))
            .DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected.Replace("USER", id, StringComparison.Ordinal), detail, StringComparison.Ordinal);
        await (await ai.GetAsync(Last(learner.User.Id))).DetailAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_thousand_given_records_are_analysed_quickly_and_more_than_ten_thousand_are_refused()
    {
        var (learner, ai) = await LearnerAsync();
        var start = new DateTime(2025, 1, 6, 19, 0, 0, DateTimeKind.Utc);
        var labs = new[] { "wireshark-packet-capture-basics", "intercepting-web-traffic-with-burp-suite", "hardening-a-personal-computer" };
        var records = Enumerable.Range(0, 1_000).Select(i => new ProgressDataRecord(
            null, null, i < 3 ? labs[i] : $"item-{i}", i >= 3 && i % 3 == 0 ? "lesson" : "lab", ProgressStatus.Completed, 100, 50 + i % 50, 600 + i % 3_000, null,
            start.AddHours(i * 9), start.AddHours(i * 9 + 1), start.AddHours(i * 9), start.AddHours(i * 9 + 1), 1)).ToList();

        var watch = Stopwatch.StartNew();
        var analysis = await (await ai.PostJsonAsync(Analyze, new PersonalityRequest(learner.User.Id, records))).ReadAsync<PersonalityAnalysis>();
        watch.Stop();
        Assert.Equal((1_000, "high"), (analysis.RecordsAnalyzed, analysis.Confidence));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.ElapsedMilliseconds} ms");

        var tooMany = Enumerable.Range(0, ProgressData.MaxRecords + 1).Select(i => Given("lab", $"l{i}", ProgressStatus.NotStarted, 0)).ToList();
        var detail = await (await ai.PostJsonAsync(Analyze, new PersonalityRequest(learner.User.Id, tooMany))).DetailAsync(HttpStatusCode.BadRequest);
        Assert.Contains("at most 10000 records", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Both_routes_need_a_token()
    {
        using var anonymous = server.CreateClient();
        await (await anonymous.PostJsonAsync(Analyze, new PersonalityRequest(1, []))).DetailAsync(HttpStatusCode.Unauthorized);
        await (await anonymous.GetAsync(Last(1))).DetailAsync(HttpStatusCode.Unauthorized);
    }
}
