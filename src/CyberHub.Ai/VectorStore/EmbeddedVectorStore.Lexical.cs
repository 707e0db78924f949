using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CyberHub.Ai.VectorStore;

/// <summary>The embedded store's lexical search: the FTS5 index of <see cref="SqliteLexicalIndex"/> in the store's file.</summary>
public sealed partial class EmbeddedVectorStore : ILexicalIndex
{
    private async Task EnsureLexicalIndexAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        if (await SqliteLexicalIndex.EnsureAsync(connection, transaction, cancellationToken))
        {
            _logger.LogInformation("Embedded vector store {Path}: full-text index built", Path);
        }
    }

    public async Task<IReadOnlyList<LexicalHit>> LexicalSearchAsync(
        string query, int limit, string? contentType = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        EnsureReady();
        var parsed = LexicalQuery.Parse(query);
        if (parsed.IsEmpty || limit == 0)
        {
            return [];
        }
        await using var connection = await OpenAsync(cancellationToken);
        var found = await SqliteLexicalIndex.SearchAsync(connection, parsed, limit, contentType, cancellationToken);
        var hits = new List<LexicalHit>(found.Count);
        foreach (var (key, score, allTerms) in found)
        {
            // The index and the items commit together; an item deleted since the read is simply left out.
            if (_catalog.Get(key) is { } record)
            {
                hits.Add(new LexicalHit(record, score, allTerms));
            }
        }
        return hits;
    }
}
