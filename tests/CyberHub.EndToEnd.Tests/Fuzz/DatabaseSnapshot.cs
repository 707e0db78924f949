using System.Data.Common;
using System.Globalization;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;
using CyberHub.Core.Data;
using CyberHub.EndToEnd.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.EndToEnd.Tests.Fuzz;

/// <summary>
/// Everything the platform has stored, as lines of text: every row of every Core table (read through Core's own
/// connection, so SQLite and PostgreSQL alike), the AI catalog (count and every item) and the stored completions of the
/// given learners. Two snapshots are equal exactly when nothing was written in between.
/// </summary>
public sealed class DatabaseSnapshot
{
    private readonly IReadOnlyList<string> _lines;

    private DatabaseSnapshot(IReadOnlyList<string> lines) => _lines = lines;

    public int Lines => _lines.Count;

    public bool SameAs(DatabaseSnapshot other) => _lines.SequenceEqual(other._lines);

    public static async Task<DatabaseSnapshot> TakeAsync(Platform platform, IReadOnlyList<long> learners)
    {
        var lines = new List<string>();
        await using (var scope = platform.Core.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
            var connection = db.Database.GetDbConnection();
            await db.Database.OpenConnectionAsync();
            try
            {
                // One statement per table, sent together: a snapshot after every request must cost one round trip.
                var tables = db.Model.GetEntityTypes().Where(e => e.GetTableName() is not null).OrderBy(e => e.GetTableName(), StringComparer.Ordinal).ToList();
                await using var command = connection.CreateCommand();
                command.CommandText = string.Join(";\n", tables.Select(entity =>
                    $"SELECT * FROM {Quote(entity.GetTableName()!)} ORDER BY {string.Join(", ", entity.FindPrimaryKey()!.Properties.Select(p => Quote(p.GetColumnName())))}"));
                await using var reader = await command.ExecuteReaderAsync();
                foreach (var entity in tables)
                {
                    while (await reader.ReadAsync())
                    {
                        lines.Add($"{entity.GetTableName()}: {Row(reader)}");
                    }
                    await reader.NextResultAsync();
                }
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
        }

        var store = platform.Ai.Services.GetRequiredService<IVectorStore>();
        var (count, items) = await store.ListAsync(null, 0, 100_000);
        lines.Add($"catalog: {count} items");
        lines.AddRange(items.Select(i => $"catalog item: {i}"));
        var profiles = platform.Ai.Services.GetRequiredService<ILearnerProfileStore>();
        foreach (var learner in learners)
        {
            var profile = await profiles.GetAsync(learner);
            lines.Add(profile is null
                ? $"profile {learner}: none"
                : $"profile {learner}: sequence {profile.LastSequence} updated {profile.UpdatedAt:O} completions " +
                  string.Join(", ", profile.Completions.Select(c => $"{c.Item.ContentType}/{c.Item.ContentId} {c.CompletedAt:O} {c.Status}")));
        }
        return new DatabaseSnapshot(lines);
    }

    /// <summary>What differs from <paramref name="before"/>: lines gone and lines new, at most <paramref name="max"/>.</summary>
    public IReadOnlyList<string> Differences(DatabaseSnapshot before, int max = 10)
    {
        var gone = before._lines.Except(_lines).Select(l => $"- {Shorten(l)}");
        var added = _lines.Except(before._lines).Select(l => $"+ {Shorten(l)}");
        return [.. gone.Concat(added).Take(max)];
    }

    private static string Row(DbDataReader reader)
    {
        var values = new string[reader.FieldCount];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = reader.GetName(i) + "=" + reader.GetValue(i) switch
            {
                DBNull => "null",
                byte[] bytes => Convert.ToHexString(bytes),
                DateTime time => time.ToString("O", CultureInfo.InvariantCulture),
                DateTimeOffset time => time.ToString("O", CultureInfo.InvariantCulture),
                double number => number.ToString("R", CultureInfo.InvariantCulture),
                IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
                var other => other.ToString(),
            };
        }
        return string.Join(" | ", values);
    }

    private static string Quote(string name) => $"\"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    private static string Shorten(string line) => line.Length <= 300 ? line : line[..300] + "...";
}
