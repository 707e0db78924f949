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
/// scaled to 0–1 over the candidates, before weighting, and the weights the ranking gave the components; <see cref="Ready"/>:
/// every prerequisite is done, else <see cref="MissingPrerequisites"/> names those that are not (such a pick is held back
/// behind ready ones); <see cref="Fusion"/>: how the scores of a learner with a history were made (absent for the popular
/// and starter picks of a learner without one).
/// </summary>
public sealed record RecommendationExplanation(
    string Source,
    RecommendationItem? Driver,
    RecommendationComponents Components,
    bool Ready,
    IReadOnlyList<RecommendationItem> MissingPrerequisites,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] RecommendationFusion? Fusion = null);

/// <summary>
/// The scores of a pick's components (each 0–1, scaled by the best candidate: for comparing picks) and the weights the
/// ranking actually gave the components for this learner, summing to 1: for a learner with a history, co-completion's is
/// <see cref="RecommendationFusion.Evidence"/> and content and path share the rest as <see cref="RecommendationFusion.Prior"/>
/// splits it; for a popular pick, popular 1; for the starter list, all 0. (Earlier versions showed the blend's nominal
/// weights here, content 0.5, co-completion 2, path 0.5, whatever the ranking used.) The shrunk fusion weighs the
/// components' estimates (other learners' share after the learner's items; the content and path prior's share of the
/// next steps), not the scaled scores shown here, so weights times components is not the score.
/// </summary>
public sealed record RecommendationComponents(
    double Content,
    double CoCompletion,
    double Path,
    double Popular,
    RecommendationWeights Weights);

public sealed record RecommendationWeights(double Content, double CoCompletion, double Path, double Popular);

/// <summary>
/// How the scores of a learner's list were made. <see cref="Method"/>: <c>shrunk</c> (what is served: for each of the
/// learner's items A, other learners' share after A shrunk toward a content and path prior by m pseudo-learners,
/// (n_A · share + m · prior) / (n_A + m), averaged with the history's recency weights w_A); <see cref="Evidence"/>: the weight
/// other learners' shares got, Σ w_A · n_A / (n_A + m), the prior getting the rest; <see cref="Learners"/>: n, the weighted
/// mean number of learners who completed the learner's items; <see cref="PseudoLearners"/>: m; <see cref="Prior"/>: how the
/// prior splits between content and the learning path.
/// </summary>
public sealed record RecommendationFusion(
    string Method,
    double Evidence,
    double Learners,
    double PseudoLearners,
    RecommendationPrior Prior);

/// <summary>How the prior of the shrunk fusion splits between content (the diffusion's mass) and the learning path (each 0–1, summing to 1).</summary>
public sealed record RecommendationPrior(double Content, double Path);

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
