using CyberHub.Contracts;
using static System.FormattableString;

namespace CyberHub.Ai.Personality;

/// <summary>A trait before it is published: its raw reading and how much evidence stands behind it (0–1).</summary>
public sealed record TraitReading(string Name, double Raw, double Evidence, string Description)
{
    /// <summary>Thin evidence pulls the score toward the neutral 0.5 instead of claiming an extreme.</summary>
    public double Score => Math.Round(Math.Clamp(0.5 + (Raw - 0.5) * Evidence, 0, 1), 3);

    public bool HasData => Evidence > 0;

    /// <summary>
    /// The least evidence a trait needs to be published as a reading rather than as unknown: about two items
    /// (of six for full evidence), two scores, or a week between the first and last of two active days.
    /// </summary>
    public const double MinEvidence = 0.3;

    public bool IsKnown => Evidence >= MinEvidence;
}

/// <summary>
/// Turns progress records into personality traits, a summary and study advice. Pure: the same records and
/// catalog facts always give the same answer; <c>analyzedAt</c> is only stamped on the result.
/// </summary>
public static class PersonalityAnalyzer
{
    public const string Persistence = "Persistence";
    public const string Pace = "Learning Pace";
    public const string Style = "Learning Style";
    public const string Consistency = "Consistency";
    public const string Curiosity = "Curiosity";
    public const string Achievement = "Achievement";

    public const string Low = "low", Medium = "medium", High = "high";

    public static PersonalityAnalysis Analyze(long userId, IReadOnlyList<LearningRecord> records, CatalogFacts catalog, DateTime analyzedAt)
    {
        var profile = LearningProfile.From(records, catalog);
        var (confidence, note) = Confidence(profile);
        var readings = new List<TraitReading>
        {
            ReadPersistence(profile), ReadPace(profile), ReadStyle(profile),
            ReadConsistency(profile), ReadCuriosity(profile, catalog), ReadAchievement(profile, catalog),
        };
        // Whether a trait is known is judged on its own evidence, before low confidence halves it for the score.
        var known = readings.ToDictionary(r => r.Name, r => r.IsKnown);
        if (confidence == Low)
        {
            readings = readings.ConvertAll(r => r with { Evidence = r.Evidence / 2 });
        }
        // An unknown trait is published at the neutral 0.5, never as a reading pulled slightly off it.
        var traits = readings.ConvertAll(r => known[r.Name]
            ? new PersonalityTrait(r.Name, r.Score, Describe(r, confidence))
            : new PersonalityTrait(r.Name, 0.5, Describe(r, confidence), Known: false));
        var summary = Summary(profile, readings, confidence);
        var advice = StudyAdvice.For(profile, readings.ToDictionary(r => r.Name), catalog);
        return new PersonalityAnalysis(userId, traits, summary, advice, confidence, note, records.Count, analyzedAt);
    }

    public static (string Level, string? Note) Confidence(LearningProfile p) => p switch
    {
        { Total: 0 } => (Low, "No progress recorded yet, so every trait sits at the neutral 0.5 until there is something to analyse."),
        { Total: < 3 } => (Low, Invariant($"Provisional: only {Count(p.Total, "progress record")} so far, so the traits are pulled toward the neutral 0.5 and may change a lot.")),
        { Completed: 0 } => (Low, Invariant($"Provisional: none of your {Count(p.Total, "item")} is completed yet, so follow-through, pace and results are estimates pulled toward the neutral 0.5.")),
        { Total: >= 15, Completed: >= 5, ActiveDays: >= 5 } => (High, null),
        _ => (Medium, Invariant($"Based on {Count(p.Total, "record")} over {Count(p.ActiveDays, "active day")}; the picture sharpens as you complete more items over more days.")),
    };

    private static string Describe(TraitReading r, string confidence) =>
        r.HasData && (confidence == Low || r.Evidence < 0.5) ? r.Description + " Provisional: there is little data behind this yet." : r.Description;

