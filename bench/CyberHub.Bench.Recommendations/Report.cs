using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CyberHub.Bench.Recommendations;

/// <summary>The run's tables as markdown (printed and written) and JSON.</summary>
public static class Report
{
    public static string Markdown(ResultTable table)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"#### {table.Dataset}: {table.Protocol} ({table.Split} split, {table.Learners} learners; relevant: {table.Relevant})");
        text.AppendLine();
        text.AppendLine("| Strategy | P@10 | R@10 | NDCG@10 | MRR@10 | Coverage | Popular-head share | Diversity (ILD) | NDCG vs mean-emb.: ratio, paired Δ | P@10 vs mean-emb.: ratio, paired Δ |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var baseline = table.Rows.FirstOrDefault(r => r.Strategy == Strategies.MeanEmbedding);
        foreach (var row in table.Rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {row.Strategy} | {row.Precision} | {row.Recall} | {row.Ndcg} | {row.Mrr} | {row.Coverage:F3} | {row.HeadShare} | {row.Diversity} | {Ratio(row.Ndcg, baseline?.Ndcg)}{Delta(row.NdcgDelta, row.Strategy)} | {Ratio(row.Precision, baseline?.Precision)}{Delta(row.PrecisionDelta, row.Strategy)} |");
        }
        if (table.BlendVersus.Count > 0)
        {
            var components = table.Rows.Where(r => Strategies.Components.Contains(r.Strategy)).ToList();
            var best = components.Count == 0 ? null : components.MaxBy(r => r.Ndcg.Mean)!.Strategy;
            text.AppendLine()
                .AppendLine("| Served ranking minus … (paired, same learners) | Δ NDCG@10 | Δ P@10 | served better (NDCG interval above 0) |")
                .AppendLine("|---|---:|---:|---|");
            foreach (var v in table.BlendVersus)
            {
                var label = v.Other == best ? $"{v.Other} (best component)" : v.Other;
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {label} | {Signed(v.Ndcg.Mean)} ± {v.Ndcg.HalfWidth:F3} | {Signed(v.Precision.Mean)} ± {v.Precision.HalfWidth:F3} | {(v.Ndcg.Mean - v.Ndcg.HalfWidth > 0 ? "yes" : "no")} |");
            }
        }
        return text.ToString();
    }

    public static string Markdown(MultiInterestTable table)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"#### {table.Dataset}: multi-interest slice, learners of two topics ({table.Split} split, {table.Learners} learners: exactly two topics with 2+ visible completions each)")
            .AppendLine()
            .AppendLine("| Strategy | picks in the latest topic (of 10) | picks in the other topic | learners offered 2+ of the other | NDCG@10 |")
            .AppendLine("|---|---:|---:|---:|---:|");
        foreach (var r in table.Rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Strategy} | {r.InLatest} | {r.InOther} | {r.TwoOrMoreOther} | {r.Ndcg} |");
        }
        return text.ToString();
    }

    public static string Markdown(IReadOnlyList<SearchResult> results, int queries, int nonsense)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"#### search: {queries} learner-phrased queries over the demo catalog, graded relevance")
            .AppendLine()
            .AppendLine("| Strategy | NDCG@10 | MRR@10 | Top score: median | Top score: lowest |")
            .AppendLine("|---|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Strategy} | {r.Ndcg} | {r.Mrr} | {r.MedianTopScore:F3} {r.ScoreKind} | {r.LowestTopScore:F3} |");
        }
        text.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"#### search: the {nonsense} queries that must match nothing (top hit and its score)")
            .AppendLine()
            .Append("| Query |");
        foreach (var r in results)
        {
            text.Append(CultureInfo.InvariantCulture, $" {r.Strategy} |");
        }
        text.AppendLine().Append("|---|").AppendLine(string.Concat(results.Select(_ => "---|")));
        for (var i = 0; i < nonsense; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {results[0].Nonsense[i].Query} |");
            foreach (var r in results)
            {
                var (_, score, item) = r.Nonsense[i];
                text.Append(score is { } s ? FormattableString.Invariant($" {s:F3} ({item}) |") : " nothing |");
            }
            text.AppendLine();
        }
        return text.ToString();
    }

    public static string Json(object run) => JsonSerializer.Serialize(run, new JsonSerializerOptions
    {
        WriteIndented = true,
        IncludeFields = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    });

    private static string Delta(Estimate? delta, string strategy) =>
        delta is { } d && strategy != Strategies.MeanEmbedding ? FormattableString.Invariant($", {Signed(d.Mean)} ± {d.HalfWidth:F3}") : "";

    private static string Signed(double value)
    {
        var rounded = Math.Round(value, 3);
        return (rounded > 0 ? "+" : rounded < 0 ? "−" : "") + Math.Abs(rounded).ToString("F3", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Ratio(Estimate value, Estimate? baseline) =>
        baseline is { Mean: > 0 } b ? FormattableString.Invariant($"{value.Mean / b.Mean:F2}×") : "–";
}
