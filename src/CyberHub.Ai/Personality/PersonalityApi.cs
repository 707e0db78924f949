using System.Security.Claims;
using CyberHub.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace CyberHub.Ai.Personality;

public static class PersonalityApi
{
    public static IEndpointRouteBuilder MapPersonalityApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/personality").WithTags("Personality").RequireAuthorization();
        group.MapPost("/analyze", Analyze)
            .WithSummary("Analyse a learner's progress into personality traits, a summary and study advice (learners: their own; owners and instructors of an organization the learner is a member of: Core's records only)");
        group.MapGet("/{userId}", GetLast).WithSummary("The learner's last analysis, or 404 when there is none (the learner, admins, and owners and instructors of an organization the learner is a member of)");
        return app;
    }

    private static async Task<Ok<PersonalityAnalysis>> Analyze(
        PersonalityRequest request, ClaimsPrincipal caller, PersonalityService personality, HttpRequest http, CancellationToken ct) =>
        TypedResults.Ok(await personality.AnalyzeAsync(request, caller, http, ct));

    private static async Task<Ok<PersonalityAnalysis>> GetLast(
        long userId, ClaimsPrincipal caller, PersonalityService personality, HttpRequest http, CancellationToken ct) =>
        TypedResults.Ok(await personality.GetLastAsync(userId, caller, http, ct));
}
