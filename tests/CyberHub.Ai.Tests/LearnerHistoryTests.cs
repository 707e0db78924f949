using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;

namespace CyberHub.Ai.Tests;

/// <summary>How the recommendation service reads a learner's history from Core's progress records.</summary>
public sealed class LearnerHistoryTests
{
    private static readonly DateTime T0 = new(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    private static ProgressDto Record(long id, string contentId, ProgressStatus status, double percentage, DateTime updated, DateTime? completed = null) =>
        new(id, 7, contentId, "lesson", status, percentage, null, 60, [], updated, completed, updated, updated, 1);

    [Fact]
    public void Completions_are_the_history_oldest_completion_first_and_everything_started_is_excluded()
    {
        var records = new[]
        {
            // Updated last but completed first: the completion time orders the history, not the last change.
            Record(1, "b", ProgressStatus.Completed, 100, T0.AddDays(9), completed: T0.AddDays(1)),
            Record(2, "a", ProgressStatus.Completed, 100, T0.AddDays(2), completed: T0.AddDays(2)),
            Record(3, "c", ProgressStatus.InProgress, 40, T0.AddDays(3)),
            Record(4, "d", ProgressStatus.NotStarted, 0, T0.AddDays(4)),
            // A completion without a completion time falls back to its last change.
            Record(5, "e", ProgressStatus.Completed, 100, T0.AddDays(5)),
        };

        var history = LearnerHistory.From(records);

        Assert.Equal(["b", "a", "e"], history.Seeds.Select(r => r.ContentId));
        Assert.Equal(history.Completed, history.Seeds);
        Assert.Equal(T0.AddDays(5), LearnerHistory.At(records[4]));
        // Started means any progress at all: the untouched record is not the learner's yet.
        Assert.Equal(new[] { "a", "b", "c", "e" }, history.Started.Select(k => k.ContentId).Order());
        Assert.DoesNotContain(new ContentKey("lesson", "d"), history.Started);
    }

    [Fact]
    public void Without_completions_the_work_in_progress_seeds_the_ranking_and_without_progress_nothing_does()
    {
        var working = LearnerHistory.From(
        [
            Record(1, "late", ProgressStatus.InProgress, 80, T0.AddDays(2)),
            Record(2, "early", ProgressStatus.InProgress, 10, T0.AddDays(1)),
            Record(3, "touched", ProgressStatus.NotStarted, 5, T0.AddDays(3)),
        ]);
        Assert.Empty(working.Completed);
        Assert.Equal(["early", "late", "touched"], working.Seeds.Select(r => r.ContentId));

        var newcomer = LearnerHistory.From([Record(1, "untouched", ProgressStatus.NotStarted, 0, T0)]);
        Assert.Empty(newcomer.Seeds);
        Assert.Empty(newcomer.Started);
    }
}
