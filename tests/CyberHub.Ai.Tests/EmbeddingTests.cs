using System.Numerics.Tensors;
using CyberHub.Ai.Embeddings;

namespace CyberHub.Ai.Tests;

/// <summary>One generator for every embedding test: loading the model takes about a second.</summary>
public sealed class MiniLmFixture : IDisposable
{
    public MiniLmEmbeddingGenerator Generator { get; } = new();

    public void Dispose() => Generator.Dispose();
}

/// <summary>Golden values are those of the Python sentence-transformers reference for all-MiniLM-L6-v2.</summary>
public sealed class EmbeddingTests(MiniLmFixture fixture) : IClassFixture<MiniLmFixture>
{
    private const string EatingFood = "A man is eating food.";

    private static readonly string[] Vocabulary =
    [
        "the", "network", "security", "attack", "data", "system", "user", "password", "server", "access",
        "file", "code", "key", "policy", "risk", "team", "traffic", "email", "account", "test",
    ];

    private readonly MiniLmEmbeddingGenerator _generator = fixture.Generator;

    [Fact]
    public void Describes_the_model()
    {
        Assert.Equal("sentence-transformers/all-MiniLM-L6-v2", _generator.ModelName);
        Assert.Equal(384, _generator.Dimension);
    }

    [Fact]
    public async Task Paraphrases_score_the_reference_cosine()
    {
        var cosine = await CosineAsync(EatingFood, "A man is eating a piece of bread.");

        Assert.InRange(cosine, 0.7553f - 0.001f, 0.7553f + 0.001f);
    }

    [Fact]
    public async Task Components_match_the_reference_vector()
    {
        var vector = await EmbedOneAsync(EatingFood);

        Assert.InRange(vector[0], 0.0332f - 0.0005f, 0.0332f + 0.0005f);
        Assert.InRange(vector[1], 0.0044f - 0.0005f, 0.0044f + 0.0005f);
        Assert.InRange(vector[2], -0.0063f - 0.0005f, -0.0063f + 0.0005f);
    }

    [Theory]
    [InlineData("The stock market crashed in 1929.")]
    [InlineData("Attackers exploited an SQL injection flaw to dump the password hashes.")]
    public async Task Unrelated_sentences_score_low(string unrelated)
    {
        Assert.True(await CosineAsync(EatingFood, unrelated) < 0.2f);
    }

    [Fact]
    public async Task Every_vector_is_unit_length()
    {
        string[] texts = [EatingFood, "", "   ", "Café naïve résumé", "漢字とカタカナ", "x", string.Join(' ', Enumerable.Repeat("word", 300))];

        var vectors = await _generator.EmbedAsync(texts);

        Assert.Equal(texts.Length, vectors.Length);
        Assert.All(vectors, vector =>
        {
            Assert.Equal(384, vector.Length);
            Assert.InRange(TensorPrimitives.Norm<float>(vector), 1f - 1e-5f, 1f + 1e-5f);
        });
    }

    [Fact]
    public async Task Accents_are_stripped_like_the_reference_tokenizer()
    {
        var vectors = await _generator.EmbedAsync(["Café naïve résumé", "cafe naive resume"]);

        AssertClose(vectors[1], vectors[0], 1e-5f);
    }

    [Fact]
    public async Task A_mixed_length_batch_keeps_the_callers_order()
    {
        var texts = Enumerable.Range(0, 70).Select(i => Sentence(seed: i, words: 1 + (i * 37 % 60))).ToArray();

        var batched = await _generator.EmbedAsync(texts);

        Assert.Equal(texts.Length, batched.Length);
        for (var i = 0; i < texts.Length; i++)
        {
            AssertClose(await EmbedOneAsync(texts[i]), batched[i], 1e-5f);
        }
    }

    [Fact]
    public async Task Long_texts_are_truncated_to_the_models_window()
    {
        var words = Sentence(seed: 7, words: 2000).Split(' ');
        var full = string.Join(' ', words);

        var vectors = await _generator.EmbedAsync([full, string.Join(' ', words[..254]), string.Join(' ', words[..300])]);

        // Every word is a single token: [CLS] + 254 words + [SEP] fill the 256-token window.
        AssertClose(vectors[1], vectors[0], 1e-5f);
        AssertClose(vectors[2], vectors[0], 1e-5f);
        Assert.InRange(TensorPrimitives.Norm<float>(vectors[0]), 1f - 1e-5f, 1f + 1e-5f);
    }

    [Fact]
    public async Task An_empty_list_gives_no_vectors()
    {
        Assert.Empty(await _generator.EmbedAsync([]));
    }

    [Fact]
    public async Task A_cancelled_call_throws()
    {
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _generator.EmbedAsync([EatingFood], new CancellationToken(canceled: true)));
    }

    [Fact]
    public async Task Concurrent_callers_get_the_same_vectors_as_sequential_ones()
    {
        var requests = Enumerable.Range(0, 8)
            .Select(t => Enumerable.Range(0, 40).Select(i => Sentence(seed: (t * 100) + i, words: 3 + ((t + i) % 25))).ToArray())
            .ToArray();
        var sequential = new List<float[][]>();
        foreach (var texts in requests)
        {
            sequential.Add(await _generator.EmbedAsync(texts));
        }

        var concurrent = await Task.WhenAll(requests.Select(texts => Task.Run(() => _generator.EmbedAsync(texts))));

        for (var t = 0; t < requests.Length; t++)
        {
            for (var i = 0; i < requests[t].Length; i++)
            {
                AssertClose(sequential[t][i], concurrent[t][i], 1e-5f);
            }
        }
    }

    private async Task<float[]> EmbedOneAsync(string text) => (await _generator.EmbedAsync([text]))[0];

    private async Task<float> CosineAsync(string left, string right)
    {
        var vectors = await _generator.EmbedAsync([left, right]);
        return TensorPrimitives.CosineSimilarity<float>(vectors[0], vectors[1]);
    }

    /// <summary>A deterministic run of single-token words.</summary>
    private static string Sentence(int seed, int words)
    {
        var random = new Random(seed);
        return string.Join(' ', Enumerable.Range(0, words).Select(_ => Vocabulary[random.Next(Vocabulary.Length)]));
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= tolerance, $"component {i}: {expected[i]} vs {actual[i]}");
        }
    }
}
