using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using CyberHub.ServiceDefaults.Observability;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace CyberHub.ServiceDefaults.OpenApi;

/// <summary>What a service says about itself in its OpenAPI document; the rest is read from its endpoints.</summary>
public sealed class CyberHubOpenApiOptions
{
    public string Title { get; set; } = "CyberHub API";

    /// <summary>Markdown, shown above the operations; how to authenticate and what errors look like are added to it.</summary>
    public string Description { get; set; } = "";

    /// <summary>A description for each tag (<c>WithTags</c>) the service's endpoints use.</summary>
    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);

    /// <summary>Request and response examples of the main flows, by operationId.</summary>
    public Dictionary<string, OperationExample> Examples { get; } = new(StringComparer.Ordinal);
}

/// <summary>An example request body and the answer to it (either may be null).</summary>
public sealed record OperationExample(JsonNode? Request, JsonNode? Response);

/// <summary>
/// The OpenAPI documents (<c>/openapi/v1.json</c>) and their reference UI (<c>/docs</c>). The documents are completed
/// from the endpoints themselves (see <see cref="OperationContract"/>): who may call each operation, its operationId,
/// the errors it can give and the headers that go with them, so an endpoint added later is documented as it behaves.
/// </summary>
public static class CyberHubOpenApi
{
    public const string DocumentPath = "/openapi/{documentName}.json";
    public const string DocsPath = "/docs";
    public const string BearerScheme = "bearer";
    public const string ErrorSchema = "Error";
    public const string RetryAfterHeader = "Retry-After";
    public const string ETagHeader = "ETag";

    /// <summary><c>OpenApi:LicenseName</c> and <c>OpenApi:LicenseUrl</c>: the licence the documents state.</summary>
    public const string Section = "OpenApi";

    public static IServiceCollection AddCyberHubOpenApi(this IServiceCollection services, IConfiguration configuration)
    {
        var license = new OpenApiLicense
        {
            Name = configuration[$"{Section}:LicenseName"] is { Length: > 0 } name ? name : "Proprietary",
        };
        if (configuration[$"{Section}:LicenseUrl"] is { Length: > 0 } url)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var licenseUrl))
            {
                throw new InvalidOperationException($"{Section}:LicenseUrl must be an absolute URL.");
            }
            license.Url = licenseUrl;
        }
        else
        {
            // An SPDX reference: not an open-source licence, and no text to link to.
            license.Identifier = "LicenseRef-" + new string(license.Name.Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.').ToArray());
        }
        services.AddOptions<CyberHubOpenApiOptions>();
        services.AddOpenApi(options =>
        {
            options.AddSchemaTransformer(OptionalNullableProperties);
            options.AddOperationTransformer(OperationContract.ApplyAsync);
            options.AddDocumentTransformer((document, context, ct) => DocumentContract.Apply(document, context, license));
        });
        return services;
    }

    /// <summary>
    /// A property whose type admits null (<c>string?</c>, <c>int?</c>) may be left out: the services check what a request
    /// must have themselves and answer 400 naming the field. Left as the schema generator has them, every parameter of a
    /// record's constructor would be required, and a partial update (PATCH) could not be written as the document says.
    /// </summary>
    private static Task OptionalNullableProperties(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonTypeInfo.Kind == JsonTypeInfoKind.Object && schema.Required is { Count: > 0 } required)
        {
            foreach (var property in context.JsonTypeInfo.Properties)
            {
                if (property.IsSetNullable && !property.IsRequired)
                {
                    required.Remove(property.Name);
                }
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>The documents and the UI; the UI starts with the bearer scheme selected, so a pasted token is sent with every call tried.</summary>
    public static WebApplication MapCyberHubOpenApi(this WebApplication app)
    {
        app.MapOpenApi(DocumentPath);
        app.MapScalarApiReference(DocsPath, options => options
            .AddPreferredSecuritySchemes(BearerScheme)
            .AddHttpAuthentication(BearerScheme, scheme => scheme.Token = "")
            .EnablePersistentAuthentication());
        return app;
    }

    /// <summary>What every document starts with: how to get and send a token, and the shape of every error.</summary>
    internal const string CommonDescription = """

        ## Authentication
        Most operations need an access token: log in with `POST /api/v1/token` on Core (or register with
        `POST /api/v1/users`), then send the `access` token as `Authorization: Bearer <token>`. The same token works on
        both services. An access token lasts 15 minutes; `POST /api/v1/token/refresh` exchanges the refresh token for a
        new pair. Machine callers exchange a service client's credentials at `POST /api/v1/token/service`. In the
        reference UI at `/docs`, paste the token under **Authentication** (Bearer) and every call you try carries it.

        Each operation lists who may call it: anonymous (no security requirement), any signed-in account (learner,
        content author, admin or service), or the roles named in its security requirement.

        ## Errors
        Every error is `{"detail": "...", "request_id": "..."}`: `detail` says what was wrong (naming the field), and
        `request_id` is the request's `X-Request-ID` (sent by you, or made up by the service) that finds it in both
        services' logs. A 429, and a 503 where the service knows when to come back, carry `Retry-After` in seconds.
        """;

    internal static OpenApiSecurityScheme BearerSecurityScheme() => new()
    {
        Type = SecuritySchemeType.Http,
        Scheme = "bearer",
        BearerFormat = "JWT",
        Description = "A CyberHub access token (ES256 JWT) from `POST /api/v1/token`, `POST /api/v1/users` or `POST /api/v1/token/service`. "
            + "A bearer requirement names the roles the operation takes; none means any signed-in account.",
    };

    internal static OpenApiSchema ErrorResponseSchema() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "The one error shape of every CyberHub service.",
        Required = new HashSet<string> { "detail", "request_id" },
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "What was wrong, naming the field or value." },
            ["request_id"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = $"The request's {RequestIds.Header}: quote it when reporting a problem." },
        },
        Examples = [new JsonObject { ["detail"] = "Not found.", ["request_id"] = "4bf92f3577b34da6a3ce929d0e0e4736" }],
    };

    internal static Dictionary<string, IOpenApiHeader> ResponseHeaders() => new(StringComparer.Ordinal)
    {
        [RequestIds.Header] = new OpenApiHeader
        {
            Description = "The request's id: the caller's own when it sent a valid one (1-128 of A-Z a-z 0-9 - _ .), else one made up.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = RequestIds.MaxLength },
        },
        [RetryAfterHeader] = new OpenApiHeader
        {
            Description = "Seconds to wait before trying again.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "0" },
        },
        [ETagHeader] = new OpenApiHeader
        {
            Description = "The entity's version, for If-Match on a later change.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String },
        },
    };
}
