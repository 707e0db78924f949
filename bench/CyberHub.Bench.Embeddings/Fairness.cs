using System.Diagnostics;
using System.Security.Claims;
using CyberHub.Ai.Embeddings;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace CyberHub.Bench.Embeddings;

/// <summary>
/// Search-query latency while two authors each embed 64 texts of 8,000 characters: the model shared first the way it
/// was (one queue, 32 texts per run, whoever asked first), then through the admission and round-robin scheduler.
/// </summary>
internal static class Fairness
{
    private const int BigTexts = 64;

    public static async Task RunAsync()
    {
        string[] big = [.. Enumerable.Range(0, BigTexts).Select(LongText)];
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores; two requests of {BigTexts} texts x 8,000 characters, one learner searching in a loop");

        using (var quiet = new MiniLmEmbeddingGenerator())
        {
            var alone = await QueriesAsync(quiet, null, 0, () => false, 40);
            Report("no load", alone, TimeSpan.Zero);
        }

        using (var before = new MiniLmEmbeddingGenerator())
        {
            var (latencies, bigTime) = await UnderLoadAsync(before, null, big);
            Report("before: one queue, 32 per run", latencies, bigTime);
        }

        var accessor = new HttpContextAccessor();
        var limits = new EmbeddingLimits { AuthorTokensPerMinute = 10_000_000, LearnerTokensPerMinute = 10_000_000 };
        var admission = new EmbeddingAdmission(limits, new MemoryRateLimitStore(TimeProvider.System), accessor, new FairModelScheduler());
        using (var after = new MiniLmEmbeddingGenerator(admission))
        {
            var (latencies, bigTime) = await UnderLoadAsync(after, accessor, big);
            Report("after: round robin, 8 per run", latencies, bigTime);
        }
    }

    private static async Task<(List<double> Latencies, TimeSpan BigTime)> UnderLoadAsync(
        MiniLmEmbeddingGenerator generator, HttpContextAccessor? accessor, string[] big)
    {
        var started = Stopwatch.StartNew();
        var loads = Enumerable.Range(0, 2).Select(author => Task.Run(async () =>
        {
            Act(accessor, $"author{author}", "content_creator");
            await generator.EmbedAsync(big);
        })).ToArray();
        var all = Task.WhenAll(loads);
        var latencies = await QueriesAsync(generator, accessor, 1, () => !all.IsCompleted, int.MaxValue);
        await all;
        return (latencies, started.Elapsed);
    }

    private static async Task<List<double>> QueriesAsync(MiniLmEmbeddingGenerator generator, HttpContextAccessor? accessor, int seed, Func<bool> more, int most)
    {
        return await Task.Run(async () =>
        {
            Act(accessor, "learner", "learner");
            var latencies = new List<double>();
            for (var i = 0; i < most && (most != int.MaxValue || more()); i++)
            {
                var query = $"how do attackers use phishing emails number {seed} {i}";
                var timer = Stopwatch.StartNew();
                await generator.EmbedAsync([query]);
                latencies.Add(timer.Elapsed.TotalMilliseconds);
            }
            return latencies;
        });
    }

    private static void Act(HttpContextAccessor? accessor, string subject, string role)
    {
        if (accessor is null)
        {
            return;
        }
        var identity = new ClaimsIdentity([new Claim(CyberHubClaims.Subject, subject), new Claim(ClaimTypes.Role, role)], "bench", CyberHubClaims.Subject, ClaimTypes.Role);
        accessor.HttpContext = new DefaultHttpContext { User = new ClaimsPrincipal(identity) };
    }

    private static void Report(string name, List<double> latencies, TimeSpan bigTime)
    {
        latencies.Sort();
        double At(double p) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(p * latencies.Count) - 1)];
        Console.WriteLine($"{name,-32} queries {latencies.Count,4}  p50 {At(0.50),8:0.0} ms  p99 {At(0.99),8:0.0} ms  max {latencies[^1],8:0.0} ms  both big requests done in {bigTime.TotalSeconds:0.0} s");
    }

    private static string LongText(int seed) =>
        string.Join(' ', Enumerable.Range(0, 2_000).Select(i => $"w{(seed * 7919 + i) % 5000}"))[..8_000];
}
