using System.Reflection;
using System.Text.Json;
using CyberHub.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CyberHub.Core.Organizations;

/// <summary>
/// A <see cref="PagedResponse{T}"/> whose results were serialized once, when the page was computed and kept: the answer
/// writes the count and links of this request around those bytes, so a kept page costs no serialization per request.
/// Written as <c>Ok(PagedResponse&lt;T&gt;)</c> would write it, and described so in the OpenAPI document.
/// </summary>
public sealed class PagedJson<T>(PagedResponse<T> page, ReadOnlyMemory<byte> results) : IResult, IEndpointMetadataProvider
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var options = httpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        httpContext.Response.StatusCode = StatusCodes.Status200OK;
        httpContext.Response.ContentType = "application/json; charset=utf-8";
        await using var writer = new Utf8JsonWriter(httpContext.Response.BodyWriter, new JsonWriterOptions { Encoder = options.Encoder, SkipValidation = true });
        writer.WriteStartObject();
        writer.WriteNumber(Name(options, nameof(PagedResponse<T>.Count)), page.Count);
        WriteString(writer, Name(options, nameof(PagedResponse<T>.Next)), page.Next);
        WriteString(writer, Name(options, nameof(PagedResponse<T>.Previous)), page.Previous);
        writer.WritePropertyName(Name(options, nameof(PagedResponse<T>.Results)));
        writer.WriteRawValue(results.Span, skipInputValidation: true);
        writer.WriteEndObject();
        await writer.FlushAsync(httpContext.RequestAborted);
        await httpContext.Response.BodyWriter.FlushAsync(httpContext.RequestAborted);
    }

    private static string Name(JsonSerializerOptions options, string property) => options.PropertyNamingPolicy?.ConvertName(property) ?? property;

    private static void WriteString(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(PagedResponse<T>), ["application/json"]));
}
