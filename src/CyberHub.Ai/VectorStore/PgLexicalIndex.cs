namespace CyberHub.Ai.VectorStore;

/// <summary>
/// The pgvector store's lexical index: <c>search_document</c>, a stored generated <c>tsvector</c> of the title
/// (weight A) and the description (weight B) under the <c>english</c> configuration, with a GIN index. PostgreSQL
/// computes it in the statement that writes the row, so it is always in step; adding the column to an existing table
/// fills it for every row.
/// </summary>
internal static class PgLexicalIndex
{
    public static readonly string Schema =
        PgSchema.AddColumnIfMissing("content_items", "search_document", """
            tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english'::regconfig, title), 'A') || setweight(to_tsvector('english'::regconfig, description), 'B')) STORED
            """) +
        PgSchema.CreateIndexIfMissing("content_items", "content_items_search_idx", "USING gin (search_document)");

    /// <summary>
    /// Counting stops here: a word in more items than this is common, and its idf is near 0 either way. With the item
    /// count taken from the planner's estimate beyond it, a search does not count a large catalog row by row.
    /// </summary>
    public const int MaxDocumentFrequency = 10_000;

    /// <summary>
    /// Each word becomes its own <c>plainto_tsquery</c> (which accepts any text: English stop words become empty
    /// queries and are dropped), weighted by its BM25 inverse document frequency over the catalog; an item scores
    /// the sum over the words it has of idf × <c>ts_rank</c> (title words weigh 1.0, description words 0.4; rank divided
    /// by 1 + log of the document length). Document frequencies are counted up to <see cref="MaxDocumentFrequency"/>, and
    /// the catalog size is the exact count up to that, the planner's estimate beyond. $1 words, $2 type or null, $3 limit.
    /// The records go through the grouping with the matches: a query's words are rare enough that most matches are kept
    /// (scoring by key, then reading the kept rows again, cost more: docs/benchmarks.md, "a search reads the records").
    /// </summary>
    public static string Search(string recordColumns) => $"""
        WITH words AS (
            SELECT p.q FROM unnest($1::text[]) AS t(word), LATERAL plainto_tsquery('english'::regconfig, t.word) AS p(q) WHERE numnode(p.q) > 0),
        weighted AS (
            SELECT w.q, d.df FROM words AS w,
                LATERAL (SELECT count(*) AS df FROM (SELECT 1 FROM content_items WHERE search_document @@ w.q LIMIT {MaxDocumentFrequency}) AS m) AS d
            WHERE d.df > 0),
        items AS (SELECT CASE WHEN count(*) < {MaxDocumentFrequency} THEN count(*)::float8
                              ELSE greatest(count(*), (SELECT reltuples FROM pg_class WHERE oid = 'content_items'::regclass))::float8 END AS n
                  FROM (SELECT 1 FROM content_items LIMIT {MaxDocumentFrequency}) AS c),
        terms AS (SELECT w.q, ln(1.0 + (c.n - w.df + 0.5) / (w.df + 0.5))::float8 AS idf FROM weighted AS w, items AS c)
        SELECT {recordColumns}, sum(t.idf * ts_rank(i.search_document, t.q, 1)::float8) AS score,
               count(*) = (SELECT count(*) FROM words) AS all_terms
        FROM content_items AS i JOIN terms AS t ON i.search_document @@ t.q
        WHERE ($2::text IS NULL OR i.content_type = $2)
        GROUP BY i.content_type, i.content_id
        ORDER BY score DESC, i.content_type, i.content_id
        LIMIT $3
        """;
}
