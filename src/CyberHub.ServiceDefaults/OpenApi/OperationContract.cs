using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Idempotency;
using CyberHub.ServiceDefaults.Limits;
using CyberHub.ServiceDefaults.Observability;
using CyberHub.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace CyberHub.ServiceDefaults.OpenApi;

/// <summary>
/// Completes one operation from its endpoint's metadata, so that every endpoint, including one added later, is
/// documented as it behaves:
/// <list type="bullet">
/// <item>who may call it (its authorization metadata and policies): no security requirement when anonymous, else the
/// bearer scheme with the roles its policies take (none: any signed-in account);</item>
/// <item>a stable <c>operationId</c>: the endpoint's name when it has one, else its method and route
/// (<c>GET /api/v1/progress/{id}/</c> → <c>getProgressById</c>);</item>
/// <item>the errors it can give, each with the shared <c>{"detail","request_id"}</c> body: 400 with a body or
/// parameters, 401/403 when it takes a token, 404 with an id in its path, 409/422 and <c>Idempotency-Key</c> when it
/// can replay an answer, 412 and <c>If-Match</c> / <c>ETag</c> where declared, 413/415 with a JSON body, 429 under
/// the rate limits, 503 when it needs a database, store or service, and what the endpoint declares itself
/// (<see cref="ErrorResponseMetadata"/>, or ASP.NET Core's <c>ProducesProblem</c>);</item>
/// <item>the <c>X-Request-ID</c> and <c>Retry-After</c> headers, and the examples of <see cref="CyberHubOpenApiOptions"/>.</item>
/// </list>
/// </summary>
internal static partial class OperationContract
{
    private const string Json = "application/json";

    public static async Task ApplyAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var description = context.Description;
        var metadata = description.ActionDescriptor.EndpointMetadata;
        var document = context.Document!;
        var path = "/" + RouteConstraint().Replace(description.RelativePath ?? "", "{$1}").TrimEnd('/');
        var method = (description.HttpMethod ?? "GET").ToLowerInvariant();

        operation.OperationId ??= OperationId(method, path);

