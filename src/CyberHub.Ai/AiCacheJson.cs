using System.Text.Json.Serialization;
using CyberHub.Ai.CoreClient;
using CyberHub.Ai.Recommendations;

namespace CyberHub.Ai;

/// <summary>
/// The AI's most cached values as source-generated JSON (<see cref="ServiceDefaults.Caching.CachingExtensions.AddCachedJson"/>):
/// every recommendation miss stores a learner's list and their progress. The settings are the cache's default ones, so the
/// JSON is the same as reflection writes.
/// </summary>
[JsonSerializable(typeof(RecommendationPicks))]
[JsonSerializable(typeof(ProgressRecords))]
public sealed partial class AiCacheJson : JsonSerializerContext;
