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
}
