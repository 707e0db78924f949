using CyberHub.Core;
using CyberHub.Core.Data;
using CyberHub.Core.Users;
using Microsoft.Extensions.DependencyInjection;

// cyberhub [all|core]                                   run the platform (default: everything in one process)
// cyberhub create-admin --email E --password P          create or repair an admin account, then exit
var command = args.FirstOrDefault(a => !a.StartsWith('-')) ?? "all";
var rest = args.Where(a => a != command).ToArray();

switch (command)
{
    case "all":
    case "core":
        await CoreApp.Build(rest).RunAsync();
        return 0;

    case "create-admin":
        return await CreateAdminAsync(rest);

    default:
        Console.Error.WriteLine($"Unknown command '{command}'. Commands: all (default), core, create-admin --email E --password P.");
        return 2;
}

static async Task<int> CreateAdminAsync(string[] args)
{
    var app = CoreApp.Build(args);
    var email = app.Configuration["email"];
    var password = app.Configuration["password"];
    if (string.IsNullOrWhiteSpace(email) || string.IsNullOrEmpty(password))
    {
        Console.Error.WriteLine("Usage: cyberhub create-admin --email admin@example.com --password <password>");
        return 2;
    }
    await CoreDatabase.MigrateAsync(app.Services);
    await using var scope = app.Services.CreateAsyncScope();
    try
    {
        var admin = await scope.ServiceProvider.GetRequiredService<UsersService>().EnsureAdminAsync(email, password, CancellationToken.None);
        Console.WriteLine($"Admin account {admin.Email} (user {admin.Id}) is ready.");
        return 0;
    }
    catch (CyberHub.ServiceDefaults.Errors.ApiException e)
    {
        Console.Error.WriteLine(e.Message);
        return 1;
    }
}
