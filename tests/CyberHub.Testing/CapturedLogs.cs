using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace CyberHub.Testing;

/// <summary>
/// What a service under test logged, kept in memory (the latest <see cref="Capacity"/> entries) so that tests
/// can look for structured events: the event name, the message's named values and the scopes around it.
/// </summary>
public sealed class CapturedLogs : ILoggerProvider, ISupportExternalScope
{
    public const int Capacity = 20_000;

    public sealed record Entry(
        string Category,
        LogLevel Level,
        string? EventName,
        string Message,
        IReadOnlyDictionary<string, object?> Values,
        IReadOnlyDictionary<string, object?> Scopes,
        Exception? Exception)
    {
        public string? Value(string name) => Values.TryGetValue(name, out var value) ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    private readonly ConcurrentQueue<Entry> _entries = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyList<Entry> Entries => [.. _entries];

    /// <summary>The request events (one per request, from the request logging middleware).</summary>
    public IReadOnlyList<Entry> Requests => [.. _entries.Where(e => e.EventName == "Request")];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private void Add(Entry entry)
    {
        _entries.Enqueue(entry);
        while (_entries.Count > Capacity && _entries.TryDequeue(out _))
        {
        }
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, object?>();
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (key, value) in pairs)
                {
                    values[key] = value;
                }
            }
            var scopes = new Dictionary<string, object?>();
            owner._scopes.ForEachScope((scope, into) =>
            {
                if (scope is IEnumerable<KeyValuePair<string, object?>> scopePairs)
                {
                    foreach (var (key, value) in scopePairs)
                    {
                        into[key] = value;
                    }
                }
            }, scopes);
            owner.Add(new Entry(category, logLevel, eventId.Name, formatter(state, exception), values, scopes, exception));
        }
    }
}
