using Microsoft.AspNetCore.Components;

namespace CyberHub.Web.Layout;

/// <summary>The destination remembered across a login: a path inside the app, never another site.</summary>
public static class ReturnUrl
{
    public static string LoginFor(NavigationManager navigation)
    {
        var here = "/" + navigation.ToBaseRelativePath(navigation.Uri);
        return here.StartsWith("/login", StringComparison.Ordinal)
            ? "login"
            : navigation.GetUriWithQueryParameters(navigation.BaseUri + "login", new Dictionary<string, object?> { ["returnUrl"] = here });
    }

    /// <summary><paramref name="candidate"/> when it is a local path ("/insights"), else the dashboard.</summary>
    public static string Safe(string? candidate) =>
        candidate is { Length: > 1 } && candidate[0] == '/' && candidate[1] is not '/' and not '\\' && !candidate.StartsWith("/login", StringComparison.Ordinal)
            ? candidate.TrimStart('/')
            : "dashboard";
}
