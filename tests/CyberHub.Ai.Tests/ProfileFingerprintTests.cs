using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CyberHub.Ai.Recommendations;
using CyberHub.Contracts;

namespace CyberHub.Ai.Tests;

/// <summary>
/// A stored profile is trusted while its fingerprint matches the progress read from Core, so the fingerprint of the
/// same progress must never change: it is SHA-256 over one line per entry, however it is computed.
/// </summary>
public sealed class ProfileFingerprintTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    public void The_fingerprint_is_sha256_of_the_entries_lines(int count)
    {
        var entries = Enumerable.Range(0, count).Select(i => new ProfileEntry(
            ContentTypes.All[i % ContentTypes.All.Count],
            i % 7 == 0 ? $"crypto-\u00e9t\u00e9-\U0001F510-{i}" : $"item-{i}-{new string('x', i % 120)}",
            (ProgressStatus)(i % 3), i % 101 + 0.25, i % 5 == 0 ? null : i % 100 / 3.0,
            new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(i))).ToList();
        var text = string.Concat(entries.Select(e => string.Create(CultureInfo.InvariantCulture,
            $"{e.ContentType}\u001f{e.ContentId}\u001f{e.Status}\u001f{e.Percentage:R}\u001f{e.Score:R}\u001f{e.UpdatedAt.Ticks}\u001e")));

        Assert.Equal(Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))), ProfileBuilder.Fingerprint(entries));
    }
}
