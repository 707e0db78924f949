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

/// <summary>
/// A search result. <paramref name="Score"/>: the fused relevance in 0..1 that orders the results (1: first both by
/// meaning and by words); <paramref name="Similarity"/>: the cosine of query and item; <paramref name="LexicalMatch"/>:
/// the item's title or description has a word of the query.
/// </summary>
public sealed record ContentSearchHit(
    string ContentId, string ContentType, string Title, string Description, double Score, double? Similarity = null, bool LexicalMatch = false);

/// <summary><paramref name="Matched"/> is false, and the results empty, when nothing in the catalog is relevant to the query.</summary>
public sealed record ContentSearchResponse(string Query, IReadOnlyList<ContentSearchHit> Results, int Total, bool Matched = true);

/// <summary>One value of a catalog facet (a level, a topic) and how many items carry it.</summary>
public sealed record FacetCount(string Value, int Count);

/// <summary>
/// <c>GET /content/facets</c>: the levels (beginner first) and topics (by name) the catalog's items carry, each with its
/// count, and how many items there are (of one type, when asked).
/// </summary>
public sealed record ContentFacets(IReadOnlyList<FacetCount> Levels, IReadOnlyList<FacetCount> Topics, int Total);
