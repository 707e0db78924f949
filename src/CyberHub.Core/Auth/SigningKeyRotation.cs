using System.Globalization;
using System.Security.Cryptography;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Auth;
using Microsoft.Extensions.Configuration;

namespace CyberHub.Core.Auth;

/// <summary>
/// <c>cyberhub rotate-signing-key</c>: a new token signing key. With key files (embedded defaults) it writes
/// the key into the data directory's <c>keys/</c>, where it signs from Core's next start while the older keys
/// keep verifying; with <c>Auth:SigningKeyPem</c> configured it changes nothing and prints a new key and
/// how to roll it out.
/// </summary>
public static class SigningKeyRotation
{
    public sealed record KeyFile(string Path, string Kid, string Role);

    /// <summary>
    /// What a rotation did. <see cref="Pem"/> is set when keys come from configuration (the new key, written
    /// nowhere); otherwise <see cref="KeyPath"/> is the new file and <see cref="Keys"/> the directory's keys
    /// after the rotation, newest first.
    /// </summary>
    public sealed record Result(
        string Kid,
        string? KeyPath,
        string? Pem,
        IReadOnlyList<KeyFile> Keys,
        IReadOnlyList<KeyFile> Pruned,
        IReadOnlyList<string> Instructions);

    /// <summary>
    /// Rotates the key. With <paramref name="prune"/>, also deletes key files that stopped signing, given a
    /// restart after the rotation that retired them, longer ago than an access token lives (plus clock skew):
    /// every token they signed has expired. The key signing until now is never pruned.
    /// </summary>
    public static Result Rotate(IConfiguration configuration, bool prune, DateTime now)
    {
        var settings = configuration.GetSection(JwtSettings.Section).Get<JwtSettings>() ?? new JwtSettings();
        var tokenLifetime = settings.AccessTokenLifetime + settings.ClockSkew;
        var configured = configuration["Auth:SigningKeyPem"];
        return string.IsNullOrWhiteSpace(configured)
            ? RotateFiles(SigningKeyRing.KeyDirectory(DataDirectory.From(configuration)), prune, now, tokenLifetime)
            : RotateConfigured(configured, configuration.GetSection("Auth:PreviousKeyPems").Get<string[]>() ?? [], prune, tokenLifetime);
    }

    private static Result RotateFiles(string directory, bool prune, DateTime now, TimeSpan tokenLifetime)
    {
        DataDirectory.EnsurePrivate(Path.GetDirectoryName(Path.GetFullPath(directory))!);
        DataDirectory.EnsurePrivate(directory);
        var before = SigningKeyRing.KeyFiles(directory);
        // The newest name signs: never name the new key before an existing one, whatever the clock says.
        var at = before.Count > 0 && FileTime(before[0]) is { } newest && newest >= now ? newest.AddMilliseconds(1) : now;
        var path = SigningKeyRing.AddKey(directory, at);
        var files = SigningKeyRing.KeyFiles(directory);
        if (files[0] != path)
        {
            File.Delete(path);
            throw new InvalidOperationException($"{Path.GetFileName(files[0])} in {directory} sorts after the new key; key files are named by their UTC time ({SigningKeyRing.KeyFileTimeFormat}.pem).");
        }

        var pruned = new List<KeyFile>();
        var kept = new List<KeyFile>();
        for (var i = 0; i < files.Count; i++)
        {
            var kid = SigningKeyRing.KeyId(File.ReadAllText(files[i]));
            // A key stopped signing when the key after it took over; its tokens are gone one token lifetime later.
            var expired = i >= 2 && FileTime(files[i - 1]) is { } retiredAt && retiredAt + tokenLifetime <= now;
            if (prune && expired)
            {
                File.Delete(files[i]);
                pruned.Add(new KeyFile(files[i], kid, "pruned"));
                continue;
            }
            var role = i switch
            {
                0 => "new: signs from Core's next start",
                1 => "signs until Core restarts, then verifies the tokens it signed",
                _ when expired => "verifies; its tokens have expired (--prune removes it)",
                _ => "verifies the tokens it signed",
            };
            kept.Add(new KeyFile(files[i], kid, role));
        }

        var instructions = new List<string>
        {
            $"Restart Core to sign with the new key. Tokens signed with an older key stay valid until they expire (within {Describe(tokenLifetime)});",
            "the AI service fetches the new key from Core's JWKS when it first meets a token signed with it.",
            "`cyberhub rotate-signing-key --prune` (at a later rotation) also deletes the keys whose tokens have all expired.",
            "Several Core instances: each reads the key files of its own data directory, so they would sign with different",
            "keys. Give them one key in Auth__SigningKeyPem instead, and run this command with it set: it prints a new key and",
            "the steps to roll it out. Instances that share this data directory must all restart together after a rotation.",
        };
        return new Result(kept[0].Kid, path, null, kept, pruned, instructions);
    }

