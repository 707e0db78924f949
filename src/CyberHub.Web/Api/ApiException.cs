namespace CyberHub.Web.Api;

/// <summary>
/// A call the service refused or could not answer. <see cref="Exception.Message"/> is the service's own
/// <c>detail</c> (or a sentence saying the service could not be reached), fit to show as it is;
/// <see cref="RequestId"/> finds the request in the services' logs. <see cref="Status"/> is 0 when nothing answered.
/// </summary>
public sealed class ApiException(int status, string detail, string? requestId = null) : Exception(detail)
{
    public int Status { get; } = status;

    public string? RequestId { get; } = requestId;

    /// <summary>The field a <c>"field: problem"</c> detail names (<c>email</c>, <c>password</c>...), if any.</summary>
    public string? Field
    {
        get
        {
            var colon = Message.IndexOf(':');
            return colon > 0 && Message[..colon].All(c => char.IsAsciiLetterLower(c) || c == '_') ? Message[..colon] : null;
        }
    }

    /// <summary>The detail, when it names one of <paramref name="fields"/>: to show beside that control.</summary>
    public string? MessageFor(params string[] fields) => Field is { } field && fields.Contains(field) ? Message : null;
}
