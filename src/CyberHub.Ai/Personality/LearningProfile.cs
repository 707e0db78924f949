using CyberHub.Contracts;

namespace CyberHub.Ai.Personality;

/// <summary>
/// The measurable habits behind the traits: completion, pace, content mix, scores and rhythm, computed in one
/// pass over the records. Ties are broken by content key so the same progress always gives the same profile.
/// </summary>
public sealed class LearningProfile
{
    /// <summary>Minutes an item of each type typically takes, for items the catalog gives no duration for.</summary>
    public static readonly IReadOnlyDictionary<string, double> TypicalMinutes = new Dictionary<string, double>
    {
        [ContentTypes.Course] = 480,
        [ContentTypes.Module] = 120,
        [ContentTypes.Lesson] = 40,
        [ContentTypes.Lab] = 75,
        [ContentTypes.Quiz] = 15,
        [ContentTypes.Challenge] = 60,
        [ContentTypes.Video] = 15,
        [ContentTypes.Article] = 10,
    };

    public static readonly IReadOnlySet<string> HandsOnTypes = new HashSet<string> { ContentTypes.Lab, ContentTypes.Challenge, ContentTypes.Quiz };

    // Modules are containers, neither practice nor theory in themselves, so they count for neither side.
    public static readonly IReadOnlySet<string> TheoryTypes = new HashSet<string> { ContentTypes.Lesson, ContentTypes.Video, ContentTypes.Article, ContentTypes.Course };

    // Below this share of an item's work, the time logged says more about opening it than about pace.
    private const double MinFractionForPace = 0.1;

    // A ratio beyond these bounds is a forgotten timer or a skipped item, not a pace: such an item is left out of
    // the pace (12 seconds on a 60-minute lab says nothing about speed), rather than counted at the bound.
    private const double MinRatio = 0.05, MaxRatio = 20;

    public required int Total { get; init; }
    public required int Started { get; init; }
    public required int Completed { get; init; }
    public int Open => Started - Completed;
    public int NotStarted => Total - Started;
    public required double MeanOpenCompletion { get; init; }
    /// <summary>The open item closest to done: the cheapest one to finish.</summary>
    public required LearningRecord? NearestToDone { get; init; }

    public required int TimedItems { get; init; }
    /// <summary>Median of study time logged over the time the content is expected to take (1 = as expected).</summary>
    public required double? EffortRatio { get; init; }
    public required int CalendarItems { get; init; }
    /// <summary>Median of days from start to completion over the days the content takes at an hour a day.</summary>
    public required double? CalendarRatio { get; init; }
    public required double? MedianDaysToFinish { get; init; }

    public required int HandsOnItems { get; init; }
    public required int TheoryItems { get; init; }
    public required long HandsOnSeconds { get; init; }
    public required long TheorySeconds { get; init; }

    /// <summary>Topics of started items, most items first.</summary>
    public required IReadOnlyList<(string Name, int Items)> Topics { get; init; }
    /// <summary>Content types of started items, most items first.</summary>
    public required IReadOnlyList<(string Name, int Items)> Types { get; init; }
    public required IReadOnlySet<string> TouchedTopics { get; init; }
    public required IReadOnlySet<VectorStore.ContentKey> Touched { get; init; }

    public required int ScoredItems { get; init; }
    public required double MeanScore { get; init; }
    public required int HighScores { get; init; }
    public required LearningRecord? LowestScored { get; init; }

    public required int ActiveDays { get; init; }
    public required DateOnly? FirstActiveDay { get; init; }
    public required int SpanDays { get; init; }
    public required int ActiveWeeks { get; init; }
    public int WeeksInSpan => (SpanDays + 6) / 7;
    /// <summary>Coefficient of variation of the gaps between active days; null with fewer than two gaps.</summary>
    public required double? GapVariation { get; init; }
    /// <summary>First hour (UTC) of the three-hour window holding most activity.</summary>
    public required int? PeakHour { get; init; }
    public required double PeakShare { get; init; }
    public required double WeekendShare { get; init; }
    public required long TotalSeconds { get; init; }

