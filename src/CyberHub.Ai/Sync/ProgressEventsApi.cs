using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace CyberHub.Ai.Sync;

public static class ProgressEventsApi
{
    public static IEndpointRouteBuilder MapProgressEventsApi(this IEndpointRouteBuilder app)
    {
        // Core's outbox calls this with a service token; admins may replay events by hand.
        app.MapPost("/api/v1/sync/progress-events", Apply)
            .WithTags("Sync")
            .RequireAuthorization(Policies.AdminOrService)
            .WithSummary("Apply progress changes from Core: update learner profiles and drop their cached results");
        return app;
    }

    private static async Task<Ok<ProgressEventsResult>> Apply(ProgressEventBatch batch, ProgressEventsService events, CancellationToken ct) =>
        TypedResults.Ok(await events.ApplyAsync(batch, ct));
}
