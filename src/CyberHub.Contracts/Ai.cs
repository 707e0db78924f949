using System.Text.Json.Nodes;

namespace CyberHub.Contracts;

public sealed record EmbeddingsRequest(IReadOnlyList<string>? Texts);

public sealed record EmbeddingItem(string Text, float[] Embedding);

public sealed record EmbeddingsResponse(IReadOnlyList<EmbeddingItem> Embeddings, string Model, int Dimension);

/// <summary>Embeds <c>texts</c> (the item's chunks) and stores them as one catalog item.</summary>
public sealed record StoreEmbeddingsRequest(
    IReadOnlyList<string>? Texts,
    string? ContentType,
    string? ContentId,
    string? Title,
    string? Description,
    JsonObject? Metadata);

public sealed record StoreEmbeddingsResponse(string Status, int StoredCount, IReadOnlyList<string> Ids);

public sealed record ContentItemDto(
    string ContentType,
    string ContentId,
    string Title,
    string Description,
    JsonObject Metadata,
    int ChunkCount,
    DateTime CreatedAt,
    DateTime UpdatedAt);

public sealed record ContentSearchRequest(string? Query, string? ContentType, int? Limit);

public sealed record ContentSearchHit(string ContentId, string ContentType, string Title, string Description, double Score);

public sealed record ContentSearchResponse(string Query, IReadOnlyList<ContentSearchHit> Results, int Total);
