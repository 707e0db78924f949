using CyberHub.Contracts;
using Microsoft.AspNetCore.Components;

namespace CyberHub.Web.Layout;

/// <summary>The destination remembered across a login: a page of the app, never another site (<see cref="ReturnAddress"/>).</summary>
public static class ReturnUrl
{
    /// <summary>Where the app leaves a message for the sign-in page (sessionStorage), which shows it as a toast.</summary>
    public const string NoticeKey = "cyberhub.notice";

    /// <summary>The login page's address, remembering where the user is now (unless that is the login page).</summary>
    public static string LoginFor(NavigationManager navigation)
    {
        var here = "/" + navigation.ToBaseRelativePath(navigation.Uri);
        return here.StartsWith("/login", StringComparison.Ordinal)
            ? "login"
            : navigation.GetUriWithQueryParameters(navigation.BaseUri + "login", new Dictionary<string, object?> { ["returnUrl"] = here });
    }

    /// <inheritdoc cref="ReturnAddress.Safe"/>
    public static string Safe(string? candidate, string baseUri) => ReturnAddress.Safe(candidate, baseUri);
}
