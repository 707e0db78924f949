using System.Net;
using System.Net.Sockets;
using CyberHub.Testing;

namespace CyberHub.EndToEnd.Tests;

/// <summary>The ports the suite's services are started on: outside the range outgoing connections draw from, and bindable.</summary>
public sealed class LoopbackPortsTests
{
    [Fact]
    public void A_free_port_lies_below_the_ephemeral_range_and_can_be_bound()
    {
        var ports = Enumerable.Range(0, 20).Select(_ => LoopbackPorts.Free()).ToList();

        Assert.All(ports, port => Assert.InRange(port, LoopbackPorts.Lowest, LoopbackPorts.EphemeralLow() - 1));
        using var listener = new TcpListener(IPAddress.Loopback, ports[0]);
        listener.Start();
        Assert.Equal(ports[0], ((IPEndPoint)listener.LocalEndpoint).Port);
    }
}
