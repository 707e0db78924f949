using System.Net;
using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.Core.Tests.Infrastructure;
using CyberHub.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberHub.Core.Tests;

/// <summary>What happens across restarts on embedded defaults: the same database, keys and admin.</summary>
public sealed class StartupTests
{
    [Fact]
    public async Task A_restart_keeps_users_progress_and_the_signing_key_and_does_not_duplicate_the_admin()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));
        try
        {
            string access;
            long progressId;
            await using (var first = new EmbeddedServer(dataDirectory))
            {
                await first.InitializeAsync();
                var learner = await first.RegisterAsync();
                access = learner.Access;
                var created = await (await learner.Client.PostJsonAsync("/api/v1/progress/",
                    new CreateProgressRequest("c1", "course", null, 10, null, null, null))).ReadAsync<ProgressDto>(HttpStatusCode.Created);
                progressId = created.Id;
            }

            await using var second = new EmbeddedServer(dataDirectory);
            await second.InitializeAsync();
            // A token issued before the restart still verifies: the key was persisted, not regenerated.
            using var client = second.CreateClient(access);
            var record = await (await client.GetAsync($"/api/v1/progress/{progressId}/")).ReadAsync<ProgressDto>();
            Assert.Equal(10, record.CompletionPercentage);

            var admin = await second.AdminClientAsync();
            var users = await (await admin.GetAsync("/api/v1/users/")).ReadAsync<PagedResponse<UserDto>>();
            Assert.Single(users.Results, u => u.Roles.Contains(Roles.Admin));
            Assert.Single(Directory.GetFiles(Path.Combine(dataDirectory, "keys"), "*.pem"));
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public void A_key_ring_signs_with_its_newest_key_and_verifies_with_all()
    {
        var directory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", Guid.NewGuid().ToString("N"));
        var configuration = new ConfigurationBuilder().Build();
        try
        {
            var before = SigningKeyRing.Load(configuration, directory, NullLogger.Instance);
            Thread.Sleep(5);
            SigningKeyRing.AddKey(Path.Combine(directory, "keys"));
            var after = SigningKeyRing.Load(configuration, directory, NullLogger.Instance);

            Assert.Equal(2, after.Keys.Count);
            Assert.NotEqual(before.Current.Key.KeyId, after.Current.Key.KeyId);
            Assert.Single(after.Resolve(before.Current.Key.KeyId));
            Assert.Empty(after.Resolve("unknown"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private sealed class EmbeddedServer(string dataDirectory) : CoreServer, IAsyncDisposable
    {
        protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);

        protected override string DataDirectory => dataDirectory;
        protected override bool OwnsDataDirectory => false;

        ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());
    }
}
