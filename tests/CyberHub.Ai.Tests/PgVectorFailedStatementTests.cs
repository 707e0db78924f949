using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Ai.VectorStore;
using Npgsql;

namespace CyberHub.Ai.Tests;

/// <summary>
/// A statement PostgreSQL refuses while binding its parameters, in the round trip where Npgsql prepares the statement, used
/// to leave that statement half-prepared on the pooled connection, and the next run of it there failed with "Received
/// unexpected backend message DataRow" (npgsql/npgsql#6391). The refused statements go to the store directly, past the API's
/// checks, as any server-side failure would.
/// </summary>
public sealed class PgVectorFailedStatementTests(PgVectorStoreFixture fixture) : IClassFixture<PgVectorStoreFixture>
{
    private static readonly DateTime Now = new(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task A_read_after_one_postgresql_refused_on_the_same_connection_still_gets_its_row()
    {
        // PostgreSQL refuses U+0000 in a text parameter while binding it (the API refuses it long before; this is any
        // refusal at that point). Npgsql prepares a statement on its fifth run on a connection: alternating puts a
        // refused run there, and the honest read after it used to find the statement prepared with no row description.
        var store = await fixture.CreateSingleConnectionStoreAsync();
        var vector = SyntheticContent.UnitVector(new Random(3));
        var record = new ContentRecord("lab", "honest", "Honest", "Stored.", """{"n": 1}""", 1, Now, Now);
        await store.UpsertAsync(record, [vector]);
        for (var i = 0; i < 12; i++)
        {
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => store.GetAsync(new ContentKey("lab", $"refused-{i}\0")));
            Assert.Equal("Honest", (await store.GetAsync(new ContentKey("lab", "honest")))?.Title);
        }
    }
}
