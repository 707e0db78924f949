using Npgsql;

namespace CyberHub.Testing;

/// <summary>
/// Throwaway databases on the PostgreSQL server that scripts/test.sh provides (<c>CYBERHUB_TEST_POSTGRES</c>).
/// Without it, tests that need PostgreSQL fail with a message saying how to provide it: they never pass
/// silently without the database.
/// </summary>
public static class TestPostgres
{
    public static string AdminConnectionString =>
        Environment.GetEnvironmentVariable("CYBERHUB_TEST_POSTGRES") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("CYBERHUB_TEST_POSTGRES is not set: run the suite with scripts/test.sh, which starts PostgreSQL.");

    /// <summary>Creates an empty database (with pgvector available) and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(string name)
    {
        await ExecuteAsync($"CREATE DATABASE {name}");
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    public static async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }

    public static string NewName(string prefix) => $"{prefix}_{Guid.NewGuid():N}";

    private static async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>A database of its own for one fixture: created on demand, dropped at the end.</summary>
public sealed class ThrowawayDatabase(string prefix)
{
    private string? _name;

    public async Task<string> CreateAsync()
    {
        _name = TestPostgres.NewName(prefix);
        return await TestPostgres.CreateDatabaseAsync(_name);
    }

    public Task DropAsync() => _name is null ? Task.CompletedTask : TestPostgres.DropDatabaseAsync(_name);
}
