using System.Text.Json.Serialization;

namespace CyberHub.Contracts;

/// <summary>
/// <c>limit</c> is 1–50 (default 10); <c>content_type</c> narrows the picks to one kind of content; <c>explain</c> adds
/// each pick's <see cref="RecommendationExplanation"/> (for the learner themself and admins).
/// </summary>
public sealed record RecommendationRequest(long? UserId, string? ContentType, int? Limit, bool? Explain = null);

/// <summary><see cref="Explanation"/> is present only when the request asked for it (<c>explain=true</c>).</summary>
public sealed record RecommendationDto(
    string ContentId,
    string ContentType,
    string Title,
    string Description,
    double Score,
    string Reason,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] RecommendationExplanation? Explanation = null);

public sealed record RecommendationsResponse(long UserId, IReadOnlyList<RecommendationDto> Recommendations, int Total);

/// <summary>
/// Why a pick is where it is. <see cref="Source"/>: the strongest part of its score, one of <c>next_step</c>,
/// <c>co_completion</c>, <c>content</c>, <c>popular</c> or <c>starter</c> (the cold-start list); <see cref="Driver"/>: the
/// learner's item behind it (none for <c>popular</c> and <c>starter</c>); <see cref="Components"/>: each component's score
/// scaled to 0–1 over the candidates, before weighting; <see cref="Ready"/>: every prerequisite is done, else
/// <see cref="MissingPrerequisites"/> names those that are not (such a pick is held back behind ready ones).
/// </summary>
public sealed record RecommendationExplanation(
    string Source,
    RecommendationItem? Driver,
    RecommendationComponents Components,
    bool Ready,
    IReadOnlyList<RecommendationItem> MissingPrerequisites);

/// <summary>The scores of a pick's components (each 0–1) and the weights the blend gave them.</summary>
public sealed record RecommendationComponents(
    double Content,
    double CoCompletion,
    double Path,
    double Popular,
    RecommendationWeights Weights);

public sealed record RecommendationWeights(double Content, double CoCompletion, double Path, double Popular);

/// <summary>A catalog item an explanation refers to, by its key and title.</summary>
public sealed record RecommendationItem(string ContentType, string ContentId, string Title);

public static class RecommendationSources
{
    public const string NextStep = "next_step";
    public const string CoCompletion = "co_completion";
    public const string Content = "content";
    public const string Popular = "popular";
    public const string Starter = "starter";
}
