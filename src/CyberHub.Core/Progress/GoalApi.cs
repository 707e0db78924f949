using System.Security.Claims;
using CyberHub.Contracts;
using CyberHub.Core.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace CyberHub.Core.Progress;

public static class GoalApi
{
    public static IEndpointRouteBuilder MapGoalApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/progress/goal").WithTags("Progress").RequireAuthorization();
        group.MapGet("/", Get).WithSummary("The caller's weekly goal, items completed this week and streak of active days");
        group.MapPut("/", Put).WithSummary("Set the caller's weekly goal (items_per_week) and time zone");
        return app;
    }

    private static async Task<Ok<LearningGoalDto>> Get(ClaimsPrincipal caller, GoalService goals, CancellationToken ct) =>
        TypedResults.Ok(await goals.GetAsync(caller.AccountId(), ct));

    private static async Task<Ok<LearningGoalDto>> Put(LearningGoalRequest request, ClaimsPrincipal caller, GoalService goals, CancellationToken ct) =>
        TypedResults.Ok(await goals.SetAsync(caller.AccountId(), request, ct));
}
