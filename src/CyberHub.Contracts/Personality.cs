namespace CyberHub.Contracts;

/// <summary>
/// Without <c>progress_data</c> the AI service reads the learner's progress from Core; with it, it analyses
/// exactly those records (the shape Core's progress endpoint returns, so they can be passed on verbatim).
/// </summary>
public sealed record PersonalityRequest(long? UserId, IReadOnlyList<ProgressDataRecord>? ProgressData);

/// <summary>One progress record given for analysis: Core's progress record, every field optional on the wire.</summary>
public sealed record ProgressDataRecord(
    long? Id,
    long? UserId,
    string? ContentId,
    string? ContentType,
    ProgressStatus? Status,
    double? CompletionPercentage,
    double? Score,
    long? TimeSpentSeconds,
    System.Text.Json.Nodes.JsonObject? Metadata,
    DateTime? StartedAt,
    DateTime? CompletedAt,
    DateTime? CreatedAt,
    DateTime? UpdatedAt,
    int? Version);

/// <summary>
/// <c>known</c> is false when too little activity stands behind the trait to read it (no scored item, one day of
/// activity, no usable study time): the score then stays at the neutral 0.5 and is not a reading of the learner.
/// </summary>
public sealed record PersonalityTrait(string Name, double Score, string Description, bool Known = true);

/// <summary>
/// <c>confidence</c> is <c>low</c>, <c>medium</c> or <c>high</c> by how much progress the analysis rests on;
/// <c>note</c> says why when it is low.
/// </summary>
public sealed record PersonalityAnalysis(
    long UserId,
    IReadOnlyList<PersonalityTrait> Traits,
    string Summary,
    IReadOnlyList<string> Recommendations,
    string Confidence,
    string? Note,
    int RecordsAnalyzed,
    DateTime AnalyzedAt);
