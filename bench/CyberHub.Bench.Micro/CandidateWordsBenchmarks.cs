using BenchmarkDotNet.Attributes;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Micro;

/// <summary>
/// A step of every recommendation miss: the words of 200 candidates, read from their text each time
/// (<see cref="ItemWords.Vector"/>) and kept from earlier misses (<see cref="CandidateWords"/>). Titles and descriptions
/// are the benchmark corpus's texts of about 120 tokens.
/// </summary>
[MemoryDiagnoser]
public class CandidateWordsBenchmarks
{
    private const int Candidates = 200;

    private readonly (ContentKey Key, string Title, string Description)[] _candidates;

    public CandidateWordsBenchmarks()
    {
        var texts = Texts.Of(TextLength.Long120);
        _candidates = [.. Enumerable.Range(0, Candidates).Select(i => (new ContentKey("lesson", $"candidate-{i}"), $"Candidate {i}: {texts[(i + 7) % texts.Length][..40]}", texts[i % texts.Length]))];
        foreach (var (key, title, description) in _candidates)
        {
            CandidateWords.Of(key, title, description);
        }
    }

    [Benchmark(Baseline = true, Description = "200 candidates' words, read from their text")]
    public int Read()
    {
        var words = 0;
        foreach (var (_, title, description) in _candidates)
        {
            words += ItemWords.Vector(title, description).Count;
        }
        return words;
    }

    [Benchmark(Description = "200 candidates' words, kept")]
    public int Kept()
    {
        var words = 0;
        foreach (var (key, title, description) in _candidates)
        {
            words += CandidateWords.Of(key, title, description).Count;
        }
        return words;
    }
}
