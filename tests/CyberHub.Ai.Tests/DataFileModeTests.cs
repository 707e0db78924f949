using CyberHub.Ai.Recommendations;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Ai.VectorStore;
using CyberHub.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberHub.Ai.Tests;

/// <summary>
/// The AI service's SQLite files (vectors.db, learners.db, and their -wal/-shm) are its own user's alone: directory
/// 0700, files 0600, whatever the umask, and narrowed at start when an earlier version left them open.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataFileModeTests
{
    [Fact]
    public async Task The_embedded_stores_make_their_directory_0700_and_their_files_0600_under_umask_022()
    {
        var directory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", $"modes-{Guid.NewGuid():N}");
        try
        {
            await FileModes.WithUmask022Async(async () =>
            {
                await WriteBothAsync(directory);
                AssertPrivate(directory);

                foreach (var path in Directory.EnumerateFileSystemEntries(directory).Append(directory))
                {
                    File.SetUnixFileMode(path, Directory.Exists(path) ? FileModes.OpenDirectory : FileModes.Open);
                }
                Assert.NotEmpty(FileModes.Readable(directory));
                await WriteBothAsync(directory);
                AssertPrivate(directory);
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task WriteBothAsync(string directory)
    {
        using var vectors = new EmbeddedVectorStore(Path.Combine(directory, "vectors.db"), NullLogger.Instance);
        await vectors.InitializeAsync();
        await vectors.UpsertAsync(SyntheticContent.Record("lab", $"x{Guid.NewGuid():N}"), SyntheticContent.Chunks(new Random(1), 1));
        var learners = new SqliteLearnerProfileStore(Path.Combine(directory, "learners.db"), CoCompletionSettings.Default);
        await learners.InitializeAsync();
        Assert.True(File.Exists(Path.Combine(directory, "vectors.db-wal")), "vectors.db runs in WAL mode");
    }

    private static void AssertPrivate(string directory)
    {
        FileModes.AssertMode(FileModes.PrivateDirectory, directory);
        FileModes.AssertMode(FileModes.Private, Path.Combine(directory, "vectors.db"));
        FileModes.AssertMode(FileModes.Private, Path.Combine(directory, "learners.db"));
        Assert.Empty(FileModes.Readable(directory));
    }
}
