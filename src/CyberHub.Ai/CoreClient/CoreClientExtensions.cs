using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;

namespace CyberHub.Ai.CoreClient;

public static class CoreClientExtensions
{
    /// <summary>
    /// The typed client for Core's API with the standard resilience pipeline, tuned so that a request
    /// fails over to a clear 503 within seconds when Core is down rather than after the default ~30 s.
    /// </summary>
    public static IServiceCollection AddCoreClient(this IServiceCollection services, Uri coreBaseUrl)
    {
        static void Resilience(HttpStandardResilienceOptions options)
        {
            options.Retry.MaxRetryAttempts = 2;
            options.Retry.Delay = TimeSpan.FromMilliseconds(200);
            options.AttemptTimeout.Timeout = TimeSpan.FromSeconds(4);
            options.TotalRequestTimeout.Timeout = TimeSpan.FromSeconds(10);
            options.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(10);
            options.CircuitBreaker.BreakDuration = TimeSpan.FromSeconds(5);
        }
        services.AddHttpClient<CoreProgressClient>(c => c.BaseAddress = coreBaseUrl).AddStandardResilienceHandler(Resilience);
        services.AddHttpClient<LearnerAccessClient>(c => c.BaseAddress = coreBaseUrl).AddStandardResilienceHandler(Resilience);
        services.AddMemoryCache();
        services.AddScoped<LearnerProgress>();
        services.AddHttpClient(CoreReachableHealthCheck.ClientName, c =>
        {
            c.BaseAddress = coreBaseUrl;
            c.Timeout = TimeSpan.FromSeconds(2);
        });
        services.AddHealthChecks().AddCheck<CoreReachableHealthCheck>("core");
        return services;
    }
}
