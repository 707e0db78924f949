using BenchmarkDotNet.Attributes;
using CyberHub.Ai.Personality;
using CyberHub.Ai.Recommendations;
using CyberHub.Contracts;

namespace CyberHub.Bench.Micro;

/// <summary>
/// The CPU work per learner behind recommendations and personality analysis, for a learner with 10 and with 1,000
/// progress records: no I/O, the catalog items and facts handed in as the store would answer them.
/// </summary>
[MemoryDiagnoser]
public class LearnerBenchmarks
{
    private LearnerData _data = null!;

    [Params(10, 1_000)]
    public int Records { get; set; }

    [GlobalSetup]
    public void Setup() => _data = new LearnerData(Records);

    /// <summary>What a recommendation computes from the progress Core reports: entries, weights, the profile vector.</summary>
    [Benchmark(Description = "profile vector (ProfileBuilder)")]
    public float[]? ProfileVector()
    {
        var entries = ProfileBuilder.Entries(_data.Progress);
        return ProfileBuilder.Vector(ProfileBuilder.Weigh(entries, _data.Items));
    }

    [Benchmark(Description = "personality (PersonalityAnalyzer)")]
    public PersonalityAnalysis Personality() =>
        PersonalityAnalyzer.Analyze(7, _data.Records, _data.Facts, _data.AnalyzedAt);
}
