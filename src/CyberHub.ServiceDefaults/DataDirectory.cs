using Microsoft.Extensions.Configuration;

namespace CyberHub.ServiceDefaults;

/// <summary>
/// Where embedded-mode state lives (SQLite files, signing keys), readable by the service's own user only: password,
/// refresh-token and secret hashes and the private signing keys are in it. Modes are set explicitly, whatever the
/// umask, and narrowed at start where an earlier version or an operator left them looser.
/// </summary>
public static class DataDirectory
{
    /// <summary>Directories: 0700.</summary>
    public const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Files: 0600.</summary>
    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The files SQLite keeps beside a database, which hold its pages too.</summary>
    private static readonly string[] SqliteCompanions = ["-wal", "-shm", "-journal"];

    /// <summary>Where embedded-mode state lives: <c>CYBERHUB_DATA_DIR</c>, default <c>./data</c>.</summary>
    public static string From(IConfiguration configuration) =>
        Path.GetFullPath(configuration["CYBERHUB_DATA_DIR"] is { Length: > 0 } dir ? dir : "data");

    /// <summary>
    /// Creates <paramref name="directory"/> with mode 0700 (its missing parents as the umask says), or narrows it
    /// to 0700 when it exists with more; returns its full path.
    /// </summary>
    public static string EnsurePrivate(string directory)
    {
        directory = Path.GetFullPath(directory);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return directory;
        }
        if (Path.GetDirectoryName(directory) is { } parent)
        {
            Directory.CreateDirectory(parent);
        }
        Directory.CreateDirectory(directory, PrivateDirectory);
        Narrow(directory, PrivateDirectory);
        return directory;
    }

    /// <summary>
    /// Makes an SQLite database private before SQLite opens it: its directory 0700 (<see cref="EnsurePrivate"/>), the
    /// file created empty with mode 0600 when missing (SQLite gives its <c>-wal</c>, <c>-shm</c> and <c>-journal</c>
    /// files the database's mode), and the file and those companions narrowed to 0600 when they exist with more.
    /// </summary>
    public static void PrepareSqliteFile(string path)
    {
        path = Path.GetFullPath(path);
        EnsurePrivate(Path.GetDirectoryName(path)!);
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        try
        {
            using var _ = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = PrivateFile,
            });
        }
        catch (IOException) when (File.Exists(path))
        {
            // It exists already (or another instance made it just now): narrowed below.
        }
        NarrowFile(path);
        foreach (var companion in SqliteCompanions)
        {
            NarrowFile(path + companion);
        }
    }

    /// <summary>Narrows an existing file to 0600 when its mode allows more; a missing file is left missing.</summary>
    public static void NarrowFile(string path)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(path))
        {
            Narrow(path, PrivateFile);
        }
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void Narrow(string path, UnixFileMode allowed)
    {
        var mode = File.GetUnixFileMode(path);
        if ((mode & ~allowed) != 0)
        {
            File.SetUnixFileMode(path, mode & allowed);
        }
    }
}
