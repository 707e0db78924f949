using CyberHub.Contracts;
using static CyberHub.Ai.Personality.PersonalityAnalyzer;
using static System.FormattableString;

namespace CyberHub.Ai.Personality;

/// <summary>
/// Study advice derived from the traits: each weak or lopsided trait proposes one concrete step, naming real
/// catalog items where it can; the most pressing two to five are kept.
/// </summary>
public static class StudyAdvice
{
    public const int Min = 2, Max = 5;

    // Where a newcomer should begin when the catalog has it.
    private const string StarterTopic = "security-fundamentals";

    public static IReadOnlyList<string> For(LearningProfile p, IReadOnlyDictionary<string, TraitReading> traits, CatalogFacts catalog)
    {
        var advice = new List<(double Priority, string Text)>();
        var (persistence, pace, style, consistency, curiosity, achievement) =
            (traits[Persistence], traits[Pace], traits[Style], traits[Consistency], traits[Curiosity], traits[Achievement]);
        var topic = HomeTopic(p, catalog);

        if (persistence is { HasData: true, Score: < 0.6 } && p.NearestToDone is { } open)
        {
            var state = open.CompletionPercentage > 0 ? Invariant($"is already {open.CompletionPercentage:0}% done") : "is waiting for you";
            advice.Add((1 - persistence.Score, $"Finish what you started before opening something new: {Title(open, catalog)} {state}."));
        }
        if (consistency is { HasData: true, Score: < 0.5 })
        {
            var slot = p.PeakHour is { } hour && p.PeakShare >= 0.35 ? Invariant($", for example around {(hour + 1) % 24:00}:00 UTC when you are usually active") : "";
            advice.Add((1 - consistency.Score, $"Trade occasional long sessions for short regular ones: 25–30 minutes on three fixed days a week{slot}."));
        }
        if (style is { HasData: true, Score: <= 0.4 })
        {
            var lab = Untouched(topic?.Labs, p);
            advice.Add((0.9 - style.Score, lab is not null
                ? $"Put the theory into practice: try the {lab.ContentType} '{lab.Title}' in {topic!.Name}{(IsStudied(topic, p) ? ", your most studied topic" : "")}."
                : "Put the theory into practice: follow each lesson with a lab or challenge on the same subject."));
        }
        if (style is { HasData: true, Score: >= 0.75 })
        {
            var theory = Untouched(topic?.Theory, p);
            advice.Add((style.Score - 0.25, theory is not null
                ? $"Back your hands-on work with the concepts behind it: the {theory.ContentType} '{theory.Title}' in {topic!.Name}."
                : "Back your hands-on work with the concepts behind it: read the lesson on each lab's subject before or after it."));
        }
        if (curiosity is { HasData: true, Score: < 0.5 })
        {
            advice.Add((1 - curiosity.Score, NewTopic(p, catalog)));
        }
        if (achievement is { HasData: true, Score: < 0.6 } && p.LowestScored is { Score: { } lowest } weakest)
        {
            advice.Add((1.05 - achievement.Score, Invariant($"Revisit {Title(weakest, catalog)}, where you scored {lowest:0}, and retry it before moving on: gaps in the basics compound later.")));
        }
        if (pace is { HasData: true, Score: < 0.4 })
        {
            advice.Add((0.9 - pace.Score, "Items take you longer than their expected time: set one concrete goal per session, such as one lesson or one lab section, and note what slows you down."));
        }
        if (pace is { HasData: true, Score: >= 0.6 } && achievement is { HasData: true, Score: < 0.6 })
        {
            advice.Add((0.6, "You move fast but your scores lag behind: slow down, redo the exercises and only then take the quiz."));
        }
        if (achievement is { HasData: true, Score: >= 0.75 } && (pace.Score >= 0.55 || persistence.Score >= 0.7)
            && Untouched(topic?.Labs.Concat(topic.Theory).Where(i => i.Level == "advanced"), p) is { } advanced)
        {
            advice.Add((0.3, $"You are ready for harder material: try '{advanced.Title}', an advanced {advanced.ContentType} in {topic!.Name}."));
        }
        if (p is { ActiveDays: 1, Total: >= 3 })
        {
            advice.Add((0.3, "Spread your study over several days a week rather than one sitting: short regular sessions stick better than one long one."));
        }
        if (p.Started > 0 && p.TotalSeconds == 0)
        {
            advice.Add((0.35, "Log the time you spend on each item, so your pace and session habits can be measured."));
        }

        var picked = advice.OrderByDescending(a => a.Priority).Take(Max).Select(a => a.Text).ToList();
        foreach (var fallback in Fallbacks(p, catalog))
        {
            if (picked.Count >= Min)
            {
                break;
            }
            if (!picked.Contains(fallback))
            {
                picked.Add(fallback);
            }
        }
        return picked;
    }

