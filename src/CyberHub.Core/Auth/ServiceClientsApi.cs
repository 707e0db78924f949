using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace CyberHub.Core.Auth;

public static class ServiceClientsApi
{
    public static IEndpointRouteBuilder MapServiceClientsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/service-clients").WithTags("Service clients").RequireAuthorization(Policies.Admin)
            // A service client is a permanent credential: minting or revoking one checks the caller's admin role in the database.
            .RequireCurrentAdmin();
        group.MapPost("/", Create).WithSummary("Register a service client (admin); the secret is shown once, in this answer");
        group.MapGet("/", List).WithSummary("All service clients, revoked ones included (admin)");
        group.MapDelete("/{clientId}/", Revoke).WithSummary("Revoke a service client: it gets no new tokens (admin)");
        return app;
    }

    private static async Task<Created<ServiceClientCreated>> Create(
        CreateServiceClientRequest request, ServiceClientsService clients, CancellationToken ct)
    {
        var created = await clients.CreateAsync(request, ct);
        return TypedResults.Created($"/api/v1/service-clients/{created.ClientId}/", created);
    }

    private static async Task<Ok<IReadOnlyList<ServiceClientDto>>> List(ServiceClientsService clients, CancellationToken ct) =>
        TypedResults.Ok(await clients.ListAsync(ct));

    private static async Task<NoContent> Revoke(string clientId, ServiceClientsService clients, CancellationToken ct)
    {
        await clients.RevokeAsync(clientId, ct);
        return TypedResults.NoContent();
    }
}
