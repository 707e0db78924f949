using System.Net;
using System.Net.Sockets;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Core.Auth;
using CyberHub.Testing;

namespace CyberHub.Ai.Tests;

/// <summary>Core rotates its signing key; the AI service learns the new key from the JWKS on first sight of it, even right after another fetch.</summary>
public sealed class JwksRotationTests
{
    [Fact]
    public async Task Tokens_signed_before_and_after_a_core_key_rotation_both_verify_in_the_ai_service()
    {
        var port = FreeLoopbackPort();
        var dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));
        var coreUrl = new Uri($"http://127.0.0.1:{port}");
        try
        {
            Learner learner;
            await using (var before = new FixedCore(coreUrl, dataDirectory))
            {
                await before.InitializeAsync();
                learner = await before.RegisterAsync();
            }

            await using var ai = new AiBehind(coreUrl);
            await using (var core = new FixedCore(coreUrl, dataDirectory))
            {
                await core.InitializeAsync();
                await ai.InitializeAsync();
                using var oldKeyClient = ai.CreateClient(learner.Access);
                Assert.Equal(HttpStatusCode.OK, (await oldKeyClient.GetAsync("/api/v1/content/")).StatusCode);
            }

            SigningKeyRing.AddKey(Path.Combine(dataDirectory, "keys"));
            await using var rotated = new FixedCore(coreUrl, dataDirectory);
            await rotated.InitializeAsync();
            using var admin = await rotated.AdminClientAsync();
            var newToken = admin.DefaultRequestHeaders.Authorization!.Parameter!;
            Assert.NotEqual(Kid(learner.Access), Kid(newToken));

            // The first fetch was moments ago, inside the interval that allows one fetch: the new key's first token
            // waits for the next fetch rather than being refused.
            using var newKeyClient = ai.CreateClient(newToken);
            Assert.Equal(HttpStatusCode.OK, (await newKeyClient.GetAsync("/api/v1/content/")).StatusCode);
            using var oldKeyClientAgain = ai.CreateClient(learner.Access);
            Assert.Equal(HttpStatusCode.OK, (await oldKeyClientAgain.GetAsync("/api/v1/content/")).StatusCode);
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    private static string Kid(string token) => new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(token).Kid;

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class FixedCore(Uri url, string dataDirectory) : CoreServer, IAsyncDisposable
    {
        protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
        protected override string DataDirectory => dataDirectory;
        protected override bool OwnsDataDirectory => false;
        protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?> { ["CYBERHUB_CORE_URL"] = url.ToString() };

        ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());
    }

    private sealed class AiBehind(Uri core) : AiServer, IAsyncDisposable
    {
        protected override Uri? ExternalCore => core;
        protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?> { ["CYBERHUB_SEED_DEMO_CATALOG"] = "false" };
        protected override Task<string?> CreateVectorDatabaseAsync() => Task.FromResult<string?>(null);

        ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());
    }
}
