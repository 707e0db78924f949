using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Idempotency;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// A catalog entry and the vectors of its text chunks. Items are keyed by (content_type, content_id).
/// <paramref name="CreatedBy"/> is the owner: the <c>sub</c> of the token that created the item, or null for an item
/// of the platform (the demo catalog, imports from the command line, items stored before owners were recorded).
/// A write never changes it: the store sets it from the <see cref="ContentWriter"/> that creates the item.
/// </summary>
public sealed record ContentRecord(
    string ContentType,
    string ContentId,
    string Title,
    string Description,
    string Metadata,
    int ChunkCount,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    string? CreatedBy = null);

/// <summary>
/// Who writes an item: <paramref name="Subject"/> becomes the owner of an item it creates; an existing item is
/// replaced only when <paramref name="MayReplaceAny"/> or the item's owner is <paramref name="Subject"/>. Items of the
/// platform (no owner) are thus replaced only by writers that may replace any.
/// </summary>
public sealed record ContentWriter(string? Subject, bool MayReplaceAny)
{
    /// <summary>The platform itself (catalog imports): creates items without owner, replaces any.</summary>
    public static readonly ContentWriter Platform = new(null, true);

    /// <summary>True when this writer may replace an item owned by <paramref name="owner"/> (null: the platform).</summary>
    public bool MayReplace(string? owner) => MayReplaceAny || (Subject is not null && owner == Subject);
}

/// <summary>The item exists and belongs to someone the writer may not overwrite; nothing was written.</summary>
/// <summary>
/// Reads the stored metadata (JSON text) of the given items inside a catalog write's transaction, after the write lock:
/// what every write committed before this one, and nothing of the writes waiting behind it. Unknown keys are left out.
/// </summary>
public delegate Task<IReadOnlyDictionary<ContentKey, string>> InTransactionReader(IReadOnlyCollection<ContentKey> keys, CancellationToken cancellationToken);

/// <summary>
/// A check a catalog write runs inside its own transaction, once it holds the catalog's write lock and before it writes
/// anything (e.g. that the item's prerequisites form no cycle): throwing refuses the write, which then changes nothing.
/// Two writes that each pass the check alone cannot both commit something the check would refuse together.
/// </summary>
public delegate Task WriteCheck(InTransactionReader read, CancellationToken cancellationToken);

public sealed class ContentOwnedByAnotherException(ContentKey key)
    : InvalidOperationException($"{key.ContentType}:{key.ContentId} belongs to another owner.")
{
    public ContentKey Key { get; } = key;
}

public sealed record SearchHit(ContentRecord Content, double Score);

public readonly record struct ContentKey(string ContentType, string ContentId);

/// <summary>An item with its vector (the normalised mean of its chunks).</summary>
public sealed record ContentVector(ContentRecord Content, float[] Vector)
{
    public ContentKey Key => new(Content.ContentType, Content.ContentId);
}

