using CyberHub.ServiceDefaults.Data;
using Npgsql;
using NpgsqlTypes;

namespace CyberHub.Ai.VectorStore;

/// <summary>The pgvector store's lexical search: PostgreSQL full text over <see cref="PgLexicalIndex"/>'s column.</summary>
public sealed partial class PgVectorStore : ILexicalIndex
{
    private static readonly string LexicalSearchSql = PgLexicalIndex.Search(RecordColumns);

    public async Task<IReadOnlyList<LexicalHit>> LexicalSearchAsync(
        string query, int limit, string? contentType = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var parsed = LexicalQuery.Parse(query);
        if (parsed.IsEmpty || limit == 0)
        {
            return [];
        }
        return await PostgresConnections.RunAsync(_dataSource, async connection =>
        {
            await using var command = new NpgsqlCommand(LexicalSearchSql, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = parsed.Terms.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)contentType ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = (long)limit });
            var hits = new List<LexicalHit>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                hits.Add(new LexicalHit(ReadRecord(reader), reader.GetDouble(9), reader.GetBoolean(10)));
            }
            return (IReadOnlyList<LexicalHit>)hits;
        }, cancellationToken);
    }
}
