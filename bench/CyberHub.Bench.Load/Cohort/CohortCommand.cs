using System.Globalization;
using System.Net.Http.Json;
using CyberHub.Contracts;
using Npgsql;

namespace CyberHub.Bench.Load.Cohort;

/// <summary>
/// <c>cohort</c>: issue 20's scale target. An in-process Core on a fresh PostgreSQL database holds one organization of
/// <c>--learners</c> members with <c>--records</c> progress records each (beside as many records of learners outside it),
/// written straight into the tables by copying rows the API created; then <c>--concurrency</c> instructors ask for the
/// cohort's summary, and for a page of its learners (the web's default sort, most stuck first), back to back.
/// </summary>
public static class CohortCommand
{
    public const string Usage = """
        Usage: dotnet run -c Release --project bench/CyberHub.Bench.Load -- cohort [options]
          --pg CONNSTRING     PostgreSQL admin connection (default: env CYBERHUB_BENCH_POSTGRES)
          --learners 10000    members of the organization (1..100000)
          --records 50        progress records each (1..200)
          --concurrency 16    instructors asking at once (1..256)
          --duration 10       seconds measured per phase (1..600)
          --warmup 2          seconds of unmeasured warm-up before each phase (0..60)
          --cache-seconds N   Core's Insights:CacheSeconds (default: Core's default, 15; 0 computes every request)
          --pages 10          learners pages the instructors spread over (1..500)
          --sort -stuck       the learners pages' sort (any of the API's: username, -completed, ...)
          --database NAME     use and keep this PostgreSQL database: seeded on the first run, reused as it is by the
                              next ones with the same --learners and --records (drop it by hand when done)
        """;

    public const string Summary = "cohort summary: GET /organizations/{id}/insights/";
    public const string LearnersPage = "cohort learners page: GET /organizations/{id}/insights/learners/";

