using System.Text.Json.Nodes;
using CyberHub.ServiceDefaults.OpenApi;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Core;

/// <summary>What Core's OpenAPI document says beyond what its endpoints tell: its purpose, its tags and examples of the main flows.</summary>
internal static class CoreOpenApi
{
    public static IServiceCollection AddCoreOpenApiDescription(this IServiceCollection services) =>
        services.Configure<CyberHubOpenApiOptions>(o =>
        {
            o.Title = "CyberHub Core API";
            o.Description = "Identity, tokens, service clients, organizations and learning progress of CyberHub, a cybersecurity learning "
                + "platform. The AI service (catalog, search, recommendations, personality) has a document of its own and takes the same tokens.";
            o.Tags["Auth"] = "Log in, refresh and revoke tokens, service tokens for machine callers, and the public keys that verify tokens.";
            o.Tags["Web"] = "What the web app needs before it starts.";
            o.Tags["Service clients"] = "Credentials for machine callers (other services, jobs): admins register and revoke them.";
            o.Tags["Users"] = "Registration, the caller's own profile and password, and user administration (admin).";
            o.Tags["Organizations"] = "Organizations, their members and roles (owner, instructor, member), and invitations by email.";
            o.Tags["Progress"] = "Learners' progress on content items: one record per item, versioned (ETag / If-Match), and retry-safe with Idempotency-Key.";

            var tokens = new JsonObject { ["access"] = "eyJhbGciOiJFUzI1NiIsImtpZCI6...", ["refresh"] = "eyJhbGciOiJFUzI1NiIsImtpZCI6..." };
            o.Examples["postUsers"] = new(
                new JsonObject { ["email"] = "ann@example.com", ["username"] = "ann", ["password"] = "correct horse", ["first_name"] = "Ann", ["last_name"] = "Lee" },
                null);
            o.Examples["postToken"] = new(new JsonObject { ["email"] = "ann@example.com", ["password"] = "correct horse" }, tokens);
            o.Examples["postTokenRefresh"] = new(new JsonObject { ["refresh"] = "eyJhbGciOiJFUzI1NiIsImtpZCI6..." }, tokens);
            o.Examples["postProgress"] = new(
                new JsonObject { ["content_id"] = "web-security-101", ["content_type"] = "course", ["completion_percentage"] = 40 }, null);
            o.Examples["patchProgressById"] = new(
                new JsonObject { ["status"] = "completed", ["score"] = 92, ["time_spent_seconds"] = 1800 }, null);
        });
}
