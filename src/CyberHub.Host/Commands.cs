using CyberHub.Ai;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.Core;
using CyberHub.Core.Auth;
using CyberHub.Core.Data;
using CyberHub.Core.Users;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using System.Net.Http.Json;
using System.Security.Cryptography;

namespace CyberHub.Host;

internal static class Commands
{
    public static async Task<int> RunAsync(params WebApplication[] services)
    {
        await Task.WhenAll(services.Select(s => s.RunAsync()));
        return 0;
    }

    public static int Usage(string problem)
    {
        Console.Error.WriteLine(problem);
        Console.Error.WriteLine("""
            Usage: cyberhub [all | core | ai]                         run the platform (default: all)
                   cyberhub create-admin --email E --password P       ensure an admin account
                   cyberhub create-service-client NAME                register a machine caller; prints its credentials
                   cyberhub rotate-signing-key [--prune]              a new token signing key (--prune: delete expired ones)
                   cyberhub import FILE.json|FILE.csv                 load a catalog into the vector store
                   cyberhub rebuild-recommendations                   recount co-completions from Core's progress (as a
                                                                      service client: CYBERHUB_CLIENT_ID, CYBERHUB_CLIENT_SECRET)
            """);
        return 2;
    }

    public static async Task<int> CreateAdminAsync(string[] args)
    {
        var app = CoreApp.Build(args);
        var email = app.Configuration["email"];
        var password = app.Configuration["password"];
        if (string.IsNullOrWhiteSpace(email) || string.IsNullOrEmpty(password))
        {
            return Usage("create-admin needs --email and --password.");
        }
        await CoreDatabase.MigrateAsync(app.Services);
        await using var scope = app.Services.CreateAsyncScope();
        try
        {
            var admin = await scope.ServiceProvider.GetRequiredService<UsersService>().EnsureAdminAsync(email, password, CancellationToken.None);
            Console.WriteLine($"Admin account {admin.Email} (user {admin.Id}) is ready.");
            return 0;
        }
        catch (ApiException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
    }

    /// <summary>Registers a service client in the configured database and prints its credentials, which are shown only here.</summary>
    public static async Task<int> CreateServiceClientAsync(string[] args)
    {
        // The name comes first, so that it cannot be mistaken for the value of a setting such as --CYBERHUB_DATA_DIR.
        if (args.Length == 0 || args[0].StartsWith('-') || string.IsNullOrWhiteSpace(args[0]))
        {
            return Usage("create-service-client needs a NAME (before any --setting).");
        }
        var name = args[0];
        var app = CoreApp.Build(args[1..]);
        await CoreDatabase.MigrateAsync(app.Services);
        await using var scope = app.Services.CreateAsyncScope();
        try
        {
            var client = await scope.ServiceProvider.GetRequiredService<ServiceClientsService>()
                .CreateAsync(new CreateServiceClientRequest(name), CancellationToken.None);
            Console.WriteLine($"client_id:     {client.ClientId}");
            Console.WriteLine($"client_secret: {client.ClientSecret}");
            Console.Error.WriteLine("Keep the secret now: it is stored only as a hash and cannot be shown again.");
            return 0;
        }
        catch (ApiException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
    }

    /// <summary>
    /// A new token signing key: a key file in the data directory, which signs from Core's next start, or, with
    /// <c>Auth__SigningKeyPem</c> configured, a PEM printed on stdout with the steps to roll it out.
    /// </summary>
    public static int RotateSigningKey(string[] args)
    {
        var prune = args.Contains("--prune");
        var app = CoreApp.Build([.. args.Where(a => a != "--prune")]);
        try
        {
            var result = SigningKeyRotation.Rotate(app.Configuration, prune, DateTime.UtcNow);
            SigningKeyRotation.Write(result, Console.Out, Console.Error);
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or CryptographicException or ArgumentException)
        {
            Console.Error.WriteLine($"Could not rotate the signing key: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// With <c>--url</c> (and <c>--token</c>), imports through a running AI service's API, which it sees at once.
    /// Otherwise imports straight into the configured store (the embedded file or PostgreSQL), whether or not
    /// the service runs; a running embedded service sees those items after its next start.
    /// </summary>
    public static async Task<int> ImportAsync(string[] args)
    {
        var file = args.FirstOrDefault(a => !a.StartsWith('-'));
        if (file is null || !File.Exists(file))
        {
            return Usage(file is null ? "import needs a file." : $"No such file: {file}");
        }
        IReadOnlyList<CatalogEntry> entries;
        try
        {
            entries = CatalogImporter.ReadFile(file);
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException)
        {
            Console.Error.WriteLine($"{file}: {e.Message}");
            return 1;
        }

        var options = new ConfigurationBuilder().AddCommandLine(args.Where(a => a != file).ToArray()).Build();
        if (options["url"] is { Length: > 0 } url)
        {
            return await ImportThroughApiAsync(entries, new Uri(url), options["token"] ?? Environment.GetEnvironmentVariable("CYBERHUB_TOKEN"));
        }

        var app = AiApp.Build(args.Where(a => a != file).Append("--CYBERHUB_SEED_DEMO_CATALOG=false").ToArray());
        await app.Services.GetRequiredService<IVectorStore>().InitializeAsync();
        await using var scope = app.Services.CreateAsyncScope();
        var importer = scope.ServiceProvider.GetRequiredService<CatalogImporter>();
        try
        {
            await importer.CheckPrerequisitesAsync(entries);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"{file}: {e.Message}");
            return 1;
        }
        var progress = new ProgressBar(entries.Count);
        var imported = await importer.ImportAsync(entries, progress);
        progress.Finish();
        Console.WriteLine($"Imported {imported} items from {file}.");
        return 0;
    }

    /// <summary>
    /// Rebuilds the co-completion counts and the learners' completions in the configured AI store (the embedded file or
    /// PostgreSQL) from every learner's completed progress, read from Core over HTTP as a service client. Run it with the
    /// AI service stopped: Core's outbox keeps the events of the meantime and delivers them after, and an event the
    /// rebuild already reflects counts nothing.
    /// </summary>
    public static async Task<int> RebuildRecommendationsAsync(string[] args)
    {
        var app = AiApp.Build([.. args, "--CYBERHUB_SEED_DEMO_CATALOG=false"]);
        var clientId = app.Configuration["client-id"] ?? Environment.GetEnvironmentVariable("CYBERHUB_CLIENT_ID");
        var clientSecret = Environment.GetEnvironmentVariable("CYBERHUB_CLIENT_SECRET");
        if (string.IsNullOrWhiteSpace(clientId) || string.IsNullOrEmpty(clientSecret))
        {
            return Usage("rebuild-recommendations needs a service client: CYBERHUB_CLIENT_ID (or --client-id) and CYBERHUB_CLIENT_SECRET (see create-service-client).");
        }
        var store = app.Services.GetRequiredService<ILearnerProfileStore>();
        await store.InitializeAsync();
        var core = AiApp.CoreApiUrl(app.Configuration);
        using var http = new HttpClient { BaseAddress = core, Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            var read = new RecordCounter();
            var result = await new CoCompletionRebuild(store, app.Services.GetRequiredService<CoCompletionSettings>(), TimeProvider.System)
                .RunAsync(http, clientId, clientSecret, read);
            Console.Error.WriteLine();
            Console.WriteLine($"Rebuilt from {core}: {result.Completions} completions of {result.Learners} learners, {result.Pairs} pairs, {result.Items} items.");
            return 0;
        }
        catch (Exception e) when (e is CoCompletionRebuildException or HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine();
            Console.Error.WriteLine($"Could not rebuild the recommendations from {core}: {e.Message}");
            return 1;
        }
    }

    private static async Task<int> ImportThroughApiAsync(IReadOnlyList<CatalogEntry> entries, Uri url, string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return Usage("import --url needs --token (or CYBERHUB_TOKEN): an access token of a content_creator or admin.");
        }
        using var http = new HttpClient { BaseAddress = url };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var progress = new ProgressBar(entries.Count);
        var done = 0;
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        // The service refuses a prerequisite it does not hold yet: the items a file's items require go first.
        foreach (var round in ContentPaths.InPrerequisiteOrder(entries, e => ContentPaths.Reference(e.ContentType, e.ContentId), e => e.Metadata))
        {
            await Parallel.ForEachAsync(round, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (e, ct) =>
            {
                var request = new StoreEmbeddingsRequest([$"{e.Title}. {e.Description}"], e.ContentType, e.ContentId, e.Title, e.Description, e.Metadata);
                using var response = await http.PostAsJsonAsync("/api/v1/embeddings/store", request, CyberHubJson.Options, ct);
                if (!response.IsSuccessStatusCode)
                {
                    failures.Add($"{e.ContentType}/{e.ContentId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
                }
                progress.Report(Interlocked.Increment(ref done));
            });
        }
        progress.Finish();
        foreach (var failure in failures)
        {
            Console.Error.WriteLine(failure);
        }
        Console.WriteLine($"Imported {entries.Count - failures.Count} of {entries.Count} items through {url}.");
        return failures.IsEmpty ? 0 : 1;
    }

    private sealed class RecordCounter : IProgress<int>
    {
        public void Report(int done) => Console.Error.Write($"\r{done} completed records read");
    }

    private sealed class ProgressBar(int total) : IProgress<int>
    {
        public void Report(int done)
        {
            const int width = 40;
            var filled = total == 0 ? width : done * width / total;
            Console.Error.Write($"\r[{new string('#', filled)}{new string('.', width - filled)}] {done}/{total}");
        }

        public void Finish() => Console.Error.WriteLine();
    }
}
