using BenchmarkDotNet.Running;
using CyberHub.Bench.Micro;

// BenchmarkDotNet micro benchmarks of the AI service's hot paths (issue 6), or `memory`: the managed memory that
// the embedded store keeps for 100k items, which no BenchmarkDotNet diagnoser shows.
if (args is ["memory", ..])
{
    await StoreMemory.RunAsync(args.Length > 1 && int.TryParse(args[1], out var items) ? items : 100_000);
    return;
}

// Without arguments every benchmark runs (BenchmarkSwitcher would otherwise ask which).
BenchmarkSwitcher.FromAssembly(typeof(MicroConfig).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args, new MicroConfig());