    private static TraitReading ReadPersistence(LearningProfile p)
    {
        if (p.Started == 0)
        {
            return new(Persistence, 0.5, 0, p.Total == 0
                ? "No progress yet, so follow-through cannot be judged."
                : Invariant($"None of your {Count(p.Total, "saved item")} is started yet, so follow-through cannot be judged."));
        }
        var rate = (double)p.Completed / p.Started;
        var progress = (p.Completed * 100 + p.MeanOpenCompletion * p.Open) / p.Started / 100;
        var text = Invariant($"Finished {p.Completed} of {Count(p.Started, "item")} you started ({Percent(rate)})");
        if (p.Open > 0)
        {
            text += p.Open == 1
                ? Invariant($"; the one still open is {p.MeanOpenCompletion:0}% done")
                : Invariant($"; the {p.Open} still open are {p.MeanOpenCompletion:0}% done on average");
        }
        if (p.NotStarted > 0)
        {
            text += Invariant($"; {p.NotStarted} more saved but not started");
        }
        return new(Persistence, 0.6 * rate + 0.4 * progress, Math.Min(1, p.Started / 6.0), text + ".");
    }

    private static TraitReading ReadPace(LearningProfile p)
    {
        var ratio = (p.EffortRatio, p.CalendarRatio) switch
        {
            ({ } effort, { } calendar) => Math.Pow(effort, 0.7) * Math.Pow(calendar, 0.3),
            ({ } effort, null) => effort,
            (null, { } calendar) => calendar,
            _ => (double?)null,
        };
        if (ratio is not { } r)
        {
            return new(Pace, 0.5, 0, "No completed or well-advanced item has a plausible study time or start and finish dates yet, so pace cannot be measured.");
        }
        var parts = new List<string>();
        if (p.EffortRatio is { } e)
        {
            var basis = p.TimedItems == 1 ? "from the one item with time logged" : Invariant($"median over {p.TimedItems} items with time logged");
            parts.Add(Invariant($"You need {Relative(e)} the expected study time ({basis})"));
        }
        if (p.MedianDaysToFinish is { } days)
        {
            parts.Add(Invariant($"completed items took a median {Days(days)} from start to finish"));
        }
        var text = Capitalize(string.Join("; ", parts)) + ". Higher means faster than the content's expected duration.";
        return new(Pace, 1 / (1 + r), Math.Min(1, Math.Max(p.TimedItems, p.CalendarItems) / 5.0), text);
    }

    private static TraitReading ReadStyle(LearningProfile p)
    {
        var items = p.HandsOnItems + p.TheoryItems;
        if (items == 0)
        {
            return new(Style, 0.5, 0, "No lab, challenge, quiz, lesson, video, article or course started yet, so your style cannot be told. 1 means all hands-on, 0 all theory.");
        }
        var seconds = p.HandsOnSeconds + p.TheorySeconds;
        var countShare = (double)p.HandsOnItems / items;
        var raw = seconds > 0 ? (countShare + (double)p.HandsOnSeconds / seconds) / 2 : countShare;
        var lean = raw >= 0.6 ? "Leans hands-on" : raw <= 0.4 ? "Leans on theory" : "Mixes practice and theory";
        var text = items == 1
            ? Invariant($"{lean}: your only started item is a {p.Types.First(t => LearningProfile.HandsOnTypes.Contains(t.Name) || LearningProfile.TheoryTypes.Contains(t.Name)).Name}")
            : Invariant($"{lean}: {p.HandsOnItems} of {items} started items {(p.HandsOnItems == 1 ? "is a lab, challenge or quiz" : "are labs, challenges or quizzes")}");
        if (seconds > 0 && items > 1)
        {
            text += Invariant($", taking {Percent((double)p.HandsOnSeconds / seconds)} of your study time");
        }
        return new(Style, raw, Math.Min(1, items / 6.0), text + ". 1 means all hands-on, 0 all theory.");
    }

