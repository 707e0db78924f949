namespace CyberHub.Contracts;

/// <summary><c>limit</c> is 1–50 (default 10); <c>content_type</c> narrows the picks to one kind of content.</summary>
public sealed record RecommendationRequest(long? UserId, string? ContentType, int? Limit);

public sealed record RecommendationDto(
    string ContentId,
    string ContentType,
    string Title,
    string Description,
    double Score,
    string Reason);

public sealed record RecommendationsResponse(long UserId, IReadOnlyList<RecommendationDto> Recommendations, int Total);