/// <summary>
/// Where content and its embeddings live. Two backends pass the same tests: PostgreSQL + pgvector
/// (HNSW index) and the embedded store (SQLite file, in-memory vectors: an HNSW index of int8 vectors rescored exactly,
/// or an exact scan of a small catalog).
/// Search ranks items by the cosine similarity of the query to the item's vector: the normalised
/// mean of its chunk vectors.
/// </summary>
public interface IVectorStore : ILexicalIndex
{
    /// <summary>Creates tables and indexes, and loads what must be in memory. Called once at start.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Inserts or replaces the item and all its chunk vectors atomically, as the platform (<see cref="ContentWriter.Platform"/>);
    /// returns the chunk ids, which are stable: <c>{content_type}:{content_id}:{index}</c>.
    /// </summary>
    Task<IReadOnlyList<string>> UpsertAsync(ContentRecord content, IReadOnlyList<float[]> chunkVectors, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="UpsertAsync(ContentRecord, IReadOnlyList{float[]}, CancellationToken)"/>, by <paramref name="writer"/>:
    /// a new item is owned by the writer's subject; an existing item keeps its owner and is replaced only when the writer
    /// may replace it, checked in the write's own transaction (<see cref="ContentOwnedByAnotherException"/> otherwise,
    /// and nothing is written). With <paramref name="claim"/>, <paramref name="answer"/> is stored for it in the same transaction.
    /// With <paramref name="check"/>, the check runs in the transaction under the catalog's write lock before anything is
    /// written; what it throws refuses the write.
    /// </summary>
    Task<IReadOnlyList<string>> UpsertAsync(
        ContentRecord content, IReadOnlyList<float[]> chunkVectors, ContentWriter writer, IdempotencyClaim? claim = null, IdempotentAnswer? answer = null,
        CancellationToken cancellationToken = default, WriteCheck? check = null);

    /// <summary>
    /// Claims the idempotency key of a catalog write, kept beside the catalog (see <see cref="IdempotencyClaim"/>): the
    /// claim, or the answer the key already has; 422 when the key was used with another body, 409 while it is in flight.
    /// </summary>
    Task<IdempotencyClaim> ClaimKeyAsync(IdempotentRequest request, DateTime now, CancellationToken cancellationToken = default);

    /// <summary>Gives back the claim of a request that failed, so that a retry carries it out.</summary>
    Task ReleaseKeyAsync(IdempotencyClaim claim, CancellationToken cancellationToken = default);

    /// <summary>Deletes the idempotency keys expired by <paramref name="now"/>; done by the store itself at most hourly.</summary>
    Task<int> PurgeExpiredKeysAsync(DateTime now, CancellationToken cancellationToken = default);

    Task<ContentRecord?> GetAsync(ContentKey key, CancellationToken cancellationToken = default);

    /// <summary>The item vector (normalised mean of its chunks), or null when the item is unknown.</summary>
    Task<float[]?> GetVectorAsync(ContentKey key, CancellationToken cancellationToken = default);

    /// <summary>The known items among <paramref name="keys"/>, with their vectors, in one round trip; unknown keys are left out.</summary>
    Task<IReadOnlyList<ContentVector>> GetManyAsync(IReadOnlyCollection<ContentKey> keys, CancellationToken cancellationToken = default);

    /// <summary>Items ordered by (content_type, content_id), optionally of one type.</summary>
    Task<(int Count, IReadOnlyList<ContentRecord> Items)> ListAsync(string? contentType, int skip, int take, CancellationToken cancellationToken = default);

    /// <summary>Items matching <paramref name="query"/>'s filters in its order (<see cref="ContentListQuery"/>), with how many match.</summary>
    Task<(int Count, IReadOnlyList<ContentRecord> Items)> QueryAsync(ContentListQuery query, int skip, int take, CancellationToken cancellationToken = default);

    /// <summary>The levels and topics the items (of one type, when given) carry, each with its count.</summary>
    Task<ContentFacets> FacetsAsync(string? contentType, CancellationToken cancellationToken = default);

    Task<bool> DeleteAsync(ContentKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// The <paramref name="limit"/> items most similar to <paramref name="query"/> (a unit vector), best first,
    /// optionally of one type and never any in <paramref name="exclude"/>. Returns <paramref name="limit"/>
    /// items whenever that many match the filter.
    /// </summary>
    Task<IReadOnlyList<SearchHit>> SearchAsync(
        float[] query, int limit, string? contentType = null, IReadOnlySet<ContentKey>? exclude = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="SearchAsync"/>, with each item's vector: the same items in the same order, read once (rather than a
    /// search followed by <see cref="GetManyAsync"/>).
    /// </summary>
    Task<IReadOnlyList<ContentVector>> SearchVectorsAsync(
        float[] query, int limit, string? contentType = null, IReadOnlySet<ContentKey>? exclude = null, CancellationToken cancellationToken = default);

    Task<int> CountAsync(CancellationToken cancellationToken = default);

    /// <summary>"pgvector" or "embedded", for health and logs.</summary>
    string Backend { get; }
}