        var (anonymous, roles) = await AccessAsync(metadata, context.ApplicationServices);
        operation.Security = anonymous
            ? []
            : [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(CyberHubOpenApi.BearerScheme, document)] = [.. roles] }];
        var who = anonymous ? "anyone, without a token" : roles.Count == 0 ? "any signed-in account (learner, content author, admin or service)" : Join(roles.Select(RoleName));
        operation.Description = string.IsNullOrEmpty(operation.Description)
            ? $"**Who may call:** {who}."
            : $"{operation.Description}\n\n**Who may call:** {who}.";

        var parameters = operation.Parameters ?? [];
        var hasParameters = parameters.Count > 0;
        var hasPathId = parameters.Any(p => p.In == ParameterLocation.Path);
        var hasBody = operation.RequestBody is not null;
        var idempotent = metadata.OfType<IdempotencyKeyMetadata>().Any();
        var entityTag = metadata.OfType<EntityTagMetadata>().FirstOrDefault();
        var api = path.StartsWith("/api/", StringComparison.Ordinal);
        var limited = RateLimitingExtensions.IsLimited(path);

        parameters.Add(new OpenApiParameter
        {
            Name = RequestIds.Header,
            In = ParameterLocation.Header,
            Description = "Your id for this request (1-128 of A-Z a-z 0-9 - _ .): kept in the logs of both services and in error bodies.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = RequestIds.MaxLength, Pattern = "^[A-Za-z0-9._-]{1,128}$" },
        });
        if (idempotent)
        {
            parameters.Add(new OpenApiParameter
            {
                Name = IdempotencyKeyHeader.Name,
                In = ParameterLocation.Header,
                Description = $"Makes a retry safe: a request with a key already answered (within {IdempotencyKeyHeader.Lifetime.TotalHours:0} h) gets the first answer again, "
                    + $"marked `{IdempotencyKeyHeader.Replayed}: true`, and changes nothing.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = IdempotencyKeyHeader.MaxLength },
            });
        }
        if (entityTag is { IfMatch: true })
        {
            parameters.Add(new OpenApiParameter
            {
                Name = "If-Match",
                In = ParameterLocation.Header,
                Description = "Change only if the entity is still at this version (its `ETag`); `*` or no header: any version.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            });
        }
        operation.Parameters = parameters;

        var errors = new SortedDictionary<int, string>();
        void Add(int status, string text) => errors[status] = errors.TryGetValue(status, out var before) ? $"{before} {text}" : text;
        if (hasBody || hasParameters || entityTag is { IfMatch: true })
        {
            Add(400, hasBody ? "Malformed JSON, or a missing or invalid field or parameter: `detail` names it." : "An invalid parameter: `detail` names it.");
        }
        if (!anonymous)
        {
            Add(401, "No valid access token: none sent, expired, revoked (account deactivated, password or roles changed) or not a CyberHub token; with `WWW-Authenticate: Bearer`.");
            Add(403, roles.Count > 0
                ? $"The token's roles do not include {Join(roles.Select(RoleName))}."
                : "The caller may not act on this resource (another learner's, or an operation for accounts called with a service token).");
        }
        if (hasPathId)
        {
            Add(404, "Nothing with that id, or nothing the caller may see.");
        }
        if (idempotent)
        {
            Add(409, "A request with the same Idempotency-Key is still being processed: retry after `Retry-After`.");
            Add(422, "The Idempotency-Key was already used with another body.");
        }
        if (entityTag is { IfMatch: true })
        {
            Add(412, "If-Match names an older version: fetch the entity again and retry.");
        }
        if (hasBody)
        {
            Add(413, $"The body is larger than the service accepts ({RequestLimits.Section}:MaxRequestBodyBytes).");
            Add(415, "The body is not sent as `application/json`.");
        }
        if (limited)
        {
            Add(429, "Too many requests from this caller: retry after `Retry-After`.");
        }
        if (api && !metadata.OfType<NoDependencyMetadata>().Any())
        {
            Add(503, "A database, store or service this operation needs is unavailable: retry shortly (after `Retry-After` when given).");
        }
        foreach (var declared in metadata.OfType<ErrorResponseMetadata>())
        {
            Add(declared.StatusCode, declared.Description);
        }

        var responses = operation.Responses ?? [];
        // Errors declared with ASP.NET Core's own metadata (ProducesProblem) are answered in CyberHub's shape too.
        foreach (var (code, response) in responses.ToList())
        {
            if (int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out var status) && status >= 400 && !errors.ContainsKey(status))
            {
                errors[status] = string.IsNullOrEmpty(response.Description) ? ErrorsDetails(status) : response.Description;
            }
        }
        var options = context.ApplicationServices.GetRequiredService<IOptions<CyberHubOpenApiOptions>>().Value;
        options.Examples.TryGetValue(operation.OperationId, out var example);

        var completed = new OpenApiResponses();
        foreach (var (code, response) in responses.Where(r => !IsError(r.Key)).OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            if (response is OpenApiResponse success)
            {
                success.Headers ??= new Dictionary<string, IOpenApiHeader>();
                success.Headers[RequestIds.Header] = Header(RequestIds.Header, document);
                if (entityTag is not null && code is "200" or "201")
                {
                    success.Headers[CyberHubOpenApi.ETagHeader] = Header(CyberHubOpenApi.ETagHeader, document);
                }
                if (example?.Response is { } answer && success.Content?.TryGetValue(Json, out var media) == true)
                {
                    media.Example = answer.DeepClone();
                }
            }
            completed[code] = response;
        }
        foreach (var (status, text) in errors)
        {
            var headers = new Dictionary<string, IOpenApiHeader> { [RequestIds.Header] = Header(RequestIds.Header, document) };
            if (status is 409 or 429 or 503)
            {
                headers[CyberHubOpenApi.RetryAfterHeader] = Header(CyberHubOpenApi.RetryAfterHeader, document);
            }
            completed[status.ToString(CultureInfo.InvariantCulture)] = new OpenApiResponse
            {
                Description = text,
                Headers = headers,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    [Json] = new() { Schema = new OpenApiSchemaReference(CyberHubOpenApi.ErrorSchema, document) },
                },
            };
        }
        operation.Responses = completed;

        if (example?.Request is { } request && operation.RequestBody?.Content?.TryGetValue(Json, out var body) == true)
        {
            body.Example = request.DeepClone();
        }
    }

    private static bool IsError(string code) => code.Length == 3 && code[0] is '4' or '5';

    private static string ErrorsDetails(int status) => Errors.ErrorDetails.ForStatus(status);

    private static OpenApiHeaderReference Header(string name, OpenApiDocument document) => new(name, document);

    /// <summary>Whether anyone may call, and otherwise the roles that may (empty: any signed-in account).</summary>
    private static async Task<(bool Anonymous, IReadOnlyList<string> Roles)> AccessAsync(IList<object> metadata, IServiceProvider services)
    {
        if (metadata.OfType<IAllowAnonymous>().Any())
        {
            return (true, []);
        }
        var authorize = metadata.OfType<IAuthorizeData>().ToList();
        var policies = metadata.OfType<AuthorizationPolicy>().ToList();
        if (authorize.Count == 0 && policies.Count == 0)
        {
            // No fallback policy: an endpoint without authorization metadata is open.
            return (true, []);
        }
        var provider = services.GetRequiredService<IAuthorizationPolicyProvider>();
        var policy = await AuthorizationPolicy.CombineAsync(provider, authorize, policies);
        // Every roles requirement must hold: the roles that satisfy all of them.
        IEnumerable<string>? roles = null;
        foreach (var requirement in policy?.Requirements.OfType<RolesAuthorizationRequirement>() ?? [])
        {
            roles = roles is null ? requirement.AllowedRoles : roles.Intersect(requirement.AllowedRoles, StringComparer.Ordinal);
        }
        return (false, roles?.OrderBy(r => Roles.All.ToList().IndexOf(r)).ToList() ?? []);
    }

    private static string RoleName(string role) => role switch
    {
        Roles.ContentCreator => "content author (content_creator)",
        _ => role,
    };

    private static string Join(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count <= 1 ? string.Concat(list) : $"{string.Join(", ", list[..^1])} or {list[^1]}";
    }

    /// <summary><c>post</c> + <c>/api/v1/organizations/{id}/members/{userId}</c> → <c>postOrganizationsByIdMembersByUserId</c>.</summary>
    internal static string OperationId(string method, string path)
    {
        var id = new StringBuilder(method.ToLowerInvariant());
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var skip = segments is ["api", var version, ..] && version.StartsWith('v') ? 2 : 0;
        foreach (var segment in segments.Skip(skip))
        {
            if (segment.StartsWith('{'))
            {
                id.Append("By");
                id.Append(Pascal(segment.Trim('{', '}')));
            }
            else
            {
                id.Append(Pascal(segment));
            }
        }
        return id.ToString();
    }

    private static string Pascal(string text)
    {
        var result = new StringBuilder();
        var upper = true;
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                upper = true;
                continue;
            }
            result.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }
        return result.ToString();
    }

    /// <summary><c>{id:long}</c> → <c>{id}</c>, <c>{page?}</c> → <c>{page}</c>.</summary>
    [GeneratedRegex(@"\{\*{0,2}([A-Za-z0-9_]+)[^}]*\}")]
    private static partial Regex RouteConstraint();
}
