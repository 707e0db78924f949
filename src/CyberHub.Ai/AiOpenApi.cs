using System.Text.Json.Nodes;
using CyberHub.ServiceDefaults.OpenApi;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Ai;

/// <summary>What the AI service's OpenAPI document says beyond what its endpoints tell: its purpose, its tags and examples of the main flows.</summary>
internal static class AiOpenApi
{
    public static IServiceCollection AddAiOpenApiDescription(this IServiceCollection services) =>
        services.Configure<CyberHubOpenApiOptions>(o =>
        {
            o.Title = "CyberHub AI API";
            o.Description = "Embeddings, the content catalog and its search, recommendations and personality analysis of CyberHub, a "
                + "cybersecurity learning platform. Tokens come from Core (`POST /api/v1/token` on Core's address); this service verifies them with Core's published keys.";
            o.Tags["Embeddings"] = "Sentence embeddings (all-MiniLM-L6-v2, 384 dimensions), and storing content items in the catalog (content authors).";
            o.Tags["Catalog"] = "The content catalog: list, read, search by meaning and by words, and remove items (admin).";
            o.Tags["Recommendations"] = "What a learner should learn next, each pick with its reason; learners ask for themselves, admins and services for anyone.";
            o.Tags["Personality"] = "A learner's progress analysed into traits, a summary and study advice.";
            o.Tags["Sync"] = "Progress events from Core's outbox (service tokens; admins may replay them by hand).";

            o.Examples["postContentSearch"] = new(new JsonObject { ["query"] = "stopping SQL injection", ["content_type"] = "lab", ["limit"] = 5 }, null);
            o.Examples["postEmbeddings"] = new(new JsonObject { ["texts"] = new JsonArray("How does a TLS handshake work?") }, null);
            o.Examples["postEmbeddingsStore"] = new(new JsonObject
            {
                ["texts"] = new JsonArray("Capture and read a TLS 1.3 handshake in Wireshark."),
                ["content_type"] = "lab",
                ["content_id"] = "tls-wireshark",
                ["title"] = "TLS in Wireshark",
                ["description"] = "Watch a handshake packet by packet.",
                ["metadata"] = new JsonObject { ["topic"] = "cryptography" },
            }, null);
            o.Examples["postRecommendations"] = new(new JsonObject { ["user_id"] = 42, ["content_type"] = "lab", ["limit"] = 5 }, null);
            o.Examples["postPersonalityAnalyze"] = new(new JsonObject { ["user_id"] = 42 }, null);
        });
}
