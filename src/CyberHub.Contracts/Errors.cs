using System.Text.Json.Serialization;

namespace CyberHub.Contracts;

/// <summary>
/// The one error shape every CyberHub service answers with. <see cref="RequestId"/> is the request's
/// <c>X-Request-ID</c>, to quote when reporting a problem; it finds the request in both services' logs.
/// </summary>
public sealed record ErrorResponse(
    string Detail,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RequestId = null);
