using System.Globalization;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Errors;
using static System.FormattableString;

namespace CyberHub.Ai.Personality;

/// <summary>
/// Checks progress records a caller hands in for analysis. They bypass Core, so they get Core's rules here,
/// and every refusal names the record's index and the field at fault.
/// </summary>
public static class ProgressData
{
    public const int MaxRecords = 10_000;
    public const long MaxTimeSpentSeconds = 10L * 365 * 24 * 3600;

    // Clocks drift between hosts; a record stamped a little ahead of ours is not malformed.
    private static readonly TimeSpan FutureTolerance = TimeSpan.FromDays(1);

    public static IReadOnlyList<LearningRecord> Validate(long userId, IReadOnlyList<ProgressDataRecord?> data, DateTime now)
    {
        if (data.Count > MaxRecords)
        {
            throw Bad(Invariant($"progress_data: at most {MaxRecords} records per analysis (got {data.Count})."));
        }
        var records = new List<LearningRecord>(data.Count);
        var seen = new Dictionary<ContentKey, int>();
        for (var i = 0; i < data.Count; i++)
        {
            var at = Invariant($"progress_data[{i}]");
            var record = Validate(at, data[i], userId, now);
            if (!seen.TryAdd(record.Key, i))
            {
                throw Bad(Invariant($"{at} repeats {record.ContentType} '{record.ContentId}' of progress_data[{seen[record.Key]}]: give one record per item."));
            }
            records.Add(record);
        }
        return records;
    }

    private static LearningRecord Validate(string at, ProgressDataRecord? r, long userId, DateTime now)
    {
        if (r is null)
        {
            throw Bad($"{at} is null: each record is a JSON object.");
        }
        if (r.UserId is { } owner && owner != userId)
        {
            throw Bad(Invariant($"{at}.user_id is {owner}, but the analysis is for user {userId}."));
        }
        string contentId, contentType;
        try
        {
            contentId = ContentRules.ContentId(r.ContentId);
            contentType = ContentRules.ContentType(r.ContentType);
        }
        catch (ApiException e)
        {
            throw Bad($"{at}.{e.Message}");
        }
        var status = r.Status ?? throw Bad($"{at}.status is required: not_started, in_progress or completed.");
        var completion = r.CompletionPercentage ?? (status == ProgressStatus.Completed ? 100 : 0);
        if (!double.IsFinite(completion) || completion is < 0 or > 100)
        {
            throw Bad(Invariant($"{at}.completion_percentage must be between 0 and 100 (got {completion})."));
        }
        var contradiction = status switch
        {
            ProgressStatus.Completed when completion < 100 => "must be 100 when status is completed",
            ProgressStatus.NotStarted when completion > 0 => "must be 0 when status is not_started",
            ProgressStatus.InProgress when completion >= 100 => "must be below 100 when status is in_progress",
            _ => null,
        };
        if (contradiction is not null)
        {
            throw Bad(Invariant($"{at}.completion_percentage {contradiction} (got {completion})."));
        }
        if (r.Score is { } score && (!double.IsFinite(score) || score is < 0 or > 100))
        {
            throw Bad(Invariant($"{at}.score must be between 0 and 100 (got {score})."));
        }
        var seconds = r.TimeSpentSeconds ?? 0;
        if (seconds is < 0 or > MaxTimeSpentSeconds)
        {
            throw Bad(Invariant($"{at}.time_spent_seconds must be between 0 and {MaxTimeSpentSeconds} (got {seconds})."));
        }

        var started = Stamp(at, "started_at", r.StartedAt, now);
        var completed = Stamp(at, "completed_at", r.CompletedAt, now);
        var created = Stamp(at, "created_at", r.CreatedAt, now);
        var updated = Stamp(at, "updated_at", r.UpdatedAt, now);
        if (completed is not null && status != ProgressStatus.Completed)
        {
            throw Bad($"{at}.completed_at is set, but status is {Wire(status)}: only completed items have a completion time.");
        }
        if (started is { } s && completed is { } c && c < s)
        {
            throw Bad($"{at}.completed_at ({Iso(c)}) is before started_at ({Iso(s)}).");
        }
        if (created is { } cr && updated is { } up && up < cr)
        {
            throw Bad($"{at}.updated_at ({Iso(up)}) is before created_at ({Iso(cr)}).");
        }
        return new LearningRecord(contentType, contentId, status, completion, r.Score, seconds, started, completed, created, updated);
    }

    private static DateTime? Stamp(string at, string field, DateTime? value, DateTime now)
    {
        var utc = LearningRecord.Utc(value);
        return utc > now + FutureTolerance
            ? throw Bad($"{at}.{field} ({Iso(utc.Value)}) lies in the future.")
            : utc;
    }

    private static string Wire(ProgressStatus status) => status switch
    {
        ProgressStatus.NotStarted => "not_started",
        ProgressStatus.InProgress => "in_progress",
        _ => "completed",
    };

    private static string Iso(DateTime value) => value.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static ApiException Bad(string detail) => ApiException.BadRequest(detail);
}
