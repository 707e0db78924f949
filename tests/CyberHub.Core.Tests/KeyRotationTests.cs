using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CyberHub.Core.Tests;

/// <summary>
/// <c>cyberhub rotate-signing-key</c>, run in process against a data directory or a configured key, then a real
/// Core on the result: the new key signs, the old one still verifies its tokens, and the JWKS lists both.
/// </summary>
public abstract class KeyRotationTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));
    private string? _connectionString;

    protected abstract Task<string?> CreateDatabaseAsync();
    protected abstract Task DropDatabaseAsync();

    private string KeyDirectory => SigningKeyRing.KeyDirectory(_dataDirectory);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dataDirectory);
        _connectionString = await CreateDatabaseAsync();
    }

    public async Task DisposeAsync()
    {
        await DropDatabaseAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task A_rotated_key_file_signs_after_the_restart_while_tokens_of_the_old_key_keep_verifying()
    {
        Learner learner;
        string oldKid;
        SigningKeyRotation.Result result;
        await using (var core = await StartCoreAsync())
        {
            learner = await core.RegisterAsync();
            oldKid = Kid(learner.Access);

            result = SigningKeyRotation.Rotate(Configuration(), prune: false, DateTime.UtcNow);
            var (output, info) = Print(result);

            Assert.Empty(output);
            Assert.NotNull(result.KeyPath);
            Assert.Equal(KeyDirectory, Path.GetDirectoryName(result.KeyPath));
            Assert.Contains($"Wrote a new signing key: {result.KeyPath} (kid {result.Kid})", info, StringComparison.Ordinal);
            Assert.Contains("Restart Core", info, StringComparison.Ordinal);
            Assert.Contains("Auth__SigningKeyPem", info, StringComparison.Ordinal);
            Assert.Equal(new[] { result.Kid, oldKid }, result.Keys.Select(k => k.Kid));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(result.KeyPath));
            }
            Assert.NotEqual(oldKid, result.Kid);

            // A running Core keeps signing with the key it started with.
            Assert.Equal(oldKid, Kid((await LoginAsync(core, learner)).Access));
        }

        await using var restarted = await StartCoreAsync();
        using var oldToken = restarted.CreateClient(learner.Access);
        await (await oldToken.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
        Assert.Equal(result.Kid, Kid((await LoginAsync(restarted, learner)).Access));
        var refreshed = await (await restarted.CreateClient().PostJsonAsync("/api/v1/token/refresh/", new RefreshRequest(learner.Refresh))).ReadAsync<TokenPair>();
        Assert.Equal(result.Kid, Kid(refreshed.Access));
        Assert.Equal(new[] { result.Kid, oldKid }.Order(), (await JwksKidsAsync(restarted)).Order());
    }

    [Fact]
    public async Task Prune_deletes_only_keys_retired_longer_ago_than_an_access_token_lives()
    {
        var now = DateTime.UtcNow;
        Directory.CreateDirectory(KeyDirectory);
        var retiredLongAgo = SigningKeyRing.AddKey(KeyDirectory, now.AddHours(-3));
        // Each key stopped signing when the next one was made: 2 h, 16 min and 15 min ago; tokens live 15 min 30 s.
        var retiredSixteenMinutesAgo = SigningKeyRing.AddKey(KeyDirectory, now.AddHours(-2));
        var retiredFifteenMinutesAgo = SigningKeyRing.AddKey(KeyDirectory, now.AddMinutes(-16));
        var signing = SigningKeyRing.AddKey(KeyDirectory, now.AddMinutes(-15));

        // Without --prune nothing goes, but the expired ones are pointed out.
        var kept = SigningKeyRotation.Rotate(Configuration(), prune: false, now);
        Assert.Empty(kept.Pruned);
        Assert.Equal(5, Directory.GetFiles(KeyDirectory).Length);
        Assert.Equal(2, kept.Keys.Count(k => k.Role.Contains("--prune", StringComparison.Ordinal)));

        var result = SigningKeyRotation.Rotate(Configuration(), prune: true, now.AddMilliseconds(5));
        Assert.Equal(new[] { retiredLongAgo, retiredSixteenMinutesAgo }, result.Pruned.Select(k => k.Path).Order(StringComparer.Ordinal));
        Assert.Equal(
            new[] { result.KeyPath!, kept.KeyPath!, signing, retiredFifteenMinutesAgo },
            SigningKeyRing.KeyFiles(KeyDirectory));
        var (_, info) = Print(result);
        Assert.Contains($"Deleted {Path.GetFileName(retiredLongAgo)}", info, StringComparison.Ordinal);

        await using var core = await StartCoreAsync();
        Assert.Equal(result.Keys.Select(k => k.Kid).Order(), (await JwksKidsAsync(core)).Order());
        var learner = await core.RegisterAsync();
        Assert.Equal(result.Kid, Kid(learner.Access));
    }

    [Fact]
    public void A_key_file_named_after_the_new_key_stops_the_rotation()
    {
        Directory.CreateDirectory(KeyDirectory);
        var future = SigningKeyRing.AddKey(KeyDirectory, DateTime.UtcNow.AddYears(1));
        File.Move(future, Path.Combine(KeyDirectory, "zz-hand-made.pem"));

        var refused = Assert.Throws<InvalidOperationException>(() => SigningKeyRotation.Rotate(Configuration(), prune: false, DateTime.UtcNow));
        Assert.Contains("zz-hand-made.pem", refused.Message, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(KeyDirectory));
    }

    [Fact]
    public async Task With_a_configured_key_the_command_prints_a_new_one_and_the_printed_rollout_keeps_every_token_valid()
    {
        var current = NewPem();
        var settings = new Dictionary<string, string?> { ["Auth:SigningKeyPem"] = current };
        Learner learner;
        await using (var core = await StartCoreAsync(settings))
        {
            learner = await core.RegisterAsync();
        }

        var result = SigningKeyRotation.Rotate(Configuration(settings), prune: false, DateTime.UtcNow);
        var (output, info) = Print(result);
        Assert.Null(result.KeyPath);
        Assert.False(Directory.Exists(KeyDirectory) && Directory.EnumerateFiles(KeyDirectory).Any(), "Nothing is written with a configured key.");
        Assert.Equal(result.Pem!.TrimEnd(), output.TrimEnd());
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", output, StringComparison.Ordinal);
        Assert.Equal(result.Kid, SigningKeyRing.KeyId(output));
        Assert.NotEqual(SigningKeyRing.KeyId(current), result.Kid);
        Assert.Contains("Auth__PreviousKeyPems__0 = the current key", info, StringComparison.Ordinal);
        Assert.Contains("move the current key", info, StringComparison.Ordinal);

        // Several instances mid-rollout: one still signing with the old key and knowing the new one (step 1), one
        // already swapped (step 2). Each accepts the other's tokens; both publish both keys.
        await using var stepOne = await StartCoreAsync(new() { ["Auth:SigningKeyPem"] = current, ["Auth:PreviousKeyPems:0"] = result.Pem });
        await using var stepTwo = await StartCoreAsync(new() { ["Auth:SigningKeyPem"] = result.Pem, ["Auth:PreviousKeyPems:0"] = current });
        var fromStepOne = await LoginAsync(stepOne, learner);
        var fromStepTwo = await LoginAsync(stepTwo, learner);
        Assert.Equal(SigningKeyRing.KeyId(current), Kid(fromStepOne.Access));
        Assert.Equal(result.Kid, Kid(fromStepTwo.Access));
        foreach (var core in new[] { stepOne, stepTwo })
        {
            foreach (var token in new[] { learner.Access, fromStepOne.Access, fromStepTwo.Access })
            {
                using var client = core.CreateClient(token);
                await (await client.GetAsync("/api/v1/users/me/")).ReadAsync<UserDto>();
            }
            Assert.Equal(new[] { result.Kid, SigningKeyRing.KeyId(current) }.Order(), (await JwksKidsAsync(core)).Order());
        }

        // Step 3: the old key gone, its tokens are refused.
        await using var stepThree = await StartCoreAsync(new() { ["Auth:SigningKeyPem"] = result.Pem });
        using var stale = stepThree.CreateClient(fromStepOne.Access);
        await (await stale.GetAsync("/api/v1/users/me/")).DetailAsync(HttpStatusCode.Unauthorized);
    }

    private async Task<ConfiguredCoreServer> StartCoreAsync(Dictionary<string, string?>? settings = null)
    {
        var core = new ConfiguredCoreServer(_connectionString, _dataDirectory, settings ?? []);
        await core.InitializeAsync();
        return core;
    }

    private IConfiguration Configuration(Dictionary<string, string?>? settings = null) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["CYBERHUB_DATA_DIR"] = _dataDirectory })
            .AddInMemoryCollection(settings ?? [])
            .Build();

    private static (string Output, string Info) Print(SigningKeyRotation.Result result)
    {
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var info = new StringWriter(CultureInfo.InvariantCulture);
        SigningKeyRotation.Write(result, output, info);
        return (output.ToString(), info.ToString());
    }

    private static async Task<TokenPair> LoginAsync(CoreServer core, Learner learner)
    {
        using var anonymous = core.CreateClient();
        return await (await anonymous.PostJsonAsync("/api/v1/token/", new TokenRequest(learner.User.Email, null, learner.Password))).ReadAsync<TokenPair>();
    }

    private static async Task<IReadOnlyList<string>> JwksKidsAsync(CoreServer core)
    {
        using var anonymous = core.CreateClient();
        return [.. new JsonWebKeySet(await anonymous.GetStringAsync("/.well-known/jwks.json")).Keys.Select(k => k.Kid)];
    }

    private static string Kid(string token) => new JsonWebToken(token).Kid;

    private static string NewPem()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return key.ExportPkcs8PrivateKeyPem();
    }
}

public sealed class SqliteKeyRotationTests : KeyRotationTests
{
    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
    protected override Task DropDatabaseAsync() => Task.CompletedTask;
}

public sealed class PostgresKeyRotationTests : KeyRotationTests
{
    private readonly ThrowawayDatabase _database = new("core_test");

    protected override async Task<string?> CreateDatabaseAsync() => await _database.CreateAsync();
    protected override Task DropDatabaseAsync() => _database.DropAsync();
}
