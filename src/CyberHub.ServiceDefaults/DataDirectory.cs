using Microsoft.Extensions.Configuration;

namespace CyberHub.ServiceDefaults;

public static class DataDirectory
{
    /// <summary>Where embedded-mode state lives (SQLite files, signing keys): <c>CYBERHUB_DATA_DIR</c>, default <c>./data</c>.</summary>
    public static string From(IConfiguration configuration) =>
        Path.GetFullPath(configuration["CYBERHUB_DATA_DIR"] is { Length: > 0 } dir ? dir : "data");
}
