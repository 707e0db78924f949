using System.Collections.Concurrent;
using CyberHub.Ai.Recommendations;
using CyberHub.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CyberHub.Ai.Tests.Infrastructure;

/// <summary>A learner store and the co-completion store over one storage (a file, or a PostgreSQL schema), as the AI service opens them.</summary>
public sealed record LearnerStores(ILearnerProfileStore Learners, ICoCompletionStore Counts, string Location, CoCompletionSettings Settings);

/// <summary>Hands out fresh storage for learner and co-completion stores of one backend, and cleans it all up at the end.</summary>
public abstract class LearnerStoreFixture : IAsyncLifetime
{
    private readonly ConcurrentBag<object> _opened = [];

    /// <summary>New empty storage, not yet initialised.</summary>
    public abstract Task<string> NewLocationAsync();

    /// <summary>Runs <paramref name="sql"/> straight on the storage (to give it the shape an earlier version left).</summary>
    public abstract Task ExecuteSqlAsync(string location, string sql);

    protected abstract (ILearnerProfileStore, ICoCompletionStore) Create(string location, CoCompletionSettings settings);

    /// <summary>Both stores over <paramref name="location"/>, initialised as at the service's start.</summary>
    public async Task<LearnerStores> OpenAsync(string location, CoCompletionSettings? settings = null)
    {
        settings ??= CoCompletionSettings.Default;
        var (learners, counts) = Create(location, settings);
        _opened.Add(learners);
        _opened.Add(counts);
        await learners.InitializeAsync();
        await counts.InitializeAsync();
        return new LearnerStores(learners, counts, location, settings);
    }

    public async Task<LearnerStores> CreateAsync(CoCompletionSettings? settings = null) => await OpenAsync(await NewLocationAsync(), settings);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var store in _opened)
        {
            if (store is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }
    }
}

public sealed class SqliteLearnerStoreFixture : LearnerStoreFixture
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", "learners-" + Guid.NewGuid().ToString("N"));

    public override Task<string> NewLocationAsync() => Task.FromResult(Path.Combine(_directory, Guid.NewGuid().ToString("N"), "learners.db"));

    public override async Task ExecuteSqlAsync(string location, string sql)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(location)!);
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = location, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    protected override (ILearnerProfileStore, ICoCompletionStore) Create(string location, CoCompletionSettings settings) =>
        (new SqliteLearnerProfileStore(location, settings), new SqliteCoCompletionStore(location, settings));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}

/// <summary>PostgreSQL from <c>CYBERHUB_TEST_POSTGRES</c>: one database per fixture, one schema per storage, dropped at the end.</summary>
public sealed class PgLearnerStoreFixture : LearnerStoreFixture
{
    private readonly ThrowawayDatabase _database = new("learners_test");
    private string _connectionString = "";
    private int _schemas;

    public override async Task InitializeAsync() => _connectionString = await _database.CreateAsync();

    public override async Task<string> NewLocationAsync()
    {
        var schema = $"learners_{Interlocked.Increment(ref _schemas)}";
        await ExecuteSqlAsync(_connectionString, $"CREATE SCHEMA {schema}");
        return new NpgsqlConnectionStringBuilder(_connectionString) { SearchPath = schema }.ConnectionString;
    }

    public override async Task ExecuteSqlAsync(string location, string sql)
    {
        await using var connection = new NpgsqlConnection(location);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    protected override (ILearnerProfileStore, ICoCompletionStore) Create(string location, CoCompletionSettings settings) =>
        (new PgLearnerProfileStore(location, settings), new PgCoCompletionStore(location, settings));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _database.DropAsync();
    }
}
