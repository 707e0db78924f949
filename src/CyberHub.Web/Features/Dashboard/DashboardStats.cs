using System.Globalization;
using CyberHub.Contracts;

namespace CyberHub.Web.Features.Dashboard;

/// <summary>The dashboard's headline numbers, computed from the learner's progress records.</summary>
public sealed record DashboardStats(int Completed, int InProgress, long TimeSpentSeconds, int Scored, double? AverageScore)
{
    public static readonly DashboardStats Empty = new(0, 0, 0, 0, null);

    public static DashboardStats From(IReadOnlyList<ProgressDto> progress)
    {
        var scores = progress.Where(p => p.Score is not null).Select(p => p.Score!.Value).ToList();
        return new DashboardStats(
            progress.Count(p => p.Status == ProgressStatus.Completed),
            progress.Count(p => p.Status == ProgressStatus.InProgress),
            progress.Sum(p => p.TimeSpentSeconds),
            scores.Count,
            scores.Count == 0 ? null : scores.Average());
    }

    /// <summary>"2 h 05 min", or "12 min" under an hour.</summary>
    public static string Duration(long seconds)
    {
        var minutes = Math.Max(0, seconds) / 60;
        return minutes >= 60
            ? string.Create(CultureInfo.InvariantCulture, $"{minutes / 60} h {minutes % 60:00} min")
            : string.Create(CultureInfo.InvariantCulture, $"{minutes} min");
    }

    /// <summary>At most <paramref name="max"/> characters, cut at a word with an ellipsis.</summary>
    public static string Shorten(string text, int max)
    {
        if (text.Length <= max)
        {
            return text;
        }
        var cut = text.LastIndexOf(' ', max - 1);
        return text[..(cut > max / 2 ? cut : max - 1)].TrimEnd(' ', ',', ';', '.', ':') + "…";
    }
}
