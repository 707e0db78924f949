using System.Collections.Concurrent;
using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Recommendations;

/// <summary>
/// The ceiling of the simulated population: a strategy that knows what the simulator knows about each learner (tastes,
/// items skipped as known, the topic they are in) and ranks items by how often they are among the learner's next
/// completions when the simulator walks copies of the learner on (<see cref="LearnerSimulator.NextShares"/>). No
/// strategy that sees only the logs can do better in expectation; the gap between it and a strategy is what is left to win.
/// Only for the simulated population (it needs the simulator's states), never a product strategy.
/// </summary>
public sealed class OracleRecommender(LearnerSimulator simulator, IReadOnlyList<CatalogItem> catalog, int horizon, int rollouts = Oracle.Rollouts) : IRecommender
{
    private readonly ConcurrentDictionary<(int, int), IReadOnlyList<ContentKey>> _ranked = new();

    public string Name => Oracle.Name;

    public Task<IReadOnlyList<ContentKey>> RecommendAsync(RecommendationRequest request, CancellationToken cancellationToken)
    {
        var ranked = _ranked.GetOrAdd((request.LearnerId, request.History.Count), key =>
        {
            var done = request.History.Select(c => c.Item).ToHashSet();
            var shares = simulator.NextShares(key.Item1, key.Item2, horizon, rollouts, seed: key.Item1 * 31 + key.Item2);
            // Items no walk reached follow in key order (their estimated chance is 0).
            return [.. catalog.Select(i => i.Key).Where(k => !done.Contains(k))
                .OrderByDescending(k => shares.GetValueOrDefault(k))
                .ThenBy(k => k.ContentType, StringComparer.Ordinal).ThenBy(k => k.ContentId, StringComparer.Ordinal)];
        });
        return Task.FromResult<IReadOnlyList<ContentKey>>([.. ranked.Take(request.Count)]);
    }
}

public static class Oracle
{
    public const string Name = "oracle (simulator's own next steps)";

    /// <summary>Walks per learner: enough that the order of the first 10 barely moves between seeds.</summary>
    public const int Rollouts = 1000;
}