    /// <summary>The catalog title of an item, or its type and id when the catalog does not know it.</summary>
    public static string Title(LearningRecord record, CatalogFacts catalog) =>
        catalog.For(record.Key)?.Title is { Length: > 0 } title ? $"'{title}'" : $"{record.ContentType} {record.ContentId}";

    private static IEnumerable<string> Fallbacks(LearningProfile p, CatalogFacts catalog)
    {
        if (p.Started == 0)
        {
            var starter = catalog.Topics.FirstOrDefault(t => t.Name == StarterTopic) ?? catalog.Topics.FirstOrDefault();
            if (starter is { Theory: [var first, ..] })
            {
                yield return starter.Labs is [var lab, ..]
                    ? $"Start with the {first.ContentType} '{first.Title}' in {starter.Name}, then try the {lab.ContentType} '{lab.Title}' to put it into practice."
                    : $"Start with the {first.ContentType} '{first.Title}' in {starter.Name}.";
            }
            else
            {
                yield return "Start with an introductory lesson, then a lab on the same subject to put it into practice.";
            }
            yield return "Record your progress and study time as you go, so the next analysis can describe how you learn.";
            yield break;
        }
        yield return "Keep going, and set a small weekly goal such as two completed items to keep momentum.";
        yield return "Ask for a new analysis after a few more completed items to see how your traits move.";
    }

    private static string NewTopic(LearningProfile p, CatalogFacts catalog)
    {
        var fresh = catalog.Topics.Where(t => !p.TouchedTopics.Contains(t.Name))
            .OrderByDescending(t => t.Name == StarterTopic).ThenByDescending(t => t.ItemCount).ThenBy(t => t.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        if (fresh is not null && (fresh.Theory.FirstOrDefault() ?? fresh.Labs.FirstOrDefault()) is { } first)
        {
            return $"Broaden your base with a topic you have not touched yet: {fresh.Name}, starting with the {first.ContentType} '{first.Title}'.";
        }
        var used = p.Types.Select(t => t.Name).ToHashSet();
        var missing = new[] { ContentTypes.Lab, ContentTypes.Lesson, ContentTypes.Challenge, ContentTypes.Quiz, ContentTypes.Video, ContentTypes.Article }
            .FirstOrDefault(t => !used.Contains(t));
        return missing is not null
            ? $"Broaden your base: add a kind of content you have not used yet, such as a {missing}, on a subject new to you."
            : "Broaden your base: pick a subject you have not studied yet and take its introductory item.";
    }

    /// <summary>The learner's most studied catalog topic, else where a newcomer starts, else the largest topic.</summary>
    private static CatalogTopic? HomeTopic(LearningProfile p, CatalogFacts catalog)
    {
        foreach (var (name, _) in p.Topics)
        {
            if (catalog.Topics.FirstOrDefault(t => t.Name == name) is { } studied)
            {
                return studied;
            }
        }
        return catalog.Topics.FirstOrDefault(t => t.Name == StarterTopic)
            ?? catalog.Topics.OrderByDescending(t => t.ItemCount).ThenBy(t => t.Name, StringComparer.Ordinal).FirstOrDefault();
    }

    private static bool IsStudied(CatalogTopic topic, LearningProfile p) => p.Topics.Count > 0 && p.Topics[0].Name == topic.Name;

    private static CatalogPick? Untouched(IEnumerable<CatalogPick>? picks, LearningProfile p) =>
        picks?.FirstOrDefault(i => !p.Touched.Contains(i.Key));
}