    private static TraitReading ReadConsistency(LearningProfile p)
    {
        if (p.FirstActiveDay is not { } first)
        {
            return new(Consistency, 0.5, 0, "No dated activity yet, so your rhythm cannot be judged.");
        }
        var coverage = (double)p.ActiveWeeks / p.WeeksInSpan;
        var regularity = p.GapVariation is { } cv ? 1 / (1 + cv) : 0.5;
        // Rhythm shows over weeks: days without activity are evidence too, so the span counts, not the active days.
        var evidence = p.ActiveDays < 2 ? 0 : Math.Min(1, p.SpanDays / 21.0);
        var text = p switch
        {
            { ActiveDays: 1 } => Invariant($"All activity so far falls on one day ({first:yyyy-MM-dd})"),
            { WeeksInSpan: 1 } => Invariant($"Active on {p.ActiveDays} of {p.SpanDays} days from {first:yyyy-MM-dd}"),
            _ => Invariant($"Active on {p.ActiveDays} days in {p.ActiveWeeks} of the {p.WeeksInSpan} weeks since {first:yyyy-MM-dd}"),
        };
        if (p.PeakHour is { } hour)
        {
            text += p.PeakShare >= 0.35
                ? Invariant($", mostly between {hour:00}:00 and {(hour + 3) % 24:00}:00 UTC ({Percent(p.PeakShare)} of activity)")
                : ", at no fixed time of day";
        }
        if (p.ActiveDays >= 3 && p.WeekendShare >= 0.6)
        {
            text += ", largely at weekends";
        }
        if (p.TotalSeconds > 0)
        {
            text += Invariant($"; about {Math.Round(p.TotalSeconds / 60.0 / p.ActiveDays)} minutes of logged study per active day");
        }
        if (p.ActiveDays == 1)
        {
            text += ". One day cannot show a rhythm over weeks yet";
        }
        return new(Consistency, 0.6 * coverage + 0.4 * regularity, evidence, text + ".");
    }

    private static TraitReading ReadCuriosity(LearningProfile p, CatalogFacts catalog)
    {
        if (p.Started == 0)
        {
            return new(Curiosity, 0.5, 0, "Nothing started yet, so the breadth of your interests cannot be judged.");
        }
        var types = Spread(p.Types, 4);
        var raw = types;
        string text;
        if (p.Topics.Count > 0)
        {
            var target = catalog.Topics.Count > 0 ? Math.Clamp(catalog.Topics.Count, 2, 6) : 6;
            raw = 0.65 * Spread(p.Topics, target) + 0.35 * types;
            var of = catalog.Topics.Count > 0 ? Invariant($" of the catalog's {catalog.Topics.Count}") : "";
            var main = p.Topics.Count == 1 ? p.Topics[0].Name : "most in " + p.Topics[0].Name;
            text = Invariant($"Worked in {Count(p.Topics.Count, "topic")}{of} ({main}, {Count(p.Topics[0].Items, "item")})");
        }
        else
        {
            text = "None of your started items has a topic in the catalog, so topics are unknown; you worked";
        }
        text += Invariant($" with {Count(p.Types.Count, "content type")} ({string.Join(", ", p.Types.Select(t => t.Name))}).");
        return new(Curiosity, raw, Math.Min(1, p.Started / 6.0), text);
    }

    private static TraitReading ReadAchievement(LearningProfile p, CatalogFacts catalog)
    {
        if (p.LowestScored is not { Score: { } lowest } record)
        {
            return new(Achievement, 0.5, 0, "No scored items yet, so results cannot be judged.");
        }
        var text = Invariant($"Average score {p.MeanScore:0} across {Count(p.ScoredItems, "scored item")}; {p.HighScores} at 80 or above");
        if (lowest < 60 && p.ScoredItems > 1)
        {
            text += Invariant($", lowest {lowest:0} on {StudyAdvice.Title(record, catalog)}");
        }
        return new(Achievement, p.MeanScore / 100, Math.Min(1, p.ScoredItems / 4.0), text + ".");
    }

