using CyberHub.Testing;

namespace CyberHub.Core.Tests;

/// <summary>
/// Core's embedded state (core.db with password, refresh-token and secret hashes; keys/*.pem with the private signing
/// keys) is its own user's alone: directories 0700, files 0600, whatever the umask, and narrowed at start when an
/// earlier version left them open.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataFileModeTests
{
    [Fact]
    public async Task A_first_start_under_umask_022_makes_the_data_directory_0700_and_its_files_0600()
    {
        var directory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", $"modes-{Guid.NewGuid():N}");
        try
        {
            await FileModes.WithUmask022Async(async () =>
            {
                await using var core = new ConfiguredCoreServer(null, directory, new Dictionary<string, string?>());
                await core.InitializeAsync();
                await core.RegisterAsync("modes");
                AssertPrivate(directory);
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_start_narrows_a_data_directory_an_earlier_version_left_readable()
    {
        var directory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", $"modes-{Guid.NewGuid():N}");
        try
        {
            await FileModes.WithUmask022Async(async () =>
            {
                await using (var first = new ConfiguredCoreServer(null, directory, new Dictionary<string, string?>()))
                {
                    await first.InitializeAsync();
                    await first.RegisterAsync("modes");
                }
                // What the earlier version (or a copy with cp) left: everything readable by all.
                foreach (var path in Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).Append(directory))
                {
                    File.SetUnixFileMode(path, Directory.Exists(path) ? FileModes.OpenDirectory : FileModes.Open);
                }
                Assert.NotEmpty(FileModes.Readable(directory));

                await using var second = new ConfiguredCoreServer(null, directory, new Dictionary<string, string?>());
                await second.InitializeAsync();
                await second.RegisterAsync("modes");
                AssertPrivate(directory);
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void AssertPrivate(string directory)
    {
        FileModes.AssertMode(FileModes.PrivateDirectory, directory);
        FileModes.AssertMode(FileModes.Private, Path.Combine(directory, "core.db"));
        Assert.True(File.Exists(Path.Combine(directory, "core.db-wal")), "core.db runs in WAL mode");
        FileModes.AssertMode(FileModes.PrivateDirectory, Path.Combine(directory, "keys"));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(directory, "keys"), "*.pem"));
        Assert.Empty(FileModes.Readable(directory));
    }
}
