using CyberHub.Ai.Catalog;
using CyberHub.Ai.CoreClient;
using CyberHub.Ai.Embeddings;
using CyberHub.Ai.Personality;
using CyberHub.Ai.Recommendations;
using CyberHub.Ai.Sync;
using CyberHub.Ai.VectorStore;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Caching;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberHub.Ai;

/// <summary>The AI service: embeddings, the content catalog and its vector store, recommendations and personality analysis.</summary>
public static class AiApp
{
    public const string DefaultUrl = "http://localhost:8001";

    /// <summary>Builds the AI web application; <paramref name="configure"/> runs before any service is added.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(AiApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        configure?.Invoke(builder);
        builder.WebHost.UseUrls(builder.Configuration["CYBERHUB_AI_URL"] ?? DefaultUrl);
        builder.AddAi();

        var app = builder.Build();
        app.UseServiceDefaults();
        app.MapCatalogApi();
        app.MapPersonalityApi();
        app.MapRecommendationsApi();
        app.MapProgressEventsApi();
        return app;
    }

    public static WebApplicationBuilder AddAi(this WebApplicationBuilder builder)
    {
        builder.AddServiceDefaults();
        var services = builder.Services;
        var configuration = builder.Configuration;

        services.AddSingleton(TimeProvider.System);
        services.AddPublicBaseUrl(configuration, "CYBERHUB_AI_PUBLIC_URL", "CYBERHUB_AI_URL", DefaultUrl);
        services.AddCoreJwks(CoreApiUrl(configuration));
        services.AddAiOpenApiDescription();
        services.AddHttpContextAccessor();
        services.AddSingleton(EmbeddingLimits.From(configuration));
        services.AddSingleton<FairModelScheduler>();
        services.AddSingleton<EmbeddingAdmission>();
        services.AddSingleton<IEmbeddingGenerator>(sp => new MiniLmEmbeddingGenerator(sp.GetRequiredService<EmbeddingAdmission>()));
        services.AddVectorStore(configuration);
        services.AddScoped<CatalogService>();
        services.AddScoped<CatalogImporter>();
        services.AddCoreClient(CoreApiUrl(configuration));
        services.AddPersonality();
        services.AddSingleton<QueryEmbeddings>();
        services.AddScoped<LearnerProfiles>();
        services.AddScoped<RecommendationService>();
        services.AddCachedJson(AiCacheJson.Default);
        services.AddScoped<ProgressEventsService>();
        services.AddHostedService<AiStartup>();
        return builder;
    }

    public static IServiceCollection AddVectorStore(this IServiceCollection services, IConfiguration configuration)
    {
        var postgres = configuration.GetConnectionString("vectors");
        // Checked here, so a bad setting stops the start.
        var coCompletion = CoCompletionConfiguration.From(configuration);
        services.AddSingleton(coCompletion);
        if (!string.IsNullOrWhiteSpace(postgres))
        {
            // Checked here, so a bad setting stops the start rather than the first search.
            var efSearch = PgVectorStore.CheckedEfSearch(configuration.GetValue("VectorSearch:EfSearch", PgVectorStore.DefaultEfSearch));
            services.AddSingleton<IVectorStore>(sp => new PgVectorStore(postgres, sp.GetRequiredService<ILoggerFactory>().CreateLogger<PgVectorStore>())
            {
                EfSearch = efSearch,
            });
            services.AddSingleton<ILearnerProfileStore>(_ => new PgLearnerProfileStore(postgres, coCompletion));
            services.AddSingleton<ICoCompletionStore>(_ => new PgCoCompletionStore(postgres, coCompletion));
        }
        else
        {
            var directory = DataDirectory.EnsurePrivate(DataDirectory.From(configuration));
            var path = Path.Combine(directory, "vectors.db");
            // Checked here, so a bad setting stops the start.
            var exactScanBelow = EmbeddedVectorStore.CheckedExactScanBelow(
                configuration.GetValue("VectorSearch:ExactScanBelow", EmbeddedVectorStore.DefaultExactScanBelow));
            var candidates = EmbeddedVectorStore.CheckedCandidates(configuration.GetValue("VectorSearch:Candidates", EmbeddedVectorStore.DefaultCandidates));
            services.AddSingleton<IVectorStore>(sp => new EmbeddedVectorStore(path, sp.GetRequiredService<ILoggerFactory>().CreateLogger<EmbeddedVectorStore>())
            {
                ExactScanBelow = exactScanBelow,
                Candidates = candidates,
            });
            // The learners' completions and the co-completion counts share one file, so an event writes both in one transaction.
            services.AddSingleton<ILearnerProfileStore>(_ => new SqliteLearnerProfileStore(Path.Combine(directory, "learners.db"), coCompletion));
            services.AddSingleton<ICoCompletionStore>(_ => new SqliteCoCompletionStore(Path.Combine(directory, "learners.db"), coCompletion));
        }
        services.AddSingleton(sp => ItemGraph.Of(sp.GetRequiredService<IVectorStore>()));
        services.AddSingleton<IItemGraph>(sp => sp.GetRequiredService<IMaintainedItemGraph>());
        services.AddHealthChecks().AddCheck<VectorStoreHealthCheck>("vector_store");
        return services;
    }

    /// <summary>Where Core answers, for its JWKS document and its API: <c>CYBERHUB_CORE_API_URL</c>, else Core's own listen address.</summary>
    public static Uri CoreApiUrl(IConfiguration configuration) =>
        ServiceUrls.Resolve(configuration, "CYBERHUB_CORE_API_URL", "CYBERHUB_CORE_URL", "http://localhost:8000");

    private sealed class VectorStoreHealthCheck(IVectorStore store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var count = await store.CountAsync(cancellationToken);
                return HealthCheckResult.Healthy($"{store.Backend}, {count} items");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy(store.Backend, e);
            }
        }
    }
}

/// <summary>Opens the vector store and, on a fresh install, fills the catalog with the demo content.</summary>
internal sealed class AiStartup(IServiceProvider services, IConfiguration configuration, ILogger<AiStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var store = services.GetRequiredService<IVectorStore>();
        await store.InitializeAsync(cancellationToken);
        await services.GetRequiredService<ILearnerProfileStore>().InitializeAsync(cancellationToken);
        await services.GetRequiredService<ICoCompletionStore>().InitializeAsync(cancellationToken);
        if (!configuration.GetValue("CYBERHUB_SEED_DEMO_CATALOG", true) || await store.CountAsync(cancellationToken) > 0)
        {
            return;
        }
        await using var scope = services.CreateAsyncScope();
        var imported = await scope.ServiceProvider.GetRequiredService<CatalogImporter>().ImportAsync(CatalogImporter.DemoCatalog(), cancellationToken: cancellationToken);
        logger.LogInformation("Seeded the empty catalog with {Count} demo items", imported);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
