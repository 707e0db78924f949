using System.Globalization;

namespace CyberHub.Contracts;

/// <summary>
/// The destination remembered across a login (<c>/login?returnUrl=</c>): a page of the app, never another site.
/// Core's sign-in page and the web app decide it with this one rule.
/// </summary>
public static class ReturnAddress
{
    private const string Fallback = "dashboard";

    /// <summary>How many times a candidate is percent-decoded to look for what it hides; more layers than this are refused.</summary>
    private const int MaxDecodings = 4;

    /// <summary>
    /// Where to go after logging in: the absolute address of <paramref name="candidate"/> under <paramref name="baseUri"/>
    /// (the app's own origin and base path) when it is a path of the app ("/insights", "/content/lab/x?tab=2"),
    /// else the dashboard. Decided by parsing: the candidate must be a relative reference with a rooted path and no
    /// scheme or authority, free of backslashes, control characters and empty segments (<c>//</c>), also once
    /// percent-decoded, and must resolve to the base's origin, inside its path, to a page other than the login page.
    /// </summary>
    public static string Safe(string? candidate, string baseUri)
    {
        var origin = new Uri(baseUri, UriKind.Absolute);
        var fallback = new Uri(origin, Fallback).AbsoluteUri;
        return Resolve(candidate, origin)?.AbsoluteUri ?? fallback;
    }

    private static Uri? Resolve(string? candidate, Uri origin)
    {
        if (string.IsNullOrEmpty(candidate) || candidate.Length > 2048 || candidate[0] != '/' || !Plain(candidate))
        {
            return null;
        }
        // Every decoding of the candidate must be as plain as the candidate: %2F%2F, %5C, %09, %252F%252F...
        var decoded = candidate;
        for (var i = 0; ; i++)
        {
            var next = Uri.UnescapeDataString(decoded);
            if (next == decoded)
            {
                break;
            }
            if (i == MaxDecodings || !Plain(next) || !next.StartsWith('/'))
            {
                return null;
            }
            decoded = next;
        }
        if (!Uri.TryCreate(candidate, UriKind.Relative, out _))
        {
            return null;
        }
        // "./" keeps the first segment a path even when it looks like a scheme ("javascript:...").
        if (!Uri.TryCreate(origin, "./" + candidate[1..], out var target))
        {
            return null;
        }
        var sameOrigin = target.Scheme == origin.Scheme
            && string.Equals(target.IdnHost, origin.IdnHost, StringComparison.OrdinalIgnoreCase)
            && target.Port == origin.Port
            && target.UserInfo.Length == 0;
        if (!sameOrigin || !target.AbsolutePath.StartsWith(origin.AbsolutePath, StringComparison.Ordinal))
        {
            return null;
        }
        var page = target.AbsolutePath[origin.AbsolutePath.Length..];
        var first = page.Split('/')[0];
        return page.Length == 0 || string.Equals(Uri.UnescapeDataString(first), "login", StringComparison.OrdinalIgnoreCase) ? null : target;
    }

    /// <summary>No backslash, no empty path segment, no control, format or line-separator character.</summary>
    private static bool Plain(string value)
    {
        if (value.Contains('\\') || value.Contains("//", StringComparison.Ordinal))
        {
            return false;
        }
        foreach (var c in value)
        {
            if (char.IsControl(c) || char.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.LineSeparator
                    or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned)
            {
                return false;
            }
        }
        return true;
    }
}
