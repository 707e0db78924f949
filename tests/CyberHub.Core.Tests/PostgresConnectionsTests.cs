using CyberHub.ServiceDefaults.Data;
using CyberHub.Testing;
using Npgsql;

namespace CyberHub.Core.Tests;

/// <summary>Both services open PostgreSQL with automatic statement preparation on, unless the configuration says otherwise.</summary>
public sealed class PostgresConnectionsTests
{
    [Fact]
    public void Preparation_is_turned_on_when_the_connection_string_does_not_mention_it()
    {
        var tuned = new NpgsqlConnectionStringBuilder(PostgresConnections.Tuned("Host=db.internal;Database=cyberhub;Username=app"));

        Assert.Equal(PostgresConnections.MaxAutoPrepare, tuned.MaxAutoPrepare);
        Assert.Equal("db.internal", tuned.Host);
        Assert.Equal("cyberhub", tuned.Database);
        Assert.Equal("app", tuned.Username);
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=0", 0)]
    [InlineData("Host=db;maxautoprepare=8", 8)]
    [InlineData("Host=db;MAX AUTO PREPARE=200", 200)]
    public void A_setting_in_the_connection_string_is_kept(string connectionString, int expected)
    {
        var tuned = PostgresConnections.Tuned(connectionString);

        Assert.Equal(connectionString, tuned);
        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(tuned).MaxAutoPrepare);
    }

    [Theory]
    [InlineData("", 1)]
    [InlineData(";Max Auto Prepare=0", 0)]
    public async Task PostgreSQL_keeps_a_repeated_statement_prepared_on_the_connection(string extra, int expected)
    {
        await using var dataSource = NpgsqlDataSource.Create(PostgresConnections.Tuned(TestPostgres.AdminConnectionString + extra));
        await using var connection = await dataSource.OpenConnectionAsync();
        const string statement = "SELECT $1::int + 1 AS next_value";
        for (var i = 0; i < 8; i++)
        {
            await using var command = new NpgsqlCommand(statement, connection) { Parameters = { new() { Value = i } } };
            Assert.Equal(i + 1, await command.ExecuteScalarAsync());
        }

        await using var count = new NpgsqlCommand("SELECT count(*)::int FROM pg_prepared_statements WHERE statement LIKE '%next_value%'", connection);
        Assert.Equal(expected, await count.ExecuteScalarAsync());
    }

    [Theory]
    [InlineData("Host=db;Database=cyberhub", true)]
    [InlineData("Host=db;No Reset On Close=false", false)]
    [InlineData("Host=db;noresetonclose=false", false)]
    public void Core_draws_pooled_connections_without_a_session_reset_unless_told_otherwise(string connectionString, bool expected)
    {
        var tuned = new NpgsqlConnectionStringBuilder(PostgresConnections.TunedStateless(connectionString));

        Assert.Equal(expected, tuned.NoResetOnClose);
        Assert.Equal(PostgresConnections.MaxAutoPrepare, tuned.MaxAutoPrepare);
    }

    /// <summary>
    /// The reset is a real round of statements: with it, a connection drawn again has lost the session's settings; without
    /// it (Core's way), they are still there, which is why Core must leave none behind (transaction-scoped locks only).
    /// </summary>
    [Theory]
    [InlineData(false, "0")]
    [InlineData(true, "1s")]
    public async Task Without_the_reset_a_connection_drawn_again_skips_the_reset_statements(bool stateless, string expected)
    {
        var connectionString = TestPostgres.AdminConnectionString + $";Application Name=reset-{Guid.NewGuid():N}";
        await using var dataSource = NpgsqlDataSource.Create(
            stateless ? PostgresConnections.TunedStateless(connectionString) : PostgresConnections.Tuned(connectionString));
        await using (var first = await dataSource.OpenConnectionAsync())
        {
            await using var set = new NpgsqlCommand("SET statement_timeout = '1s'", first);
            await set.ExecuteNonQueryAsync();
        }
        await using var again = await dataSource.OpenConnectionAsync();
        await using var show = new NpgsqlCommand("SHOW statement_timeout", again);
        // RESET ALL (part of the reset) puts the setting back to its default, 0.
        Assert.Equal(expected, await show.ExecuteScalarAsync());
    }
}