    public static async Task<int> RunAsync(string[] args)
    {
        string pg;
        int learners, records, concurrency, duration, warmup, pages;
        string? cacheSeconds, database;
        string sort;
        try
        {
            var values = BenchOptions.Values(args);
            string? Take(string key) => values.Remove(key, out var value) ? value : null;
            pg = Take("pg") ?? Environment.GetEnvironmentVariable("CYBERHUB_BENCH_POSTGRES")
                ?? throw new ArgumentException("cohort needs --pg or CYBERHUB_BENCH_POSTGRES.");
            learners = BenchOptions.Bounded(Take("learners") ?? "10000", "learners", 1, 100_000);
            records = BenchOptions.Bounded(Take("records") ?? "50", "records", 1, 200);
            concurrency = BenchOptions.Bounded(Take("concurrency") ?? "16", "concurrency", 1, 256);
            duration = BenchOptions.Bounded(Take("duration") ?? "10", "duration", 1, 600);
            warmup = BenchOptions.Bounded(Take("warmup") ?? "2", "warmup", 0, 60);
            pages = BenchOptions.Bounded(Take("pages") ?? "10", "pages", 1, 500);
            cacheSeconds = Take("cache-seconds") is { } c ? BenchOptions.Bounded(c, "cache-seconds", 0, 300).ToString(CultureInfo.InvariantCulture) : null;
            sort = Take("sort") ?? "-stuck";
            if (!InsightRules.LearnerSorts.Contains(sort.TrimStart('-'), StringComparer.Ordinal))
            {
                throw new ArgumentException($"--sort must be one of {string.Join(", ", InsightRules.LearnerSorts)}, optionally preceded by -.");
            }
            database = Take("database");
            if (database is not null && !System.Text.RegularExpressions.Regex.IsMatch(database, "^[a-z_][a-z0-9_]{0,62}$"))
            {
                throw new ArgumentException("--database must be a lower-case PostgreSQL name (letters, digits, _).");
            }
            if (values.Count > 0)
            {
                throw new ArgumentException($"Unknown option --{values.Keys.First()}.");
            }
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        await using var target = await CoreTarget.StartAsync(Database.Postgres, pg,
            cacheSeconds is null ? null : new Dictionary<string, string?> { ["Insights:CacheSeconds"] = cacheSeconds }, database);
        Console.Error.WriteLine($"Target: {target.Description}");
        using var http = CoreClient.CreateHttpClient(target.BaseAddress, concurrency + 16);
        var core = new CoreClient(http);
        var connectionString = new NpgsqlConnectionStringBuilder(pg) { Database = target.PostgresDatabase }.ConnectionString;

        var (instructor, organizationId) = await SeededAsync(core, connectionString, learners, records);

        var options = new BenchOptions(null, Database.Postgres, pg, [concurrency], 1, TimeSpan.FromSeconds(duration), TimeSpan.FromSeconds(warmup));
        var phases = new[]
        {
            new Phase(Scenarios.Baseline, concurrency, (_, _) => new HttpRequestMessage(HttpMethod.Get, "/api/v1/health/live")),
            new Phase(Summary, concurrency, (_, _) => CoreClient.Authorized(HttpMethod.Get, $"/api/v1/organizations/{organizationId}/insights/", instructor)),
            new Phase(LearnersPage, concurrency, (vu, n) => CoreClient.Authorized(HttpMethod.Get,
                string.Create(CultureInfo.InvariantCulture, $"/api/v1/organizations/{organizationId}/insights/learners/?sort={sort}&page_size=20&page={(vu + n) % pages + 1}"), instructor)),
        };
        var results = new List<PhaseResult>();
        foreach (var phase in phases)
        {
            await core.RefreshAsync(instructor);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Console.Error.Write($"{phase.Scenario} at {phase.Concurrency} VUs… ");
            var result = await PhaseRunner.RunAsync(http, phase, options.Warmup, options.Duration, target.PostgresDatabase);
            Console.Error.WriteLine($"{result.OkPerSecond:0} 2xx/s, p99 {result.PercentileMs(99):0.00} ms, {result.Errors} errors");
            results.Add(result);
        }
        Console.Out.WriteLine($"Organization of {learners:N0} learners × {records} records ({(long)learners * records:N0} of its records, as many outside it); " +
            $"Insights:CacheSeconds {cacheSeconds ?? "default (15)"}; learners pages 1..{pages} of 20, sort={sort}.");
        Console.Out.Write(Report.Render(options, target, results));
        return results.Any(r => r.Errors > 0) ? 1 : 0;
    }

    /// <summary>
    /// The seeded organization and its instructor: as an earlier run with <c>--database</c> left them (their names are in
    /// the bench_cohort table it wrote), or seeded now.
    /// </summary>
    private static async Task<(Learner Instructor, long OrganizationId)> SeededAsync(CoreClient core, string connectionString, int learners, int records)
    {
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("""
                SELECT email, password, organization_id, learners, records FROM bench_cohort
                """, connection);
            try
            {
                await using var reader = await command.ExecuteReaderAsync();
                if (await reader.ReadAsync())
                {
                    var (email, password, organizationId) = (reader.GetString(0), reader.GetString(1), reader.GetInt64(2));
                    if ((reader.GetInt32(3), reader.GetInt32(4)) != (learners, records))
                    {
                        throw new InvalidOperationException(
                            $"The database was seeded with {reader.GetInt32(3)} learners × {reader.GetInt32(4)} records; use another --database.");
                    }
                    await reader.DisposeAsync();
                    var tokens = await core.LoginAsync(email, password);
                    using var me = await core.Http.SendAsync(CoreClient.Authorized(HttpMethod.Get, "/api/v1/users/me/", new Learner(null!, password, tokens)));
                    var user = await ReadAsync<UserDto>(me);
                    Console.Error.WriteLine($"Reusing the organization seeded earlier in this database ({learners:N0} learners × {records} records).");
                    return (new Learner(user, password, tokens), organizationId);
                }
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
            {
                // Not seeded yet.
            }
        }

        Console.Error.WriteLine($"Seeding {learners:N0} learners × {records} records, and as many outside the organization…");
        var seeding = System.Diagnostics.Stopwatch.StartNew();
        var (instructor, id) = await SeedAsync(core, connectionString, learners, records);
        Console.Error.WriteLine($"Seeded in {seeding.Elapsed.TotalSeconds:0} s.");
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("""
                CREATE TABLE bench_cohort (email text NOT NULL, password text NOT NULL, organization_id bigint NOT NULL, learners int NOT NULL, records int NOT NULL);
                INSERT INTO bench_cohort VALUES (@email, @password, @organization, @learners, @records);
                """, connection);
            command.Parameters.AddWithValue("email", instructor.User.Email);
            command.Parameters.AddWithValue("password", instructor.Password);
            command.Parameters.AddWithValue("organization", id);
            command.Parameters.AddWithValue("learners", learners);
            command.Parameters.AddWithValue("records", records);
            await command.ExecuteNonQueryAsync();
        }
        return (instructor, id);
    }

