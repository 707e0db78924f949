using System.Security.Claims;
using CyberHub.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace CyberHub.Ai.Recommendations;

public static class RecommendationsApi
{
    public static IEndpointRouteBuilder MapRecommendationsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/recommendations").WithTags("Recommendations").RequireAuthorization();
        group.MapPost("/", Recommend)
            .WithSummary("What a learner should learn next, each pick with the reason for it (and, with explain, how it was scored)");
        group.MapGet("/{userId:long}", ForUser)
            .WithSummary("The same recommendations, addressed by user id");
        return app;
    }

    private static async Task<Ok<RecommendationsResponse>> Recommend(
        RecommendationRequest request, RecommendationService recommendations, ClaimsPrincipal caller, HttpRequest http, CancellationToken ct) =>
        TypedResults.Ok(await recommendations.RecommendAsync(request.UserId, request.ContentType, request.Limit, request.Explain ?? false, caller, http, ct));

    private static async Task<Ok<RecommendationsResponse>> ForUser(
        long userId, [FromQuery(Name = "content_type")] string? contentType, int? limit, bool? explain,
        RecommendationService recommendations, ClaimsPrincipal caller, HttpRequest http, CancellationToken ct) =>
        TypedResults.Ok(await recommendations.RecommendAsync(userId, contentType, limit, explain ?? false, caller, http, ct));
}
