using System.Diagnostics;

namespace CyberHub.Bench.Embeddings;

/// <summary>One way of embedding the corpus: an encoder called with a fixed number of sentences at a time.</summary>
internal sealed record Contender(string Encoder, int CallSize, Func<string[], Task> Embed)
{
    /// <summary>Untimed work on the exact calls the contender will receive, before any round.</summary>
    public Action<string[][]>? Prepare { get; init; }
}

/// <summary>Sentences per second in each timed round, in round order.</summary>
internal sealed record Throughput(Contender Contender, double[] Rates)
{
    public double Median => MedianOf(Rates);

    public double Best => Rates.Max();

    public double Worst => Rates.Min();

    /// <summary>
    /// The median over rounds of this contender's rate divided by the other's in the same round, which cancels
    /// background load that lasts longer than a round.
    /// </summary>
    public double PairedRatio(Throughput other) => MedianOf(Rates.Zip(other.Rates, (mine, theirs) => mine / theirs));

    private static double MedianOf(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1
            ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>
    /// Embeds the whole corpus once per round with every contender in turn. Interleaving the contenders round by
    /// round spreads any background load on the machine evenly over them instead of penalising whichever ran then.
    /// </summary>
    public static async Task<IReadOnlyList<Throughput>> MeasureAsync(
        IReadOnlyList<Contender> contenders, IReadOnlyList<string> corpus, int warmUpRounds, int rounds)
    {
        var calls = contenders.Select(c => corpus.Chunk(c.CallSize).ToArray()).ToArray();
        for (var c = 0; c < contenders.Count; c++)
        {
            contenders[c].Prepare?.Invoke(calls[c]);
        }

        var rates = contenders.Select(_ => new double[rounds]).ToArray();
        for (var round = -warmUpRounds; round < rounds; round++)
        {
            for (var c = 0; c < contenders.Count; c++)
            {
                var elapsed = await RoundAsync(calls[c], contenders[c].Embed);
                if (round >= 0)
                {
                    rates[c][round] = corpus.Count / elapsed.TotalSeconds;
                }
            }
        }

        return contenders.Select((contender, c) => new Throughput(contender, rates[c])).ToArray();
    }

    private static async Task<TimeSpan> RoundAsync(string[][] calls, Func<string[], Task> embed)
    {
        var clock = Stopwatch.StartNew();
        foreach (var call in calls)
        {
            await embed(call);
        }

        return clock.Elapsed;
    }
}
