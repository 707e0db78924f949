using System.Diagnostics;
using System.Globalization;
using CyberHub.Bench.Load.Platform;
using Npgsql;

namespace CyberHub.Bench.Load.Soak;

/// <summary>One look at the Core process and what surrounds it.</summary>
public sealed record Sample(
    TimeSpan Elapsed,
    double RssMb,
    double GcHeapMb,
    double GcCommittedMb,
    int Threads,
    int OpenFiles,
    int PgConnections,
    int PgActive,
    double OutboxBacklog,
    long Requests,
    long Errors,
    double CoreCores,
    double MachineCores,
    double PgCores,
    double LoadAverage);

/// <summary>
/// Samples the Core process every interval: resident memory, threads and open file descriptors from /proc, the GC heap
/// after the last collection and the outbox backlog from its /metrics, its PostgreSQL connections from pg_stat_activity,
/// and how busy the machine was meanwhile (Core, PostgreSQL, everything) with the load average.
/// </summary>
public sealed class Sampler(SoakCore core, HttpClient http, Func<(long Requests, long Errors)> progress)
{
    private readonly List<Sample> _samples = [];

    public IReadOnlyList<Sample> Samples => _samples;

    public async Task RunAsync(TimeSpan interval, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        var machine = ProcStat.Read(core.Database);
        var coreTicks = CoreTicks();
        var at = clock.Elapsed;
        using var timer = new PeriodicTimer(interval);
        do
        {
            var nextMachine = ProcStat.Read(core.Database);
            var nextTicks = CoreTicks();
            var now = clock.Elapsed;
            var (machineCores, pgCores) = ProcStat.CoresBetween(machine, nextMachine);
            var coreCores = (nextTicks - coreTicks) / 100.0 / Math.Max(0.001, (now - at).TotalSeconds);
            (machine, coreTicks, at) = (nextMachine, nextTicks, now);
            try
            {
                _samples.Add(await TakeAsync(now, coreCores, machineCores, pgCores));
            }
            catch (Exception e) when (e is IOException or NpgsqlException or FormatException)
            {
                // Core gone, or PostgreSQL not answering: the report says how many samples there are.
                Console.Error.WriteLine($"\nsample at {now:mm\\:ss} failed: {e.Message}");
                continue;
            }
            Console.Error.Write($"\r{now:mm\\:ss} rss {_samples[^1].RssMb:0} MB, heap {_samples[^1].GcHeapMb:0} MB, " +
                $"{_samples[^1].Requests} requests, {_samples[^1].Errors} errors, load {_samples[^1].LoadAverage:0.0}   ");
        }
        while (await Tick(timer, stop));
        Console.Error.WriteLine();
    }

    private static async Task<bool> Tick(PeriodicTimer timer, CancellationToken stop)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stop);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<Sample> TakeAsync(TimeSpan elapsed, double coreCores, double machineCores, double pgCores)
    {
        var status = File.ReadAllLines($"/proc/{core.ProcessId}/status");
        double Field(string name) => double.Parse(status.First(l => l.StartsWith(name + ":", StringComparison.Ordinal))
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        var metrics = await MetricsAsync();
        var (connections, active) = await PostgresConnectionsAsync();
        var (requests, errors) = progress();
        return new Sample(
            elapsed,
            Field("VmRSS") / 1024,
            metrics.GetValueOrDefault("dotnet_gc_last_collection_heap_size_bytes") / 1048576,
            metrics.GetValueOrDefault("dotnet_gc_last_collection_memory_committed_size_bytes") / 1048576,
            (int)Field("Threads"),
            Directory.GetFiles($"/proc/{core.ProcessId}/fd").Length,
            connections,
            active,
            metrics.GetValueOrDefault("cyberhub_outbox_backlog", double.NaN),
            requests,
            errors,
            coreCores,
            machineCores,
            pgCores,
            double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture));
    }

    private long CoreTicks() => ProcStat.ProcessTicks(core.ProcessId);

    /// <summary>The series the soak watches, summed over their labels (a heap's generations).</summary>
    private Task<Dictionary<string, double>> MetricsAsync() => PrometheusText.ReadAsync(http, new Uri("/metrics", UriKind.Relative),
        "dotnet_gc_last_collection_heap_size_bytes", "dotnet_gc_last_collection_memory_committed_size_bytes", "cyberhub_outbox_backlog");

    private async Task<(int Total, int Active)> PostgresConnectionsAsync()
    {
        if (core.Database is null)
        {
            return (0, 0);
        }
        await using var connection = new NpgsqlConnection(core.AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity WHERE datname = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = core.Database });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return ((int)reader.GetInt64(0), (int)reader.GetInt64(1));
    }
}
