using CyberHub.Ai;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.VectorStore;
using CyberHub.Core;
using CyberHub.Core.Data;
using CyberHub.Core.Users;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

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
                   cyberhub import FILE.json|FILE.csv                 load a catalog into the vector store
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

    /// <summary>
    /// Imports straight into the configured store (the embedded file or PostgreSQL), so it works whether or
    /// not the AI service is running; a running embedded service sees the items after its next start.
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

        var app = AiApp.Build(args.Where(a => a != file).Append("--CYBERHUB_SEED_DEMO_CATALOG=false").ToArray());
        await app.Services.GetRequiredService<IVectorStore>().InitializeAsync();
        await using var scope = app.Services.CreateAsyncScope();
        var importer = scope.ServiceProvider.GetRequiredService<CatalogImporter>();
        var progress = new ProgressBar(entries.Count);
        var imported = await importer.ImportAsync(entries, progress);
        progress.Finish();
        Console.WriteLine($"Imported {imported} items from {file}.");
        return 0;
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
