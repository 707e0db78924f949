using BenchmarkDotNet.Attributes;
using CyberHub.Ai.Embeddings;
using Microsoft.ML.Tokenizers;

namespace CyberHub.Bench.Micro;

/// <summary>
/// WordPiece tokenization as <see cref="MiniLmEmbeddingGenerator"/> does it before every model run: the package's
/// vocabulary through Microsoft.ML.Tokenizers' BertTokenizer, accents folded first, at most 256 ids.
/// </summary>
[MemoryDiagnoser]
public class TokenizationBenchmarks
{
    private BertTokenizer _tokenizer = null!;
    private string[] _texts = [];
    private int _next;

    [Params(TextLength.Short18, TextLength.Long120)]
    public TextLength Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _tokenizer = MiniLmResources.CreateTokenizer();
        _texts = Texts.Of(Length);
    }

    [Benchmark(Description = "one text")]
    public int[] OneText() => Tokenize(_texts[_next++ & (Texts.Count - 1)]);

    [Benchmark(Description = "batch of 32")]
    public int Batch32()
    {
        var start = (_next++ & 1) * 32;
        var total = 0;
        for (var i = start; i < start + 32; i++)
        {
            total += Tokenize(_texts[i]).Length;
        }
        return total;
    }

    // The same call as MiniLmEmbeddingGenerator.Tokenize (private there).
    private int[] Tokenize(string text) =>
        [.. _tokenizer.EncodeToIds(AccentFolding.Fold(text), MiniLmEmbeddingGenerator.MaxTokens, addSpecialTokens: true, out _, out _)];
}
