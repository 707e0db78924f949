using CyberHub.Core.Auth;
using CyberHub.Core.Data;
using CyberHub.Core.Organizations;
using CyberHub.Core.Outbox;
using CyberHub.Core.Progress;
using CyberHub.Core.Users;
using CyberHub.Core.Web;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Caching;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberHub.Core;

/// <summary>The Core service: identity, tokens, service clients, organizations, progress and its outbox.</summary>
public static class CoreApp
{
    public const string DefaultUrl = "http://localhost:8000";

    /// <summary>
    /// Builds the Core web application. <paramref name="configure"/> runs before any service is added,
    /// so callers (the host, tests) can add configuration that the service then reads.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(CoreApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        configure?.Invoke(builder);
        builder.WebHost.UseUrls(builder.Configuration["CYBERHUB_CORE_URL"] ?? DefaultUrl);
        builder.AddCore();
        builder.AddWebApp();

        var app = builder.Build();
        app.UseServiceDefaults();
        app.MapAuthApi();
        app.MapServiceClientsApi();
        app.MapUsersApi();
        app.MapOrganizationsApi();
        app.MapOrganizationInsightsApi();
        app.MapProgressApi();
        app.MapGoalApi();
        app.MapWebConfigApi();
        app.MapWebApp();
        return app;
    }

    public static WebApplicationBuilder AddCore(this WebApplicationBuilder builder)
    {
        builder.AddServiceDefaults();
        var services = builder.Services;
        var dataDirectory = DataDirectory.From(builder.Configuration);

        // A caller (a test) may have given its own clock.
        services.TryAddSingleton(TimeProvider.System);
        services.AddPublicBaseUrl(builder.Configuration, "CYBERHUB_CORE_PUBLIC_URL", "CYBERHUB_CORE_URL", CoreApp.DefaultUrl);
        services.AddCoreDatabase(builder.Configuration, dataDirectory);
        services.AddSingleton(_ => SigningKeyRing.Load(builder.Configuration, dataDirectory, NullLogger.Instance));
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<SigningKeyRing>((options, keys) =>
            {
                options.TokenValidationParameters.IssuerSigningKeyResolver = (_, _, kid, _) => keys.Resolve(kid);
                // A signed, unexpired token is not enough: its account must still be active and its stamp current.
                options.Events.OnTokenValidated = AccountStates.ValidateAsync;
            });
        services.AddSingleton<AccountStates>();

        var throttle = builder.Configuration.GetSection(LoginThrottleOptions.Section).Get<LoginThrottleOptions>() ?? new LoginThrottleOptions();
        throttle.Validate();
        services.AddSingleton(sp => new LoginThrottle(sp.GetRequiredService<IMemoryCache>(), sp.GetRequiredService<TimeProvider>(), throttle,
            CachingExtensions.CachePrefix(builder.Configuration), sp.GetService<RedisConnection>()));
        services.Configure<PasswordHasherOptions>(builder.Configuration.GetSection("Auth:PasswordHasher"));
        services.AddSingleton<IPasswordHasher<User>, PasswordHasher<User>>();
        services.AddCoreOpenApiDescription();
        services.AddScoped<TokenService>();
        services.AddScoped<AuthService>();
        services.AddScoped<UsersService>();
        services.AddScoped<OrganizationsService>();
        services.AddScoped<OrganizationInsightsService>();
        services.AddSingleton(InsightsSettings.From(builder.Configuration));
        services.AddSingleton<CohortViewRefreshes>();
        services.AddSingleton<SqliteWriteGate>();
        services.AddScoped<ProgressService>();
        services.AddScoped<GoalService>();
        services.AddScoped<ServiceClientsService>();
        services.AddHostedService<CoreStartup>();
        // After CoreStartup: hosted services start in order, so the dispatcher finds the schema migrated.
        services.AddOutbox(builder.Configuration);
        return builder;
    }
}

/// <summary>Migrates the database and, when configured, ensures the admin account, before requests are served.</summary>
internal sealed class CoreStartup(IServiceProvider services, IConfiguration configuration, ILogger<CoreStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await CoreDatabase.MigrateAsync(services, cancellationToken);
        _ = services.GetRequiredService<SigningKeyRing>();

        var email = configuration["CYBERHUB_ADMIN_EMAIL"];
        var password = configuration["CYBERHUB_ADMIN_PASSWORD"];
        if (!string.IsNullOrWhiteSpace(email) && !string.IsNullOrEmpty(password))
        {
            await using var scope = services.CreateAsyncScope();
            try
            {
                var admin = await scope.ServiceProvider.GetRequiredService<UsersService>().EnsureAdminAsync(email, password, cancellationToken);
                logger.LogInformation("Admin account {Email} is ready (user {UserId})", admin.Email, admin.Id);
            }
            catch (ApiException refused) when (refused.StatusCode == StatusCodes.Status409Conflict)
            {
                // The service still starts (an admin demoted on purpose must not stop it), but nobody is promoted.
                logger.LogError("CYBERHUB_ADMIN_EMAIL not applied: {Reason}", refused.Message);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