    public static LearningProfile From(IReadOnlyList<LearningRecord> records, CatalogFacts catalog)
    {
        int started = 0, completed = 0, handsOn = 0, theory = 0, high = 0;
        long handsOnSeconds = 0, theorySeconds = 0, totalSeconds = 0;
        double openCompletion = 0, scoreSum = 0;
        LearningRecord? nearest = null, lowest = null;
        var scored = 0;
        var effort = new List<double>();
        var calendar = new List<double>();
        var finishDays = new List<double>();
        var topics = new Dictionary<string, int>(StringComparer.Ordinal);
        var types = new Dictionary<string, int>(StringComparer.Ordinal);
        var touched = new HashSet<VectorStore.ContentKey>();
        var hours = new int[24];
        var days = new HashSet<DateOnly>();
        int events = 0, weekendEvents = 0;
        Span<DateTime> stamps = stackalloc DateTime[4];

        foreach (var r in records)
        {
            touched.Add(r.Key);
            totalSeconds += r.TimeSpentSeconds;
            var facts = catalog.For(r.Key);
            var expectedMinutes = facts?.DurationMinutes is double d && d > 0 ? d : TypicalMinutes.GetValueOrDefault(r.ContentType, 60);

            if (r.Score is { } score)
            {
                scored++;
                scoreSum += score;
                high += score >= 80 ? 1 : 0;
                if (lowest is null || score < lowest.Score || (score == lowest.Score && Before(r, lowest)))
                {
                    lowest = r;
                }
            }

            var count = 0;
            foreach (var stamp in (ReadOnlySpan<DateTime?>)[r.StartedAt, r.CompletedAt, r.UpdatedAt, r.CreatedAt])
            {
                if (stamp is { } s && !stamps[..count].Contains(s))
                {
                    stamps[count++] = s;
                    hours[s.Hour]++;
                    days.Add(DateOnly.FromDateTime(s));
                    events++;
                    weekendEvents += s.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? 1 : 0;
                }
            }

            if (!r.IsStarted)
            {
                continue;
            }
            started++;
            types[r.ContentType] = types.GetValueOrDefault(r.ContentType) + 1;
            if (facts?.Topic is { } topic)
            {
                topics[topic] = topics.GetValueOrDefault(topic) + 1;
            }
            if (HandsOnTypes.Contains(r.ContentType))
            {
                handsOn++;
                handsOnSeconds += r.TimeSpentSeconds;
            }
            else if (TheoryTypes.Contains(r.ContentType))
            {
                theory++;
                theorySeconds += r.TimeSpentSeconds;
            }

            var fraction = r.Status == ProgressStatus.Completed ? 1 : r.CompletionPercentage / 100;
            if (r.Status == ProgressStatus.Completed)
            {
                completed++;
                // Completed in the same instant it was started means it was logged after the fact: no calendar signal.
                if (r.StartedAt is { } from && r.CompletedAt is { } to && to - from > TimeSpan.FromMinutes(1))
                {
                    var elapsedDays = (to - from).TotalDays;
                    finishDays.Add(elapsedDays);
                    if (Plausible(elapsedDays / (expectedMinutes / 60)) is { } ratio)
                    {
                        calendar.Add(ratio);
                    }
                }
            }
            else
            {
                openCompletion += r.CompletionPercentage;
                if (nearest is null || r.CompletionPercentage > nearest.CompletionPercentage
                    || (r.CompletionPercentage == nearest.CompletionPercentage && Before(r, nearest)))
                {
                    nearest = r;
                }
            }
            if (r.TimeSpentSeconds > 0 && fraction >= MinFractionForPace
                && Plausible(r.TimeSpentSeconds / 60.0 / (expectedMinutes * fraction)) is { } effortRatio)
            {
                effort.Add(effortRatio);
            }
        }

        var activeDays = days.Order().ToList();
        var first = activeDays.Count > 0 ? activeDays[0] : (DateOnly?)null;
        var span = first is { } f ? activeDays[^1].DayNumber - f.DayNumber + 1 : 0;
        var (peakHour, peakCount) = PeakWindow(hours);
        return new LearningProfile
        {
            Total = records.Count,
            Started = started,
            Completed = completed,
            MeanOpenCompletion = started > completed ? openCompletion / (started - completed) : 0,
            NearestToDone = nearest,
            TimedItems = effort.Count,
            EffortRatio = Median(effort),
            CalendarItems = calendar.Count,
            CalendarRatio = Median(calendar),
            MedianDaysToFinish = Median(finishDays),
            HandsOnItems = handsOn,
            TheoryItems = theory,
            HandsOnSeconds = handsOnSeconds,
            TheorySeconds = theorySeconds,
            Topics = Ranked(topics),
            Types = Ranked(types),
            TouchedTopics = topics.Keys.ToHashSet(StringComparer.Ordinal),
            Touched = touched,
            ScoredItems = scored,
            MeanScore = scored > 0 ? scoreSum / scored : 0,
            HighScores = high,
            LowestScored = lowest,
            ActiveDays = activeDays.Count,
            FirstActiveDay = first,
            SpanDays = span,
            ActiveWeeks = first is { } start ? activeDays.Select(d => (d.DayNumber - start.DayNumber) / 7).Distinct().Count() : 0,
            GapVariation = Variation(activeDays),
            PeakHour = events > 0 ? peakHour : null,
            PeakShare = events > 0 ? (double)peakCount / events : 0,
            WeekendShare = events > 0 ? (double)weekendEvents / events : 0,
            TotalSeconds = totalSeconds,
        };
    }

    private static double? Plausible(double ratio) => ratio is >= MinRatio and <= MaxRatio ? ratio : null;

    private static bool Before(LearningRecord a, LearningRecord b) =>
        string.CompareOrdinal(a.ContentType, b.ContentType) is var c && (c < 0 || (c == 0 && string.CompareOrdinal(a.ContentId, b.ContentId) < 0));

    private static IReadOnlyList<(string, int)> Ranked(Dictionary<string, int> counts) =>
        [.. counts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, p.Value))];

    private static double? Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return null;
        }
        values.Sort();
        var mid = values.Count / 2;
        return values.Count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }

    private static double? Variation(List<DateOnly> days)
    {
        if (days.Count < 3)
        {
            return null;
        }
        var gaps = days.Zip(days.Skip(1), (a, b) => (double)(b.DayNumber - a.DayNumber)).ToList();
        var mean = gaps.Average();
        var deviation = Math.Sqrt(gaps.Sum(g => (g - mean) * (g - mean)) / gaps.Count);
        return deviation / mean;
    }

    /// <summary>The three-hour window with most activity; among equal ones, the first that begins with activity.</summary>
    private static (int Hour, int Count) PeakWindow(int[] hours)
    {
        var (best, bestCount, bestRank) = (0, 0, -1);
        for (var h = 0; h < 24; h++)
        {
            var count = hours[h] + hours[(h + 1) % 24] + hours[(h + 2) % 24];
            var rank = count * 2 + (hours[h] > 0 ? 1 : 0);
            if (rank > bestRank)
            {
                (best, bestCount, bestRank) = (h, count, rank);
            }
        }
        return (best, bestCount);
    }
}
