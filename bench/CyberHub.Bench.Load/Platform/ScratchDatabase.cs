using Npgsql;

namespace CyberHub.Bench.Load.Platform;

/// <summary>A throwaway PostgreSQL database of one run, created fresh and dropped after.</summary>
public static class ScratchDatabase
{
    /// <summary>Creates <c>{prefix}_{random}</c>; returns its name and a connection string to it.</summary>
    public static async Task<(string Name, string ConnectionString)> CreateAsync(string adminConnectionString, string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}";
        await ExecuteAsync(adminConnectionString, $"CREATE DATABASE {name}");
        return (name, new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString);
    }

    public static async Task DropAsync(string adminConnectionString, string name)
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(adminConnectionString, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
