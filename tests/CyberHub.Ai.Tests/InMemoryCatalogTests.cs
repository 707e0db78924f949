using CyberHub.Ai.VectorStore;

namespace CyberHub.Ai.Tests;

/// <summary>
/// The embedded store's scan over vectors kept by label outside the managed heap: after vector changes and removals
/// that move the last row into a hole, it finds exactly what a brute-force scan of the same items finds, and each item
/// keeps its own vector.
/// </summary>
public sealed class InMemoryCatalogTests
{
    private const int D = ContentVectors.Dimensions;

    [Fact]
    public void Search_across_blocks_and_after_removals_matches_a_brute_force_scan()
    {
        using var catalog = new InMemoryCatalog();
        var random = new Random(20261127);
        var items = new Dictionary<ContentKey, (ContentRecord Record, float[] Vector)>();
        for (var i = 0; i < 2_600; i++)
        {
            var record = Record(i);
            var vector = Unit(random);
            catalog.Upsert(record, vector, label: i + 1);
            items[ContentVectors.KeyOf(record)] = (record, vector);
        }
        // Replace some vectors in place, then remove items from the first block, a middle block and the end.
        foreach (var i in new[] { 5, 1_500, 2_599 })
        {
            var record = Record(i);
            var vector = Unit(random);
            catalog.Upsert(record, vector, label: i + 1);
            items[ContentVectors.KeyOf(record)] = (record, vector);
        }
        foreach (var i in Enumerable.Range(0, 2_600).Where(i => i % 3 == 0 || i >= 1_100))
        {
            Assert.True(catalog.Remove(ContentVectors.KeyOf(Record(i))));
            items.Remove(ContentVectors.KeyOf(Record(i)));
        }
        Assert.Equal(items.Count, catalog.Count);

        for (var q = 0; q < 20; q++)
        {
            var query = Unit(random);
            var type = q % 2 == 0 ? null : "lab";
            var expected = items.Values
                .Where(item => type is null || item.Record.ContentType == type)
                .Select(item => (item.Record.ContentId, Score: Dot(item.Vector, query)))
                .OrderByDescending(hit => hit.Score).Take(10).ToList();

            var hits = catalog.Search(query, 10, type, exclude: null);

            Assert.Equal(expected.Select(h => h.ContentId), hits.Select(h => h.Content.ContentId));
            Assert.All(hits.Zip(expected), pair => Assert.True(Math.Abs(pair.Second.Score - pair.First.Score) < 1e-5));
        }
        foreach (var (key, item) in items)
        {
            Assert.Equal(item.Vector, catalog.GetVector(key));
        }

        // Grows again into the blocks it gave back.
        for (var i = 3_000; i < 4_200; i++)
        {
            catalog.Upsert(Record(i), Unit(random), label: i + 1);
        }
        Assert.Equal(items.Count + 1_200, catalog.Count);
        Assert.Equal(10, catalog.Search(Unit(random), 10, null, null).Count);
    }

    private static ContentRecord Record(int i)
    {
        var now = new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc);
        return new ContentRecord(i % 4 == 0 ? "lab" : "lesson", $"item-{i:D5}", $"Item {i}", "", "{}", 1, now, now);
    }

    private static float[] Unit(Random random)
    {
        var v = new float[D];
        for (var i = 0; i < D; i++)
        {
            v[i] = (float)(random.NextDouble() * 2 - 1);
        }
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / norm)];
    }

    private static double Dot(float[] a, float[] b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }
        return sum;
    }
}
