using BenchmarkDotNet.Attributes;
using CyberHub.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace CyberHub.Bench.Micro;

/// <summary>
/// What the security headers add to each answer: <see cref="SecurityHeaders.Apply"/>, the step that runs as every
/// response starts, on an API answer (six headers plus <c>Cache-Control: no-store</c>). The baseline builds the same
/// response without them (a new context with its path, content type and length), so the difference is the headers'
/// own cost. Not included: registering the start callback, one list entry per request.
/// </summary>
[MemoryDiagnoser]
public class SecurityHeadersBenchmarks
{
    private readonly SecurityHeaders _headers = new(new ConfigurationBuilder().Build());

    [Benchmark(Baseline = true, Description = "API response, no security headers")]
    public int Bare() => NewResponse().Response.Headers.Count;

    [Benchmark(Description = "API response with the security headers")]
    public int WithSecurityHeaders()
    {
        var http = NewResponse();
        _headers.Apply(http);
        return http.Response.Headers.Count;
    }

    private static DefaultHttpContext NewResponse()
    {
        var http = new DefaultHttpContext();
        http.Request.Path = "/api/v1/progress/";
        http.Response.ContentType = "application/json; charset=utf-8";
        http.Response.ContentLength = 512;
        return http;
    }
}
