using System.Net;
using System.Net.Sockets;

namespace CyberHub.Testing;

public static class LoopbackPorts
{
    /// <summary>Where ports are drawn from: above the registered services most machines run, below the ephemeral range.</summary>
    public const int Lowest = 20000;

    /// <summary>
    /// A port free right now, for services that must know each other's address before either starts (Core sends
    /// events to AI, AI reads progress from Core). It lies below the kernel's ephemeral range: a port from that range
    /// may be taken between this check and the service's own bind as the source port of any outgoing connection, and
    /// the suite's processes open many (to PostgreSQL, Redis and each other).
    /// </summary>
    public static int Free()
    {
        var below = EphemeralLow();
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var port = Random.Shared.Next(Lowest, below);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: draw again.
            }
        }
        throw new InvalidOperationException($"No free loopback port between {Lowest} and {below} after 100 draws.");
    }

    /// <summary>The first port of the kernel's ephemeral range (<c>net.ipv4.ip_local_port_range</c>), 32768 if unreadable.</summary>
    public static int EphemeralLow()
    {
        const int linuxDefault = 32768;
        try
        {
            var fields = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && int.TryParse(fields[0], out var low) && low > Lowest + 1000 ? low : linuxDefault;
        }
        catch (IOException)
        {
            return linuxDefault;
        }
        catch (UnauthorizedAccessException)
        {
            return linuxDefault;
        }
    }
}
