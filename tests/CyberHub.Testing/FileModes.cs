using System.Runtime.InteropServices;
using Xunit;

namespace CyberHub.Testing;

/// <summary>Unix file modes for tests of what the services write to disk.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public static class FileModes
{
    public const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode PrivateDirectory = Private | UnixFileMode.UserExecute;
    public const UnixFileMode Open = Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    public const UnixFileMode OpenDirectory = PrivateDirectory | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

#pragma warning disable SYSLIB1054 // a plain libc call with no marshalling
    [DllImport("libc", EntryPoint = "umask")]
    private static extern uint SetUmask(uint mask);
#pragma warning restore SYSLIB1054

    /// <summary>Runs with the process umask at <c>022</c> (the usual default, which leaves new files world-readable).</summary>
    public static async Task WithUmask022Async(Func<Task> action)
    {
        var before = SetUmask(0x12);
        try
        {
            await action();
        }
        finally
        {
            SetUmask(before);
        }
    }

    /// <summary>Every file and directory at or under <paramref name="root"/> whose mode gives anything to group or others.</summary>
    public static IReadOnlyList<string> Readable(string root)
    {
        const UnixFileMode groupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        var paths = new[] { root }.Concat(Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories));
        return [.. paths.Where(p => (File.GetUnixFileMode(p) & groupOrOther) != 0).Select(p => $"{p}: {Convert.ToString((int)File.GetUnixFileMode(p), 8)}")];
    }

    public static void AssertMode(UnixFileMode expected, string path) =>
        Assert.True(File.GetUnixFileMode(path) == expected, $"{path} has mode {Convert.ToString((int)File.GetUnixFileMode(path), 8)}, not {Convert.ToString((int)expected, 8)}");
}