    private static string Summary(LearningProfile p, IReadOnlyList<TraitReading> readings, string confidence)
    {
        if (p.Total == 0)
        {
            return "There is no progress to analyse yet. Start a lesson or a lab and ask again: your profile takes shape from what you actually do.";
        }
        // The lean is read unshrunk, as the trait's description states it: a direction, not a strength.
        var style = readings.Single(r => r.Name == Style) switch
        {
            { HasData: false } => "learner",
            { Raw: >= 0.6 } => "hands-on learner",
            { Raw: <= 0.4 } => "theory-first learner",
            _ => "learner who mixes theory and practice",
        };
        var judged = readings.Where(r => r.Name != Style && r.HasData).OrderByDescending(r => r.Score).ToList();
        if (judged.Count == 0)
        {
            return Invariant($"So far you look like a {style}, but {Count(p.Total, "record")} without completions, time or scores leave too little to say more.");
        }
        var (strongest, weakest) = (judged[0], judged[^1]);
        if (confidence == Low)
        {
            var sign = strongest.Score >= 0.55 ? Invariant($", and so far {Strength(strongest, p)}") : ", though nothing else stands out yet";
            return Invariant($"It is early days with {Count(p.Total, "record")}, but you look like a {style}{sign}. Complete a few more items for a firmer reading.");
        }
        if (judged.Count == 1 || strongest.Score - weakest.Score < 0.1)
        {
            var mean = judged.Average(r => r.Score);
            return mean >= 0.6 ? Invariant($"You come across as a {style} with an even, solid profile: {Strength(strongest, p)}, and no trait lags behind.")
                : mean <= 0.4 ? Invariant($"You come across as a {style} whose habits are all still forming; the quickest gain is where {Weakness(weakest, p)}.")
                : Invariant($"You come across as a {style} with a balanced profile and no clear strong or weak side yet; {Strength(strongest, p)}.");
        }
        var first = Invariant($"You come across as a {style}, and your strongest side is that {Strength(strongest, p)}.");
        return weakest.Score >= 0.6
            ? first + Invariant($" Even your weakest trait, {weakest.Name.ToLowerInvariant()}, is solid.")
            : first + Invariant($" Where you can grow most is {weakest.Name.ToLowerInvariant()}: {Weakness(weakest, p)}.");
    }

    private static string Strength(TraitReading r, LearningProfile p) => r.Name switch
    {
        Persistence => Invariant($"you finish what you start ({p.Completed} of {p.Started} items)"),
        Pace => "you get through material faster than its expected time",
        Consistency => Invariant($"you keep a steady rhythm ({p.ActiveWeeks} of {Count(p.WeeksInSpan, "week")} active)"),
        Curiosity => p.Topics.Count > 0 ? Invariant($"you range widely ({Count(p.Topics.Count, "topic")} explored)") : Invariant($"you use a wide mix of content ({Count(p.Types.Count, "type")})"),
        _ => Invariant($"you score well (average {p.MeanScore:0})"),
    };

    private static string Weakness(TraitReading r, LearningProfile p) => r.Name switch
    {
        Persistence => Invariant($"many items stay unfinished ({p.Open} of {p.Started} still open)"),
        Pace => "items take you longer than their expected time",
        Consistency => Invariant($"your study comes in bursts ({Count(p.ActiveDays, "active day")} over {Count(p.SpanDays, "day")})"),
        Curiosity => p.Topics.Count > 0 ? Invariant($"you have stayed close to {p.Topics[0].Name}") : "you have stayed with a few kinds of content",
        _ => Invariant($"your scores average {p.MeanScore:0}"),
    };

    /// <summary>How evenly items spread over categories (the effective number of them), scaled so <paramref name="target"/> even categories give 1.</summary>
    private static double Spread(IReadOnlyList<(string Name, int Items)> counts, int target)
    {
        double total = counts.Sum(c => c.Items);
        var entropy = -counts.Sum(c => c.Items / total * Math.Log(c.Items / total));
        return Math.Min(1, (1 - 1 / Math.Exp(entropy)) / (1 - 1.0 / target));
    }

    private static string Relative(double ratio) => ratio switch
    {
        < 0.95 => Invariant($"about {Percent(1 - ratio)} less than"),
        <= 1.05 => "about",
        < 2 => Invariant($"about {Percent(ratio - 1)} more than"),
        _ => Invariant($"about {ratio:0.#} times"),
    };

    private static string Days(double days) => days < 1 ? "under a day" : Invariant($"{days:0.#} days");

    internal static string Percent(double share) => Invariant($"{Math.Round(share * 100)}%");

    internal static string Count(int n, string noun) => Invariant($"{n} {noun}{(n == 1 ? "" : "s")}");

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