    /// <summary>
    /// An instructor (the organization's owner), the organization, and its learners and their records. One learner and
    /// one record are made through the API; the rest are copies of their rows with the names, times and figures varied
    /// (a third of the records completed, a third in progress, a third saved; half of those started scored; touched 0–29
    /// days ago), so every column Core writes is as Core writes it.
    /// </summary>
    private static async Task<(Learner Instructor, long OrganizationId)> SeedAsync(CoreClient core, string connectionString, int learners, int records)
    {
        var runId = Guid.NewGuid().ToString("N")[..8];
        var instructor = await core.RegisterAsync(runId, 0);
        var template = await core.RegisterAsync(runId, 1);
        var organization = await ReadAsync<OrganizationDto>(await core.Http.SendAsync(CoreClient.Authorized(HttpMethod.Post, "/api/v1/organizations/", instructor,
            JsonContent.Create(new CreateOrganizationRequest("Bench cohort", $"bench-{runId}", ""), options: CyberHubJson.Options))));
        var invitation = await ReadAsync<OrganizationInvitationDto>(await core.Http.SendAsync(CoreClient.Authorized(HttpMethod.Post,
            $"/api/v1/organizations/{organization.Id}/invitations/", instructor,
            JsonContent.Create(new CreateInvitationRequest(template.User.Email, null), options: CyberHubJson.Options))));
        await ReadAsync<OrganizationDto>(await core.Http.SendAsync(CoreClient.Authorized(HttpMethod.Post,
            $"/api/v1/organizations/invitations/{invitation.Id}/accept/", template)));
        var record = await core.CreateProgressAsync(template, new CreateProgressRequest("bench-template", ContentTypes.Lesson, ProgressStatus.InProgress, 10, null, 60, null));

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        async Task<string[]> ColumnsAsync(string table)
        {
            await using var command = new NpgsqlCommand(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = @t ORDER BY ordinal_position", connection);
            command.Parameters.AddWithValue("t", table);
            var names = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                names.Add(reader.GetString(0));
            }
            return [.. names];
        }
        async Task ExecuteAsync(string sql)
        {
            await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
            await command.ExecuteNonQueryAsync();
        }
        // INSERT INTO t (every column but Id) SELECT (the template's value, or the override) FROM t, series WHERE t.Id = template.
        async Task CopyAsync(string table, long templateId, string series, IReadOnlyDictionary<string, string> overrides)
        {
            var columns = (await ColumnsAsync(table)).Where(c => c != "Id").ToArray();
            var select = columns.Select(c => overrides.TryGetValue(c, out var value) ? value : $"t.\"{c}\"");
            await ExecuteAsync($"""
                INSERT INTO {table} ({string.Join(", ", columns.Select(c => $"\"{c}\""))})
                SELECT {string.Join(", ", select)} FROM {table} t, {series} WHERE t."Id" = {templateId}
                """);
        }

        var learnersTotal = learners * 2;   // the organization's, then as many outsiders
        var name = $"'b{runId}x' || i";
        await CopyAsync("users", template.User.Id, $"generate_series(1, {learnersTotal}) AS s(i)", new Dictionary<string, string>
        {
            ["Email"] = $"{name} || '@bench.example'",
            ["NormalizedEmail"] = $"{name} || '@bench.example'",
            ["Username"] = name,
            ["NormalizedUsername"] = name,
            ["UsernameSkeleton"] = name,
        });
        await ExecuteAsync($"""
            INSERT INTO organization_members ("OrganizationId", "UserId", "Role", "JoinedAt")
            SELECT {organization.Id}, u."Id", 'member', now() FROM users u WHERE u."Username" LIKE 'b{runId}x%' AND
                   CAST(substr(u."Username", {runId.Length + 3}) AS integer) <= {learners}
            """);
        // Record j of learner i: status by (i + j) mod 3, scored when (i + j) is even and it is started, touched (i·31 + j·17) mod 30 days ago.
        var status = """CASE (s.i + s.j) % 3 WHEN 0 THEN 'Completed' WHEN 1 THEN 'InProgress' ELSE 'NotStarted' END""";
        var updated = "now() - make_interval(days => (s.i * 31 + s.j * 17) % 30, hours => (s.i + s.j) % 24)";
        await CopyAsync("progress", record.Id, $"""
            (SELECT CAST(substr(u."Username", {runId.Length + 3}) AS integer) AS i, u."Id" AS user_id, j
             FROM users u, generate_series(1, {records}) AS g(j) WHERE u."Username" LIKE 'b{runId}x%') AS s
            """, new Dictionary<string, string>
        {
            ["UserId"] = "s.user_id",
            ["ContentId"] = "'bench-item-' || s.j",
            ["Status"] = status,
            ["CompletionPercentage"] = "CASE (s.i + s.j) % 3 WHEN 0 THEN 100 WHEN 1 THEN (s.i * 7 + s.j) % 99 + 1 ELSE 0 END",
            ["Score"] = "CASE WHEN (s.i + s.j) % 3 < 2 AND (s.i + s.j) % 2 = 0 THEN CAST((s.i * 13 + s.j * 7) % 101 AS double precision) END",
            ["TimeSpentSeconds"] = "CASE (s.i + s.j) % 3 WHEN 2 THEN 0 ELSE (s.i * 37 + s.j * 101) % 7200 + 60 END",
            ["StartedAt"] = $"CASE (s.i + s.j) % 3 WHEN 2 THEN NULL ELSE {updated} - interval '1 day' END",
            ["CompletedAt"] = $"CASE (s.i + s.j) % 3 WHEN 0 THEN {updated} END",
            ["CreatedAt"] = $"{updated} - interval '1 day'",
            ["UpdatedAt"] = updated,
        });
        await ExecuteAsync("ANALYZE");
        return (instructor, organization.Id);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response)
    {
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"Set-up failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            return (await response.Content.ReadFromJsonAsync<T>(CyberHubJson.Options))!;
        }
    }
}
