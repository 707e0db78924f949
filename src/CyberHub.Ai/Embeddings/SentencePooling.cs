using System.Numerics.Tensors;

namespace CyberHub.Ai.Embeddings;

/// <summary>Sentence-transformers' Pooling(mean) + Normalize head over a model's token states.</summary>
internal static class SentencePooling
{
    private const float MinNorm = 1e-12f;

    /// <summary>
    /// Averages the first <paramref name="tokenCount"/> token vectors (the ones the attention mask keeps; padding only
    /// ever follows them) and scales the mean to unit length.
    /// </summary>
    public static float[] MeanPoolNormalized(ReadOnlySpan<float> tokenStates, int tokenCount, int dimension)
    {
        var sentence = new float[dimension];
        for (var token = 0; token < tokenCount; token++)
        {
            TensorPrimitives.Add(sentence, tokenStates.Slice(token * dimension, dimension), sentence);
        }

        // Dividing by the count before normalising changes nothing mathematically but keeps float rounding
        // the same as the reference implementation.
        TensorPrimitives.Divide(sentence, Math.Max(tokenCount, 1), sentence);
        var norm = TensorPrimitives.Norm<float>(sentence);
        TensorPrimitives.Divide(sentence, Math.Max(norm, MinNorm), sentence);
        return sentence;
    }
}
