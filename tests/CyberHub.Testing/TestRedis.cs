namespace CyberHub.Testing;

/// <summary>
/// The Redis server scripts/test.sh provides (<c>CYBERHUB_TEST_REDIS</c>, host:port). Tests that need it
/// fail without it, and each fixture takes a key prefix of its own so fixtures never read each other's entries.
/// </summary>
public static class TestRedis
{
    public static string ConnectionString =>
        Environment.GetEnvironmentVariable("CYBERHUB_TEST_REDIS") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("CYBERHUB_TEST_REDIS is not set: run the suite with scripts/test.sh, which starts Redis.");

    public static string NewPrefix() => $"test-{Guid.NewGuid():N}:";

    /// <summary>A loopback address where nothing listens: Redis as it is when it is down.</summary>
    public static string Unreachable => $"127.0.0.1:{LoopbackPorts.Free()},connectTimeout=500";
}
