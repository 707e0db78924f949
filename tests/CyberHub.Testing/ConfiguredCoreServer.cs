namespace CyberHub.Testing;

/// <summary>
/// A Core server over a database and data directory that someone else provides and removes, with extra
/// settings: several of them over one database and directory are several instances of one deployment
/// (sharing the data, and the signing key, which the first one generates).
/// </summary>
public sealed class ConfiguredCoreServer(string? connectionString, string dataDirectory, IDictionary<string, string?> settings) : CoreServer, IAsyncDisposable
{
    protected override string DataDirectory => dataDirectory;
    protected override bool OwnsDataDirectory => false;
    protected override IDictionary<string, string?> ExtraSettings => settings;

    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult(connectionString);

    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());
}