    private static Result RotateConfigured(string current, string[] previous, bool prune, TimeSpan tokenLifetime)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = ecdsa.ExportPkcs8PrivateKeyPem();
        var kid = SigningKeyRing.KeyId(pem);
        var keys = new List<KeyFile> { new("Auth__SigningKeyPem", SigningKeyRing.KeyId(current), "signs now") };
        keys.AddRange(previous.Select((p, i) => new KeyFile($"Auth__PreviousKeyPems__{i}", SigningKeyRing.KeyId(p), "verifies")));
        var n = previous.Length;
        var instructions = new List<string>
        {
            $"Keys come from configuration (Auth__SigningKeyPem), so nothing was changed: the new key (kid {kid}) is printed above.",
            "Keep it like the current one, in your secret store. Then:",
            $"- One Core instance: set Auth__SigningKeyPem to the new key, move the current key (kid {keys[0].Kid}) to",
            $"  Auth__PreviousKeyPems__{n}, and restart Core.",
            "- Several Core instances: roll out three times, so that no instance meets a token signed with a key it does not know:",
            $"  1. add the new key as Auth__PreviousKeyPems__{n}, the current key staying in Auth__SigningKeyPem; roll out every Core;",
            $"  2. swap them: Auth__SigningKeyPem = the new key, Auth__PreviousKeyPems__{n} = the current key (kid {keys[0].Kid}); roll out;",
            $"  3. after {Describe(tokenLifetime)}, when every token the old key signed has expired, remove Auth__PreviousKeyPems__{n}; roll out.",
            "Tokens signed with the old key stay valid until they expire; refresh tokens are not affected. The AI service",
            "fetches the new key from Core's JWKS when it first meets a token signed with it.",
        };
        if (prune)
        {
            instructions.Add($"--prune deletes key files only: remove old Auth__PreviousKeyPems__N yourself, {Describe(tokenLifetime)} after they stopped signing.");
        }
        return new Result(kid, null, pem, keys, [], instructions);
    }

    /// <summary>Prints the result: the new key's PEM (if any) on <paramref name="output"/>, the rest on <paramref name="info"/>.</summary>
    public static void Write(Result result, TextWriter output, TextWriter info)
    {
        if (result.Pem is not null)
        {
            output.Write(result.Pem.EndsWith('\n') ? result.Pem : result.Pem + "\n");
            info.WriteLine("Configured keys:");
        }
        else
        {
            info.WriteLine($"Wrote a new signing key: {result.KeyPath} (kid {result.Kid}).");
            info.WriteLine($"Keys in {Path.GetDirectoryName(result.KeyPath)}, newest first (the newest signs, every one verifies):");
        }
        foreach (var key in result.Keys)
        {
            info.WriteLine($"  {Path.GetFileName(key.Path)}  kid {key.Kid}  {key.Role}");
        }
        foreach (var key in result.Pruned)
        {
            info.WriteLine($"Deleted {Path.GetFileName(key.Path)} (kid {key.Kid}): every token it signed has expired.");
        }
        foreach (var line in result.Instructions)
        {
            info.WriteLine(line);
        }
    }

    private static DateTime? FileTime(string path) =>
        DateTime.TryParseExact(Path.GetFileNameWithoutExtension(path), SigningKeyRing.KeyFileTimeFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : null;

    private static string Describe(TimeSpan span) =>
        span.TotalSeconds % 60 == 0
            ? $"{span.TotalMinutes:0} minutes"
            : $"{Math.Floor(span.TotalMinutes):0} min {span.Seconds} s";
}
