using System.Globalization;
using Microsoft.Data.Sqlite;

namespace CyberHub.Ai.VectorStore;

/// <summary>
/// The embedded store's lexical index: an FTS5 table (<c>content_search</c>, Porter stemming over Unicode words,
/// diacritics folded) holding each item's title and description under the item's rowid, kept in step by triggers on
/// <c>content_items</c>, so every write and delete changes it in its own transaction. On start the index is created
/// when missing and rebuilt when its rows do not match the items one for one (a file from before the index, or one
/// whose rowids were renumbered by a VACUUM).
/// </summary>
internal static class SqliteLexicalIndex
{
    /// <summary>bm25 column weights: the two key columns are not indexed; a title word counts 2.5 times a description word.</summary>
    private const string Bm25 = "bm25(content_search, 0.0, 0.0, 2.5, 1.0)";

    private const string Schema = """
        CREATE VIRTUAL TABLE IF NOT EXISTS content_search USING fts5(
            content_type UNINDEXED, content_id UNINDEXED, title, description,
            tokenize = 'porter unicode61 remove_diacritics 2');
        CREATE TRIGGER IF NOT EXISTS content_search_insert AFTER INSERT ON content_items BEGIN
            INSERT INTO content_search (rowid, content_type, content_id, title, description)
            VALUES (new.rowid, new.content_type, new.content_id, new.title, new.description);
        END;
        CREATE TRIGGER IF NOT EXISTS content_search_update AFTER UPDATE ON content_items BEGIN
            DELETE FROM content_search WHERE rowid = old.rowid;
            INSERT INTO content_search (rowid, content_type, content_id, title, description)
            VALUES (new.rowid, new.content_type, new.content_id, new.title, new.description);
        END;
        CREATE TRIGGER IF NOT EXISTS content_search_delete AFTER DELETE ON content_items BEGIN
            DELETE FROM content_search WHERE rowid = old.rowid;
        END;
        """;

    private const string InStep = """
        SELECT (SELECT count(*) FROM content_items) = (SELECT count(*) FROM content_search)
            AND NOT EXISTS (SELECT 1 FROM content_items AS i LEFT JOIN content_search AS s ON s.rowid = i.rowid
                            WHERE s.rowid IS NULL OR s.content_type IS NOT i.content_type OR s.content_id IS NOT i.content_id)
        """;

    private const string Rebuild = """
        DELETE FROM content_search;
        INSERT INTO content_search (rowid, content_type, content_id, title, description)
            SELECT rowid, content_type, content_id, title, description FROM content_items;
        """;

    /// <summary>Creates the index and its triggers when missing and fills it when it is not in step; true when it was (re)built.</summary>
    public static async Task<bool> EnsureAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        await using (var schema = Command(connection, transaction, Schema))
        {
            await schema.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var check = Command(connection, transaction, InStep))
        {
            if (Convert.ToInt64(await check.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 1)
            {
                return false;
            }
        }
        await using var rebuild = Command(connection, transaction, Rebuild);
        await rebuild.ExecuteNonQueryAsync(cancellationToken);
        return true;
    }

    /// <summary>The keys of the best matches with their BM25 (higher is better) and whether they have every word.</summary>
    public static async Task<IReadOnlyList<(ContentKey Key, double Score, bool AllTerms)>> SearchAsync(
        SqliteConnection connection, LexicalQuery query, int limit, string? contentType, CancellationToken cancellationToken)
    {
        if (query.IsEmpty || limit <= 0)
        {
            return [];
        }
        await using var search = Command(connection, null, $"""
            SELECT content_type, content_id, -{Bm25},
                   rowid IN (SELECT rowid FROM content_search WHERE content_search MATCH $all)
            FROM content_search
            WHERE content_search MATCH $any AND ($type IS NULL OR content_type = $type)
            ORDER BY {Bm25}, content_type, content_id
            LIMIT $limit
            """);
        search.Parameters.AddWithValue("$any", query.ToFts5());
        search.Parameters.AddWithValue("$all", query.ToFts5(all: true));
        search.Parameters.AddWithValue("$type", (object?)contentType ?? DBNull.Value);
        search.Parameters.AddWithValue("$limit", limit);
        var hits = new List<(ContentKey, double, bool)>();
        await using var reader = await search.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            hits.Add((new ContentKey(reader.GetString(0), reader.GetString(1)), reader.GetDouble(2), reader.GetInt64(3) != 0));
        }
        return hits;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }
}
