using System.Net;
using System.Net.Sockets;

namespace CyberHub.Testing;

public static class LoopbackPorts
{
    /// <summary>
    /// A port free right now. For services that must know each other's address before either starts (Core
    /// sends events to AI, AI reads progress from Core); the kernel does not hand the same port out again at once.
    /// </summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
