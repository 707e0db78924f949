using CyberHub.ServiceDefaults;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CyberHub.Core.Outbox;

public static class OutboxExtensions
{
    /// <summary>
    /// The outbox: the wake-up signal progress writes use, and (unless <c>Outbox:Enabled</c> is false) the
    /// dispatcher that delivers to the AI service at <c>CYBERHUB_AI_API_URL</c>. Register after the
    /// database migration, so that the dispatcher starts on a migrated schema.
    /// </summary>
    public static IServiceCollection AddOutbox(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OutboxOptions>().Bind(configuration.GetSection(OutboxOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<OutboxOptions>, OutboxOptionsValidator>();
        services.AddSingleton<OutboxSignal>();
        services.AddScoped<OutboxStore>();
        services.AddSingleton<ServiceTokenSource>();
        services.AddSingleton<ProgressEventSender>();

        var ai = ServiceUrls.Resolve(configuration, "CYBERHUB_AI_API_URL", "CYBERHUB_AI_URL", "http://localhost:8001");
        services.AddHttpClient(ProgressEventSender.HttpClientName, client =>
        {
            // A trailing slash keeps a path prefix of the address (a proxy's /ai/, say) in front of the route.
            client.BaseAddress = ai.AbsoluteUri.EndsWith('/') ? ai : new Uri(ai.AbsoluteUri + "/");
            // Each request has its own, shorter deadline (OutboxOptions.RequestTimeout); this is a backstop.
            client.Timeout = TimeSpan.FromMinutes(1);
        })
            // The dispatcher logs each delivery's outcome; four request lines per delivery would drown it.
            .RemoveAllLoggers();

        if (configuration.GetSection(OutboxOptions.Section).GetValue(nameof(OutboxOptions.Enabled), true))
        {
            services.AddHostedService<OutboxDispatcher>();
        }
        return services;
    }

    private sealed class OutboxOptionsValidator : IValidateOptions<OutboxOptions>
    {
        public ValidateOptionsResult Validate(string? name, OutboxOptions options) =>
            options.Problem() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
    }
}
