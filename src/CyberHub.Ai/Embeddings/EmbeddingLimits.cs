using Microsoft.Extensions.Configuration;

namespace CyberHub.Ai.Embeddings;

/// <summary>
/// The <c>Embeddings</c> section: how much model work one caller may ask for. The model is the AI service's one
/// expensive resource (a 256-token text costs about 60 ms of CPU), so its use is bounded in model tokens, counted
/// after tokenisation, not in requests. Learners get small per-request ceilings; content authors (content_creator,
/// admin) and service clients larger ones, for indexing.
/// </summary>
public sealed class EmbeddingLimits
{
    public const string Section = "Embeddings";

    public int LearnerMaxTexts { get; set; } = 16;
    public int LearnerMaxTokensPerRequest { get; set; } = 2_048;
    public int LearnerTokensPerMinute { get; set; } = 16_384;

    public int AuthorMaxTexts { get; set; } = 256;
    public int AuthorMaxTokensPerRequest { get; set; } = 65_536;
    public int AuthorTokensPerMinute { get; set; } = 262_144;

    /// <summary>Texts per model run: the unit the scheduler serves callers in, so a query waits for one such run at most.</summary>
    public int BatchSize { get; set; } = 8;

    /// <summary>Texts admitted and not yet embedded, all callers together; beyond it, 503 with Retry-After.</summary>
    public int MaxQueuedTexts { get; set; } = 1_024;

    /// <summary>Texts one caller may have admitted and not yet embedded; beyond it, 429 with Retry-After.</summary>
    public int MaxQueuedTextsPerCaller { get; set; } = 256;

    public static EmbeddingLimits From(IConfiguration configuration)
    {
        var limits = configuration.GetSection(Section).Get<EmbeddingLimits>() ?? new EmbeddingLimits();
        limits.Check();
        return limits;
    }

    public void Check()
    {
        static void AtLeastOne(int value, string name)
        {
            if (value < 1)
            {
                throw new InvalidOperationException($"{Section}:{name} must be at least 1 (got {value}).");
            }
        }
        AtLeastOne(LearnerMaxTexts, nameof(LearnerMaxTexts));
        AtLeastOne(LearnerMaxTokensPerRequest, nameof(LearnerMaxTokensPerRequest));
        AtLeastOne(AuthorMaxTexts, nameof(AuthorMaxTexts));
        AtLeastOne(AuthorMaxTokensPerRequest, nameof(AuthorMaxTokensPerRequest));
        AtLeastOne(MaxQueuedTexts, nameof(MaxQueuedTexts));
        AtLeastOne(MaxQueuedTextsPerCaller, nameof(MaxQueuedTextsPerCaller));
        if (BatchSize is < 1 or > MiniLmEmbeddingGenerator.MaxBatchSize)
        {
            throw new InvalidOperationException($"{Section}:BatchSize must be between 1 and {MiniLmEmbeddingGenerator.MaxBatchSize} (got {BatchSize}).");
        }
        // A request within its ceiling must be able to fit in a minute's budget, or it could never be served.
        if (LearnerTokensPerMinute < LearnerMaxTokensPerRequest || AuthorTokensPerMinute < AuthorMaxTokensPerRequest)
        {
            throw new InvalidOperationException(
                $"{Section}:LearnerTokensPerMinute and {Section}:AuthorTokensPerMinute must be at least the matching MaxTokensPerRequest.");
        }
    }
}
