using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CyberHub.Ai.Embeddings;

/// <summary>
/// Model inputs and output for one batch, allocated once at the largest batch shape and reused for every run.
/// Not thread-safe: one run at a time.
/// </summary>
internal sealed class TokenBatchBuffers(int maxRows, int maxTokens, int hiddenSize)
{
    private static readonly string[] InputNames = ["input_ids", "attention_mask", "token_type_ids"];
    private static readonly string[] OutputNames = ["last_hidden_state"];

    private readonly long[] _inputIds = GC.AllocateArray<long>(maxRows * maxTokens, pinned: true);
    private readonly long[] _attentionMask = GC.AllocateArray<long>(maxRows * maxTokens, pinned: true);

    // Every text is a single segment, so token types stay zero.
    private readonly long[] _tokenTypeIds = GC.AllocateArray<long>(maxRows * maxTokens, pinned: true);
    private readonly float[] _tokenStates = GC.AllocateUninitializedArray<float>(maxRows * maxTokens * hiddenSize, pinned: true);

    /// <summary>Fails early if the model does not take the inputs and produce the output this class feeds it.</summary>
    public static void EnsureMatches(InferenceSession session, int hiddenSize)
    {
        foreach (var name in InputNames)
        {
            if (!session.InputMetadata.TryGetValue(name, out var input) || input.ElementDataType != TensorElementType.Int64)
            {
                throw new InvalidOperationException($"The embedding model has no int64 input '{name}'.");
            }
        }

        if (!session.OutputMetadata.TryGetValue(OutputNames[0], out var output)
            || output.ElementDataType != TensorElementType.Float
            || output.Dimensions is not [_, _, var width] || width != hiddenSize)
        {
            throw new InvalidOperationException($"The embedding model has no float output '{OutputNames[0]}' of width {hiddenSize}.");
        }
    }

    /// <summary>Lays out one row per text, right-padded with zeros to <paramref name="sequenceLength"/>.</summary>
    public void Fill(ReadOnlySpan<int> batch, int[][] tokens, int sequenceLength)
    {
        var cells = batch.Length * sequenceLength;
        var ids = _inputIds.AsSpan(0, cells);
        var mask = _attentionMask.AsSpan(0, cells);
        ids.Clear();
        mask.Clear();
        for (var row = 0; row < batch.Length; row++)
        {
            var text = tokens[batch[row]];
            var rowIds = ids.Slice(row * sequenceLength, text.Length);
            for (var i = 0; i < text.Length; i++)
            {
                rowIds[i] = text[i];
            }

            mask.Slice(row * sequenceLength, text.Length).Fill(1);
        }
    }

    public void Run(InferenceSession session, RunOptions runOptions, int rows, int sequenceLength)
    {
        var cells = rows * sequenceLength;
        long[] inputShape = [rows, sequenceLength];
        using var ids = Tensor(_inputIds, cells, inputShape);
        using var mask = Tensor(_attentionMask, cells, inputShape);
        using var types = Tensor(_tokenTypeIds, cells, inputShape);
        using var states = Tensor(_tokenStates, cells * hiddenSize, [rows, sequenceLength, hiddenSize]);
        session.Run(runOptions, InputNames, [ids, mask, types], OutputNames, [states]);
    }

    /// <summary>The last run's token vectors for one row, padding positions included.</summary>
    public ReadOnlySpan<float> TokenStates(int row, int sequenceLength) =>
        _tokenStates.AsSpan(row * sequenceLength * hiddenSize, sequenceLength * hiddenSize);

    private static OrtValue Tensor<T>(T[] buffer, int length, long[] shape)
        where T : unmanaged =>
        OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffer.AsMemory(0, length), shape);
}
