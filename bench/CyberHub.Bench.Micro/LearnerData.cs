using System.Numerics.Tensors;
using System.Text.Json.Nodes;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.Personality;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;

namespace CyberHub.Bench.Micro;

/// <summary>
/// One learner's progress records, seeded: a mix of types, statuses, scores and dates over half a year, every item in
/// the catalog with a vector and facts (topic, level, duration), as the recommendation and personality paths get them.
/// </summary>
internal sealed class LearnerData
{
    private static readonly string[] Types =
        [ContentTypes.Course, ContentTypes.Lesson, ContentTypes.Lab, ContentTypes.Challenge, ContentTypes.Video, ContentTypes.Article];

    private static readonly string[] Topics =
        ["network security", "web security", "cryptography", "forensics", "malware analysis", "cloud security",
         "incident response", "identity and access", "secure coding", "threat intelligence", "privacy", "reverse engineering"];

    private static readonly string[] Levels = ["beginner", "intermediate", "advanced"];

    public LearnerData(int records)
    {
        var random = new Random(records);
        var latest = new DateTime(2026, 11, 20, 12, 0, 0, DateTimeKind.Utc);
        var progress = new List<ProgressDto>(records);
        var items = new List<ContentVector>(records);
        var facts = new Dictionary<ContentKey, ContentFacts>(records);
        for (var i = 0; i < records; i++)
        {
            var type = Types[i % Types.Length];
            var id = $"{type}-{i:D5}";
            var status = (ProgressStatus)(random.Next(10) switch { 0 => 0, < 5 => 1, _ => 2 });
            var percentage = status switch { ProgressStatus.Completed => 100, ProgressStatus.InProgress => random.Next(5, 96), _ => 0 };
            var created = latest.AddDays(-random.Next(1, 180)).AddMinutes(-random.Next(1440));
            var started = status == ProgressStatus.NotStarted ? (DateTime?)null : created.AddHours(random.Next(1, 48));
            var completed = status == ProgressStatus.Completed ? started!.Value.AddHours(random.Next(1, 200)) : (DateTime?)null;
            var updated = completed ?? started?.AddHours(random.Next(1, 100)) ?? created;
            double? score = status == ProgressStatus.Completed && random.Next(3) > 0 ? random.Next(40, 101) : null;
            progress.Add(new ProgressDto(i + 1, 7, id, type, status, percentage, score, random.Next(60, 7200), new JsonObject(),
                started, completed, created, updated, 1));

            var topic = Topics[random.Next(Topics.Length)];
            var level = Levels[random.Next(Levels.Length)];
            var minutes = 10 + random.Next(120);
            var record = new ContentRecord(type, id, $"{topic} {type} {i}", $"A {level} {type} on {topic}.",
                $$"""{"topic":"{{topic}}","level":"{{level}}","duration_minutes":{{minutes}}}""", 1, created, created);
            items.Add(new ContentVector(record, RandomUnit(random)));
            facts[new ContentKey(type, id)] = ContentFacts.From(record);
        }

        Progress = progress;
        Items = items;
        Records = [.. progress.Select(LearningRecord.From)];
        var picks = items.Select(i => i.Content).ToArray();
        var topics = Topics.Select(t => new CatalogTopic(t, records / Topics.Length,
            [.. picks.Where(p => p.ContentType is ContentTypes.Lab or ContentTypes.Challenge).Take(8).Select(Pick)],
            [.. picks.Where(p => p.ContentType is ContentTypes.Lesson or ContentTypes.Course).Take(8).Select(Pick)])).ToArray();
        Facts = new CatalogFacts(facts, topics);
        AnalyzedAt = latest.AddDays(1);
    }

    public IReadOnlyList<ProgressDto> Progress { get; }

    /// <summary>The catalog items the learner worked on, with vectors, as the store's GetManyAsync answers them.</summary>
    public IReadOnlyList<ContentVector> Items { get; }

    public IReadOnlyList<LearningRecord> Records { get; }

    public CatalogFacts Facts { get; }

    public DateTime AnalyzedAt { get; }

    private static CatalogPick Pick(ContentRecord r) => new(r.ContentType, r.ContentId, r.Title, "beginner");

    private static float[] RandomUnit(Random random)
    {
        var vector = new float[ContentVectors.Dimensions];
        for (var d = 0; d < vector.Length; d++)
        {
            vector[d] = (random.NextSingle() * 2) - 1;
        }
        TensorPrimitives.Divide(vector, TensorPrimitives.Norm(vector), vector);
        return vector;
    }
}
