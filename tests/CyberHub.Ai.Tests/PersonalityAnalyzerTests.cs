using CyberHub.Ai.Catalog;
using System.Diagnostics;
using CyberHub.Ai.Personality;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using static CyberHub.Ai.Personality.PersonalityAnalyzer;

namespace CyberHub.Ai.Tests;

/// <summary>The pure analysis, over hand-built records and a small hand-built catalog.</summary>
public sealed class PersonalityAnalyzerTests
{
    // A Monday evening, so weekday and hour patterns are easy to reason about.
    private static readonly DateTime T0 = new(2025, 3, 3, 18, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Now = new(2025, 6, 1, 12, 0, 0, DateTimeKind.Utc);

    private static readonly CatalogFacts Catalog = BuildCatalog();

    private static CatalogFacts BuildCatalog()
    {
        var items = new Dictionary<ContentKey, ContentFacts>();
        var topics = new List<CatalogTopic>();
        foreach (var topic in new[] { "web-security", "cryptography", "network-security", "security-fundamentals" })
        {
            var labs = Enumerable.Range(1, 6).Select(i => new CatalogPick("lab", $"{topic}-lab-{i}", $"{topic} lab {i}", i <= 2 ? "beginner" : i <= 4 ? "intermediate" : "advanced")).ToList();
            var lessons = Enumerable.Range(1, 6).Select(i => new CatalogPick("lesson", $"{topic}-lesson-{i}", $"{topic} lesson {i}", i <= 3 ? "beginner" : "intermediate")).ToList();
            foreach (var pick in labs.Concat(lessons))
            {
                items[pick.Key] = new ContentFacts(pick.Title, topic, pick.Level, pick.ContentType == "lab" ? 60 : 30);
            }
            topics.Add(new CatalogTopic(topic, 12, labs, lessons));
        }
        return new CatalogFacts(items, topics);
    }

    private static LearningRecord Done(string type, string id, double minutes, double? score = null, DateTime? start = null, double days = 0)
    {
        var started = start ?? T0;
        var completed = started.AddDays(days);
        return new LearningRecord(type, id, ProgressStatus.Completed, 100, score, (long)(minutes * 60), started, completed, started, completed);
    }

    private static LearningRecord Open(string type, string id, double percentage, double minutes = 0, DateTime? start = null)
    {
        var started = start ?? T0;
        return new LearningRecord(type, id, ProgressStatus.InProgress, percentage, null, (long)(minutes * 60), started, null, started, started);
    }

    private static PersonalityTrait Trait(PersonalityAnalysis analysis, string name) => analysis.Traits.Single(t => t.Name == name);

    /// <summary>A learner with a bit of everything, spread over several weeks.</summary>
    private static List<LearningRecord> MixedLearner() =>
    [
        Done("lesson", "web-security-lesson-1", 25, start: T0),
        Done("lab", "web-security-lab-1", 50, 85, T0.AddDays(2), 1),
        Done("lesson", "web-security-lesson-2", 35, start: T0.AddDays(5)),
        Done("lab", "web-security-lab-2", 70, 72, T0.AddDays(8), 2),
        Done("lesson", "cryptography-lesson-1", 30, start: T0.AddDays(12)),
        Done("quiz", "crypto-quiz", 12, 64, T0.AddDays(15)),
        Done("lab", "cryptography-lab-1", 65, 90, T0.AddDays(19), 1),
        Open("lesson", "web-security-lesson-3", 60, 20, T0.AddDays(22)),
        Open("lab", "web-security-lab-3", 30, 25, T0.AddDays(26)),
        new("lesson", "network-security-lesson-1", ProgressStatus.NotStarted, 0, CreatedAt: T0.AddDays(26)),
    ];

    [Fact]
    public void The_same_progress_gives_the_same_analysis_in_any_order()
    {
        var records = MixedLearner();
        var first = Analyze(7, records, Catalog, Now);
        var shuffled = records.AsEnumerable().Reverse().Skip(3).Concat(records.Skip(7)).ToList();
        var second = Analyze(7, shuffled, Catalog, Now.AddHours(5));

        Assert.NotEqual(records.Select(r => r.ContentId), shuffled.Select(r => r.ContentId));
        Assert.Equal(first.Traits, second.Traits);
        Assert.Equal(first.Summary, second.Summary);
        Assert.Equal(first.Recommendations, second.Recommendations);
        Assert.Equal((first.Confidence, first.Note, first.RecordsAnalyzed), (second.Confidence, second.Note, second.RecordsAnalyzed));
        Assert.Equal(Now, first.AnalyzedAt);
    }

    [Fact]
    public void Every_analysis_has_the_six_traits_in_range_and_two_to_five_recommendations()
    {
        List<List<LearningRecord>> scenarios =
        [
            [],
            [Open("lab", "web-security-lab-1", 10)],
            MixedLearner(),
            [.. Enumerable.Range(0, 30).Select(i => Done("lab", $"x-{i}", 5, 100, T0.AddDays(i)))],
            [.. Enumerable.Range(0, 30).Select(i => Open("lesson", $"y-{i}", 5, 300, T0))],
        ];
        foreach (var records in scenarios)
        {
            var analysis = Analyze(1, records, Catalog, Now);
            Assert.Equal([Persistence, Pace, Style, Consistency, Curiosity, Achievement], analysis.Traits.Select(t => t.Name));
            Assert.All(analysis.Traits, t =>
            {
                Assert.InRange(t.Score, 0, 1);
                Assert.Equal(Math.Round(t.Score, 3), t.Score);
                Assert.False(string.IsNullOrWhiteSpace(t.Description));
            });
            Assert.InRange(analysis.Recommendations.Count, StudyAdvice.Min, StudyAdvice.Max);
            Assert.Equal(analysis.Recommendations.Count, analysis.Recommendations.Distinct().Count());
            Assert.False(string.IsNullOrWhiteSpace(analysis.Summary));
            Assert.Equal(records.Count, analysis.RecordsAnalyzed);
        }
    }

    [Fact]
    public void Labs_push_learning_style_up_and_lessons_push_it_down()
    {
        var labs = Enumerable.Range(1, 6).Select(i => Done("lab", $"web-security-lab-{i}", 60, 80, T0.AddDays(i * 2))).ToList();
        var lessons = Enumerable.Range(1, 6).Select(i => Done("lesson", $"web-security-lesson-{i}", 30, null, T0.AddDays(i * 2))).ToList();

        var handsOn = Analyze(1, labs, Catalog, Now);
        var theory = Analyze(1, lessons, Catalog, Now);
        var mixed = Analyze(1, [.. labs.Take(3), .. lessons.Take(3)], Catalog, Now);

        Assert.True(Trait(handsOn, Style).Score >= 0.9, Trait(handsOn, Style).Description);
        Assert.True(Trait(theory, Style).Score <= 0.1, Trait(theory, Style).Description);
        Assert.InRange(Trait(mixed, Style).Score, 0.4, 0.6);
        Assert.StartsWith("Leans hands-on: 6 of 6 started items are labs", Trait(handsOn, Style).Description, StringComparison.Ordinal);
        Assert.StartsWith("Leans on theory: 0 of 6", Trait(theory, Style).Description, StringComparison.Ordinal);
        Assert.Contains("1 means all hands-on, 0 all theory", Trait(mixed, Style).Description, StringComparison.Ordinal);
        Assert.Contains("hands-on learner", handsOn.Summary, StringComparison.Ordinal);
        Assert.Contains("theory-first learner", theory.Summary, StringComparison.Ordinal);

        // The advice names a catalog lab of the learner's own topic that they have not done, and vice versa.
        Assert.Contains(theory.Recommendations, r => r.Contains("try the lab 'web-security lab 1' in web-security, your most studied topic", StringComparison.Ordinal));
        Assert.Contains(handsOn.Recommendations, r => r.Contains("the lesson 'web-security lesson 1' in web-security", StringComparison.Ordinal));
    }

    [Fact]
    public void Persistence_counts_what_was_finished_of_what_was_started()
    {
        var records = Enumerable.Range(1, 7).Select(i => Done("lesson", $"web-security-lesson-{i % 6}-{i}", 30, start: T0.AddDays(i * 3)))
            .Append(Open("lab", "web-security-lab-1", 40, 20, T0.AddDays(4)))
            .Append(Open("lab", "web-security-lab-2", 80, 40, T0.AddDays(5)))
            .Append(new LearningRecord("lab", "web-security-lab-3", ProgressStatus.NotStarted, 0, CreatedAt: T0))
            .ToList();
        var analysis = Analyze(1, records, Catalog, Now);
        var persistence = Trait(analysis, Persistence);

        Assert.Equal("Finished 7 of 9 items you started (78%); the 2 still open are 60% done on average; 1 more saved but not started.", persistence.Description);
        // 0.6 × 7/9 + 0.4 × (700 + 120) / 900, with six or more started items taken at face value.
        Assert.Equal(Math.Round(0.6 * 7 / 9 + 0.4 * 820 / 900.0, 3), persistence.Score);

        var quitter = Analyze(1, [Done("lab", "a", 60, start: T0), .. Enumerable.Range(0, 8).Select(i => Open("lab", $"o{i}", 10, 5, T0.AddDays(i)))], Catalog, Now);
        Assert.True(Trait(quitter, Persistence).Score < 0.3, Trait(quitter, Persistence).Description);
        Assert.Contains(quitter.Recommendations, r => r.StartsWith("Finish what you started", StringComparison.Ordinal));
    }

    [Fact]
    public void Traits_without_enough_evidence_are_published_as_unknown()
    {
        // One 60-minute lab "completed" in 12 seconds on one day, nothing scored.
        var rushed = new LearningRecord("lab", "web-security-lab-1", ProgressStatus.Completed, 100, null, 12, T0, T0, T0, T0);
        var analysis = Analyze(1, [rushed], Catalog, Now);
        Assert.False(Trait(analysis, Achievement).Known, Trait(analysis, Achievement).Description);
        Assert.False(Trait(analysis, Consistency).Known, Trait(analysis, Consistency).Description);
        // 12 s is no pace: the item is left out of it, not counted as the fastest pace there is.
        var pace = Trait(analysis, Pace);
        Assert.False(pace.Known, pace.Description);
        Assert.Equal(0.5, pace.Score);
        Assert.Contains("cannot be measured", pace.Description, StringComparison.Ordinal);
        Assert.All(analysis.Traits.Where(t => !t.Known), t => Assert.Equal(0.5, t.Score));

        // Enough of it: every trait is a reading.
        Assert.All(Analyze(1, MixedLearner(), Catalog, Now).Traits, t => Assert.True(t.Known, $"{t.Name}: {t.Description}"));
    }

    [Fact]
    public void Too_little_data_gives_low_confidence_and_near_neutral_scores_that_say_so()
    {
        var empty = Analyze(1, [], Catalog, Now);
        Assert.Equal("low", empty.Confidence);
        Assert.Contains("No progress recorded yet", empty.Note, StringComparison.Ordinal);
        Assert.All(empty.Traits, t => Assert.Equal(0.5, t.Score));
        Assert.Contains("no progress to analyse yet", empty.Summary, StringComparison.Ordinal);
        Assert.Contains(empty.Recommendations, r => r.Contains("security-fundamentals", StringComparison.Ordinal));

        // Two perfect labs would be extreme readings; with two records they must not be.
        var two = Analyze(1, [Done("lab", "web-security-lab-1", 10, 100), Done("lab", "web-security-lab-2", 10, 100)], Catalog, Now);
        Assert.Equal("low", two.Confidence);
        Assert.Contains("Provisional", two.Note, StringComparison.Ordinal);
        Assert.Contains("only 2 progress records", two.Note, StringComparison.Ordinal);
        Assert.All(two.Traits, t => Assert.InRange(t.Score, 0.3, 0.7));
        Assert.All(two.Traits, t => Assert.True(
            t.Description.Contains("Provisional", StringComparison.Ordinal) || t.Description.Contains("cannot", StringComparison.Ordinal), t.Description));
        Assert.StartsWith("It is early days with 2 records", two.Summary, StringComparison.Ordinal);

        var nothingFinished = Analyze(1, [.. Enumerable.Range(0, 5).Select(i => Open("lesson", $"l{i}", 50, 20, T0.AddDays(i)))], Catalog, Now);
        Assert.Equal("low", nothingFinished.Confidence);
        Assert.Contains("none of your 5 items is completed", nothingFinished.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void Confidence_grows_with_the_data()
    {
        Assert.Equal("medium", Analyze(1, MixedLearner(), Catalog, Now).Confidence);
        var many = Enumerable.Range(0, 20).Select(i => Done(i % 2 == 0 ? "lab" : "lesson", $"item-{i}", 40, 80, T0.AddDays(i * 2))).ToList();
        var analysis = Analyze(1, many, Catalog, Now);
        Assert.Equal("high", analysis.Confidence);
        Assert.Null(analysis.Note);
        Assert.DoesNotContain(analysis.Traits, t => t.Description.Contains("Provisional", StringComparison.Ordinal));
    }

    [Fact]
    public void Consistency_reads_regularity_and_time_of_day_from_the_timestamps()
    {
        // Every other day for six weeks, always in the evening.
        var regular = Enumerable.Range(0, 21).Select(i => Done("lesson", $"r{i}", 30, start: T0.AddDays(i * 2))).ToList();
        // The same amount of work crammed into two days five weeks apart.
        var bursty = Enumerable.Range(0, 21).Select(i => Done("lesson", $"b{i}", 30, start: (i < 10 ? T0 : T0.AddDays(35)).AddHours(i % 3))).ToList();

        var steady = Trait(Analyze(1, regular, Catalog, Now), Consistency);
        var bursts = Trait(Analyze(1, bursty, Catalog, Now), Consistency);

        Assert.True(steady.Score >= 0.8, steady.Description);
        Assert.True(bursts.Score <= 0.45, bursts.Description);
        Assert.StartsWith("Active on 21 days in 6 of the 6 weeks since 2025-03-03, mostly between 18:00 and 21:00 UTC (100% of activity)", steady.Description, StringComparison.Ordinal);
        Assert.Contains("about 30 minutes of logged study per active day", steady.Description, StringComparison.Ordinal);
        Assert.StartsWith("Active on 2 days in 2 of the 6 weeks", bursts.Description, StringComparison.Ordinal);

        var burstyAnalysis = Analyze(1, bursty, Catalog, Now);
        Assert.Contains(burstyAnalysis.Recommendations, r => r.StartsWith("Trade occasional long sessions for short regular ones", StringComparison.Ordinal) && r.Contains("19:00 UTC", StringComparison.Ordinal));
    }

    [Fact]
    public void Pace_compares_time_spent_with_the_catalog_duration_or_a_typical_one()
    {
        // Catalog labs take 60 minutes: 30 minutes is twice as fast, 120 half as fast.
        var fast = Analyze(1, [.. Enumerable.Range(1, 5).Select(i => Done("lab", $"web-security-lab-{i}", 30, start: T0.AddDays(i)))], Catalog, Now);
        var slow = Analyze(1, [.. Enumerable.Range(1, 5).Select(i => Done("lab", $"web-security-lab-{i}", 120, start: T0.AddDays(i)))], Catalog, Now);
        Assert.Equal(Math.Round(1 / 1.5, 3), Trait(fast, Pace).Score);
        Assert.Equal(Math.Round(1 / 3.0, 3), Trait(slow, Pace).Score);
        Assert.StartsWith("You need about 50% less than the expected study time (median over 5 items with time logged)", Trait(fast, Pace).Description, StringComparison.Ordinal);
        Assert.StartsWith("You need about 2 times the expected study time", Trait(slow, Pace).Description, StringComparison.Ordinal);

        // Outside the catalog a lab is taken to need 75 minutes.
        var unknown = Analyze(1, [.. Enumerable.Range(1, 5).Select(i => Done("lab", $"own-lab-{i}", 75, start: T0.AddDays(i)))], CatalogFacts.Empty, Now);
        Assert.Equal(0.5, Trait(unknown, Pace).Score);

        // In-progress items count for the share done; calendar days from start to finish count too.
        var halfway = Analyze(1, [Done("lab", "web-security-lab-1", 30), .. Enumerable.Range(2, 4).Select(i => Open("lab", $"web-security-lab-{i}", 50, 15, T0.AddDays(i)))], Catalog, Now);
        Assert.Equal(Math.Round(1 / 1.5, 3), Trait(halfway, Pace).Score);
        var spread = Analyze(1, [.. Enumerable.Range(1, 5).Select(i => Done("lab", $"web-security-lab-{i}", 60, start: T0.AddDays(i * 7), days: 3))], Catalog, Now);
        Assert.Contains("completed items took a median 3 days from start to finish", Trait(spread, Pace).Description, StringComparison.Ordinal);
        Assert.True(Trait(spread, Pace).Score < 0.5, Trait(spread, Pace).Description);
    }

    [Fact]
    public void Curiosity_rises_with_topics_and_types_and_advice_names_an_untouched_topic()
    {
        var narrow = Analyze(1, [.. Enumerable.Range(1, 6).Select(i => Done("lesson", $"web-security-lesson-{i}", 30, start: T0.AddDays(i * 3)))], Catalog, Now);
        var broad = Analyze(1, [.. new[] { "web-security", "cryptography", "network-security", "security-fundamentals" }
            .SelectMany((topic, t) => new[] { Done("lesson", $"{topic}-lesson-1", 30, start: T0.AddDays(t * 4)), Done("lab", $"{topic}-lab-1", 60, 80, T0.AddDays(t * 4 + 2)) })], Catalog, Now);

        Assert.True(Trait(narrow, Curiosity).Score < 0.1, Trait(narrow, Curiosity).Description);
        Assert.True(Trait(broad, Curiosity).Score > 0.8, Trait(broad, Curiosity).Description);
        Assert.Equal("Worked in 1 topic of the catalog's 4 (web-security, 6 items) with 1 content type (lesson).", Trait(narrow, Curiosity).Description);
        Assert.Contains(narrow.Recommendations, r => r == "Broaden your base with a topic you have not touched yet: security-fundamentals, starting with the lesson 'security-fundamentals lesson 1'.");
    }

    [Fact]
    public void Achievement_reads_scores_and_advice_revisits_the_weakest()
    {
        var strong = Analyze(1, [.. Enumerable.Range(1, 4).Select(i => Done("quiz", $"q{i}", 10, 90, T0.AddDays(i)))], Catalog, Now);
        Assert.Equal(0.9, Trait(strong, Achievement).Score);
        Assert.Equal("Average score 90 across 4 scored items; 4 at 80 or above.", Trait(strong, Achievement).Description);

        var weak = Analyze(1, [.. new[] { 40.0, 55, 50, 45 }.Select((s, i) => Done("lab", $"web-security-lab-{i + 1}", 60, s, T0.AddDays(i * 3)))], Catalog, Now);
        Assert.Equal(0.475, Trait(weak, Achievement).Score);
        Assert.Contains("lowest 40 on 'web-security lab 1'", Trait(weak, Achievement).Description, StringComparison.Ordinal);
        Assert.Contains(weak.Recommendations, r => r.StartsWith("Revisit 'web-security lab 1', where you scored 40", StringComparison.Ordinal));
    }

    [Fact]
    public void The_summary_names_the_strongest_and_the_weakest_trait()
    {
        // Finishes everything, with good scores, but all on two days far apart.
        var records = Enumerable.Range(1, 12).Select(i => Done(i % 2 == 0 ? "lab" : "lesson", $"item-{i}", 40, 95, i <= 6 ? T0 : T0.AddDays(40))).ToList();
        var analysis = Analyze(1, records, Catalog, Now);
        Assert.StartsWith("You come across as a learner who mixes theory and practice, and your strongest side is that", analysis.Summary, StringComparison.Ordinal);
        Assert.Contains("Where you can grow most is consistency: your study comes in bursts (2 active days over 41 days).", analysis.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_thousand_records_are_analysed_in_milliseconds()
    {
        var records = Enumerable.Range(0, 1_000).Select(i => i % 3 == 0
            ? Open("lesson", $"lesson-{i}", i % 90, i % 50, T0.AddHours(i * 7))
            : Done(i % 2 == 0 ? "lab" : "quiz", $"item-{i}", 20 + i % 60, i % 100, T0.AddHours(i * 5), i % 4)).ToList();
        Analyze(1, records, Catalog, Now);
        var watch = Stopwatch.StartNew();
        var analysis = Analyze(1, records, Catalog, Now);
        watch.Stop();
        Assert.Equal(1_000, analysis.RecordsAnalyzed);
        Assert.Equal("high", analysis.Confidence);
        Assert.True(watch.ElapsedMilliseconds < 250, $"took {watch.ElapsedMilliseconds} ms");
    }
}
