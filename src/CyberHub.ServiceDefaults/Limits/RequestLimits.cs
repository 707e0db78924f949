using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace CyberHub.ServiceDefaults.Limits;

/// <summary>
/// How much a request may carry (<c>Limits</c> section). A body past <c>MaxRequestBodyBytes</c> is refused with 413
/// <c>{"detail"}</c> as it is read. Core's largest valid body (16 KB of metadata, a 2,000-character bio) is far under
/// 1 MB. AI's is an <c>/embeddings</c> call with 256 texts of 8,000 characters: 2.1 MB in ASCII, 6.2 MB as raw UTF-8
/// of non-Latin text, 12.3 MB when every character is escaped as <c>\uXXXX</c> (as .NET's serializer sends non-ASCII);
/// 16 MB leaves room for that. Header limits are Kestrel's (32 KB of headers, an 8 KB request line): past them
/// Kestrel itself answers 431 or 414, before any of CyberHub's code runs.
/// </summary>
public static class RequestLimits
{
    public const string Section = "Limits";
    public const long CoreMaxRequestBodyBytes = 1024 * 1024;
    public const long AiMaxRequestBodyBytes = 16 * 1024 * 1024;

    public static long DefaultMaxRequestBodyBytes(string applicationName) =>
        applicationName == "CyberHub.Ai" ? AiMaxRequestBodyBytes : CoreMaxRequestBodyBytes;

    public static WebApplicationBuilder AddCyberHubRequestLimits(this WebApplicationBuilder builder)
    {
        var configured = builder.Configuration.GetValue<long?>($"{Section}:MaxRequestBodyBytes");
        if (configured is <= 0)
        {
            throw new InvalidOperationException($"{Section}:MaxRequestBodyBytes must be a positive number of bytes.");
        }
        var maxBody = configured ?? DefaultMaxRequestBodyBytes(builder.Environment.ApplicationName);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxBody);
        builder.Services.Configure<JsonOptions>(o => StrictRequestJson.Configure(o.SerializerOptions));
        // The metadata converter hides from the documents that metadata is an object; say it again.
        builder.Services.ConfigureAll<OpenApiOptions>(o => o.AddSchemaTransformer((schema, context, _) =>
        {
            if (context.JsonTypeInfo.Type == typeof(JsonObject))
            {
                schema.Type = JsonSchemaType.Object;
            }
            return Task.CompletedTask;
        }));
        return builder;
    }
}
