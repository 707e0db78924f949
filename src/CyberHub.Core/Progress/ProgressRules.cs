using System.Text.Json.Nodes;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Errors;

namespace CyberHub.Core.Progress;

/// <summary>
/// How a progress record may change. Status and completion move together: completed means 100 %,
/// 100 % means completed, any work means started. <c>started_at</c> is stamped when work starts and
/// <c>completed_at</c> when the item is completed; going back clears what no longer holds.
/// The limits are Contracts' <see cref="FieldRules"/>, the ones the web app checks a form with.
/// </summary>
public static class ProgressRules
{
    public static ProgressStatus? ParseStatus(string? value) => value switch
    {
        null or "" => null,
        "not_started" => ProgressStatus.NotStarted,
        "in_progress" => ProgressStatus.InProgress,
        "completed" => ProgressStatus.Completed,
        _ => throw ApiException.BadRequest($"status: '{value}' is not one of not_started, in_progress, completed."),
    };

    /// <summary>Applies a change (absent fields stay) and stamps the transition times.</summary>
    public static void Apply(ProgressRecord record, UpdateProgressRequest change, DateTime now)
    {
        var percentage = change.CompletionPercentage is { } p ? Percentage(p, "completion_percentage") : record.CompletionPercentage;
        var status = change.Status ?? record.Status;

        switch (change.Status)
        {
            case ProgressStatus.Completed when change.CompletionPercentage is < 100:
                throw ApiException.BadRequest("completion_percentage must be 100 when status is completed.");
            case ProgressStatus.Completed:
                percentage = 100;
                break;
            case ProgressStatus.NotStarted when change.CompletionPercentage is > 0:
                throw ApiException.BadRequest("completion_percentage must be 0 when status is not_started.");
            case ProgressStatus.NotStarted:
                percentage = 0;
                break;
            case ProgressStatus.InProgress when percentage >= 100:
                throw ApiException.BadRequest("completion_percentage must be below 100 when status is in_progress.");
            case null when percentage >= 100:
                status = ProgressStatus.Completed;
                break;
            case null when status == ProgressStatus.Completed || (status == ProgressStatus.NotStarted && percentage > 0):
                status = ProgressStatus.InProgress;
                break;
        }

        if (change.Score is { } score)
        {
            record.Score = Percentage(score, "score");
        }
        if (change.TimeSpentSeconds is { } seconds)
        {
            record.TimeSpentSeconds = FieldRules.TimeSpent(seconds) is null
                ? seconds
                : throw ApiException.BadRequest($"time_spent_seconds must be between 0 and {FieldRules.MaxTimeSpentSeconds}.");
        }
        if (change.Metadata is not null)
        {
            record.Metadata = MergeMetadata(record.Metadata, change.Metadata);
        }

        record.Status = status;
        record.CompletionPercentage = percentage;
        record.StartedAt = status == ProgressStatus.NotStarted ? null : record.StartedAt ?? now;
        record.CompletedAt = status == ProgressStatus.Completed ? record.CompletedAt ?? now : null;
        record.UpdatedAt = now;
    }

    public static JsonObject Metadata(string stored) => JsonNode.Parse(stored)?.AsObject() ?? [];

    private static double Percentage(double value, string field) =>
        FieldRules.Percentage(value, field) is null
            ? Math.Round(value, 2)
            : throw ApiException.BadRequest($"{field} must be between 0 and 100.");

    /// <summary>JSON merge patch (RFC 7396) of <paramref name="patch"/> into the stored object.</summary>
    private static string MergeMetadata(string stored, JsonObject patch)
    {
        var target = Metadata(stored);
        Merge(target, patch);
        return ContentRules.Metadata(target);
    }

    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch)
        {
            if (value is null)
            {
                target.Remove(key);
            }
            else if (value is JsonObject nested && target[key] is JsonObject existing)
            {
                Merge(existing, nested);
            }
            else
            {
                target[key] = value.DeepClone();
            }
        }
    }
}
