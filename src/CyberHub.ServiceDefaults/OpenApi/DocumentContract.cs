using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace CyberHub.ServiceDefaults.OpenApi;

/// <summary>
/// The document as a whole: title, description and licence; the server is the service's public address
/// (<c>CYBERHUB_CORE_PUBLIC_URL</c> / <c>CYBERHUB_AI_PUBLIC_URL</c>, else its listen address; never the request's
/// <c>Host</c>), the tags' descriptions, and the components the operations refer to: the bearer scheme, the error
/// schema and the shared headers.
/// </summary>
internal static class DocumentContract
{
    public static Task Apply(OpenApiDocument document, OpenApiDocumentTransformerContext context, OpenApiLicense license)
    {
        var services = context.ApplicationServices;
        var options = services.GetRequiredService<IOptions<CyberHubOpenApiOptions>>().Value;

        document.Info.Title = options.Title;
        document.Info.Version = "v1";
        document.Info.Description = options.Description.TrimEnd() + "\n" + CyberHubOpenApi.CommonDescription;
        document.Info.License = license;

        if (services.GetService<PublicBaseUrl>() is { } publicUrl)
        {
            document.Servers = [new OpenApiServer { Url = publicUrl.Value.TrimEnd('/') }];
        }

        foreach (var tag in document.Tags ?? new HashSet<OpenApiTag>())
        {
            if (tag.Name is not null && options.Tags.TryGetValue(tag.Name, out var text))
            {
                tag.Description = text;
            }
        }

        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[CyberHubOpenApi.BearerScheme] = CyberHubOpenApi.BearerSecurityScheme();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[CyberHubOpenApi.ErrorSchema] = CyberHubOpenApi.ErrorResponseSchema();
        document.Components.Headers ??= new Dictionary<string, IOpenApiHeader>();
        var used = UsedHeaders(document);
        foreach (var (name, header) in CyberHubOpenApi.ResponseHeaders().Where(h => used.Contains(h.Key)))
        {
            document.Components.Headers[name] = header;
        }
        // ASP.NET Core's problem-details schemas, left behind by ProducesProblem metadata that the error responses replaced.
        foreach (var unused in new[] { "ProblemDetails", "HttpValidationProblemDetails" })
        {
            document.Components.Schemas.Remove(unused);
        }
        return Task.CompletedTask;
    }

    /// <summary>The shared headers the operations' responses refer to: only those are components.</summary>
    private static HashSet<string> UsedHeaders(OpenApiDocument document)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in document.Paths.Values)
        {
            foreach (var operation in (IEnumerable<OpenApiOperation>?)path.Operations?.Values ?? [])
            {
                foreach (var response in (IEnumerable<IOpenApiResponse>?)operation.Responses?.Values ?? [])
                {
                    foreach (var header in (IEnumerable<KeyValuePair<string, IOpenApiHeader>>?)response.Headers ?? [])
                    {
                        if (header.Value is OpenApiHeaderReference reference && reference.Reference.Id is { } id)
                        {
                            used.Add(id);
                        }
                    }
                }
            }
        }
        return used;
    }
}
