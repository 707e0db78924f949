using CyberHub.Testing;

namespace CyberHub.EndToEnd.Tests.Faults;

/// <summary>
/// The built host (<c>cyberhub.dll</c>) for the tests that run it as a child process: fresh when its Core and AI
/// assemblies are the ones this project tests.
/// </summary>
internal static class HostBuild
{
    private static readonly string[] AssembliesUnderTest =
        ["CyberHub.Contracts.dll", "CyberHub.ServiceDefaults.dll", "CyberHub.Core.dll", "CyberHub.Ai.dll"];

    public static string RepositoryRoot => HostProgram.RepositoryRoot;

    public static Task<string> EnsureAsync() => HostProgram.EnsureBuiltAsync(AssembliesUnderTest);
}
