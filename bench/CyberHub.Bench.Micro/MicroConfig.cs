using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace CyberHub.Bench.Micro;

/// <summary>
/// One short job for every benchmark: in process (no generated project to build, and the large scan data sets and the
/// loaded model are built once and shared by the benchmarks that use them), 2 warm-up and 5 measured iterations of
/// at least 250 ms each, so that the whole suite runs in a few minutes on 2 cores.
/// </summary>
internal sealed class MicroConfig : ManualConfig
{
    public MicroConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(2)
            .WithIterationCount(5)
            .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(250))
            .WithId("Short"));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumnProvider(DefaultColumnProviders.Instance);
        AddColumn(StatisticColumn.OperationsPerSecond);
        AddLogger(ConsoleLogger.Default);
        AddExporter(MarkdownExporter.GitHub);
        // Under artifacts/ (ignored by git), relative to the directory the command runs in.
        WithArtifactsPath(Path.Combine("artifacts", "bench-micro"));
        WithSummaryStyle(BenchmarkDotNet.Reports.SummaryStyle.Default.WithRatioStyle(RatioStyle.Value));
    }
}
