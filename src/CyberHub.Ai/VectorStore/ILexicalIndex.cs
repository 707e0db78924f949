namespace CyberHub.Ai.VectorStore;

/// <summary>
/// An item found by its words: <paramref name="Score"/> is the index's own relevance (BM25 in SQLite FTS5, an
/// IDF-weighted <c>ts_rank</c> in PostgreSQL; higher is better, comparable only within one answer);
/// <paramref name="AllTerms"/> when the item has every word of the query.
/// </summary>
public sealed record LexicalHit(ContentRecord Content, double Score, bool AllTerms);

/// <summary>
/// The catalog's full-text index over title (weighted above) and description, kept by the store in the transaction
/// of every write and delete: SQLite FTS5 in the embedded store's file, a generated <c>tsvector</c> with a GIN index in
/// PostgreSQL. Created and filled on start when an existing install has none.
/// </summary>
public interface ILexicalIndex
{
    /// <summary>
    /// The <paramref name="limit"/> items with the most relevant matches of any word of <paramref name="query"/>
    /// (see <see cref="LexicalQuery"/>), best first, optionally of one type. Any text is a valid query: one without
    /// words finds nothing.
    /// </summary>
    Task<IReadOnlyList<LexicalHit>> LexicalSearchAsync(string query, int limit, string? contentType = null, CancellationToken cancellationToken = default);
}
