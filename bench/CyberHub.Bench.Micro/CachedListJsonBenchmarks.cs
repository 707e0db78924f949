using System.Text.Json;
using BenchmarkDotNet.Attributes;
using CyberHub.Ai;
using CyberHub.Ai.Recommendations;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Caching;

namespace CyberHub.Bench.Micro;

/// <summary>
/// A step of every recommendation miss: the cache writing a learner's list of 50 picks with their explanations as JSON,
/// by reflection (the cache's default) and by the source-generated <see cref="AiCacheJson"/>. Descriptions are the
/// benchmark corpus's texts of about 120 tokens.
/// </summary>
[MemoryDiagnoser]
public class CachedListJsonBenchmarks
{
    private static readonly JsonSerializerOptions Generated = CachingExtensions.CachedJsonOptions(AiCacheJson.Default);

    private readonly RecommendationPicks _picks;

    public CachedListJsonBenchmarks()
    {
        var texts = Texts.Of(TextLength.Long120);
        var components = new RecommendationComponents(0.75, 0.5, 1, 0, new RecommendationWeights(0.2, 0.6, 0.2, 0));
        var driver = new RecommendationItem("lesson", "lesson-0", "Lesson 0");
        _picks = new RecommendationPicks(
            [.. Enumerable.Range(0, 50).Select(i => new RecommendationDto($"lesson-{i}", "lesson", $"Lesson {i}", texts[i % texts.Length], 0.9 - i / 100.0, "Next step after 'Lesson 0'"))],
            [.. Enumerable.Range(0, 50).Select(i => new RecommendationExplanation(RecommendationSources.NextStep, driver, components, i % 5 != 0, i % 5 == 0 ? [driver] : []))],
            new RecommendationFusion("shrunk", 0.6, 12.5, 4, new RecommendationPrior(0.7, 0.3)));
    }

    [Benchmark(Baseline = true, Description = "list of 50 as JSON, reflection")]
    public int ByReflection() => JsonSerializer.SerializeToUtf8Bytes(_picks, JsonSerializerOptions.Default).Length;

    [Benchmark(Description = "list of 50 as JSON, source-generated")]
    public int BySourceGeneration() => JsonSerializer.SerializeToUtf8Bytes(_picks, Generated).Length;
}
