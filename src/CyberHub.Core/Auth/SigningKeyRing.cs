using System.Security.Cryptography;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Auth;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace CyberHub.Core.Auth;

/// <summary>
/// The ES256 keys Core signs with and verifies against. The newest key signs; every key in the ring
/// verifies, so tokens signed before a rotation stay valid until they expire. Keys come from
/// configuration (<c>Auth:SigningKeyPem</c>, plus <c>Auth:PreviousKeyPems</c>) or, on embedded defaults,
/// from PEM files in the data directory's <c>keys/</c> folder, generated on first start.
/// </summary>
public sealed class SigningKeyRing
{
    private readonly Dictionary<string, ECDsaSecurityKey> _byKid;

    private SigningKeyRing(IReadOnlyList<ECDsaSecurityKey> newestFirst)
    {
        Keys = newestFirst;
        Current = new SigningCredentials(newestFirst[0], SecurityAlgorithms.EcdsaSha256);
        _byKid = newestFirst.ToDictionary(k => k.KeyId, StringComparer.Ordinal);
    }

    public SigningCredentials Current { get; }

    public IReadOnlyList<ECDsaSecurityKey> Keys { get; }

    public IEnumerable<SecurityKey> Resolve(string? kid) =>
        kid is not null && _byKid.TryGetValue(kid, out var key) ? [key] : [];

    /// <summary>The public halves, as a JWKS document (RFC 7517).</summary>
    public object Jwks() => new
    {
        keys = Keys.Select(k =>
        {
            var p = k.ECDsa.ExportParameters(includePrivateParameters: false);
            return new Dictionary<string, string>
            {
                ["kty"] = "EC",
                ["crv"] = "P-256",
                ["x"] = Base64UrlEncoder.Encode(p.Q.X),
                ["y"] = Base64UrlEncoder.Encode(p.Q.Y),
                ["kid"] = k.KeyId,
                ["use"] = "sig",
                ["alg"] = JwtSettings.Algorithm,
            };
        }).ToArray(),
    };

    public static SigningKeyRing Load(IConfiguration configuration, string dataDirectory, ILogger logger)
    {
        var configured = configuration["Auth:SigningKeyPem"];
        if (!string.IsNullOrWhiteSpace(configured))
        {
            var previous = configuration.GetSection("Auth:PreviousKeyPems").Get<string[]>() ?? [];
            return new SigningKeyRing([.. new[] { configured }.Concat(previous).Select(FromPem)]);
        }

        DataDirectory.EnsurePrivate(dataDirectory);
        var directory = DataDirectory.EnsurePrivate(KeyDirectory(dataDirectory));
        foreach (var file in Directory.EnumerateFiles(directory, "*.pem"))
        {
            DataDirectory.NarrowFile(file);
        }
        if (!Directory.EnumerateFiles(directory, "*.pem").Any())
        {
            var path = AddKey(directory);
            logger.LogInformation("Generated a new token signing key in {Path}", path);
        }
        return new SigningKeyRing(LoadDirectory(directory));
    }

    /// <summary>Where key files live on embedded defaults: <c>keys/</c> in the data directory.</summary>
    public static string KeyDirectory(string dataDirectory) => Path.Combine(dataDirectory, "keys");

    /// <summary>Writes a fresh key into the directory; it signs from the next start on.</summary>
    public static string AddKey(string directory) => AddKey(directory, DateTime.UtcNow);

    /// <summary>Writes a fresh key named after <paramref name="at"/>: the key whose name sorts last signs.</summary>
    public static string AddKey(string directory, DateTime at)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var path = Path.Combine(directory, KeyFileName(at));
        // CreateNew: two instances starting at once must not overwrite each other's key. Mode 0600 from creation on.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = DataDirectory.PrivateFile;
        }
        using var file = new FileStream(path, options);
        using var writer = new StreamWriter(file);
        writer.Write(ecdsa.ExportPkcs8PrivateKeyPem());
        return path;
    }

    /// <summary>Key files are named by the UTC time they were made, so that names sort by age.</summary>
    public static string KeyFileName(DateTime at) =>
        at.ToString(KeyFileTimeFormat, System.Globalization.CultureInfo.InvariantCulture) + ".pem";

    public const string KeyFileTimeFormat = "yyyyMMddHHmmssfff";

    /// <summary>The key id a PEM key gets: its RFC 7638 JWK thumbprint.</summary>
    public static string KeyId(string pem)
    {
        var key = FromPem(pem);
        using (key.ECDsa)
        {
            return key.KeyId;
        }
    }

    /// <summary>The key files of a directory, newest (the signing key) first.</summary>
    public static IReadOnlyList<string> KeyFiles(string directory) =>
        [.. Directory.EnumerateFiles(directory, "*.pem").OrderDescending(StringComparer.Ordinal)];

    private static List<ECDsaSecurityKey> LoadDirectory(string directory) =>
        [.. KeyFiles(directory).Select(path => FromPem(File.ReadAllText(path)))];

    private static ECDsaSecurityKey FromPem(string pem)
    {
        var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(pem);
        if (ecdsa.KeySize != 256)
        {
            throw new InvalidOperationException("Token signing keys must be P-256 (ES256) keys.");
        }
        var key = new ECDsaSecurityKey(ecdsa);
        key.KeyId = Base64UrlEncoder.Encode(JsonWebKeyConverter.ConvertFromECDsaSecurityKey(key).ComputeJwkThumbprint());
        return key;
    }
}
