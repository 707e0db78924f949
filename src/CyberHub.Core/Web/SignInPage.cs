using System.Text.Encodings.Web;
using CyberHub.Contracts;
using Microsoft.AspNetCore.Http;

namespace CyberHub.Core.Web;

/// <summary>
/// The sign-in page (<c>/login</c>), rendered here as plain HTML so it paints and works without the web app's
/// WebAssembly runtime: a visitor on a phone signs in while the runtime has not even been fetched. Its one small
/// script (<c>js/login.js</c>, with <see cref="PageFrame"/>'s shared one) checks the fields with the messages written into the page from
/// <see cref="FieldRules"/>, asks Core for a token pair, keeps it where the app keeps it, and goes to the destination
/// decided here by <see cref="ReturnAddress"/> (the app's own rule, so the script never judges an address itself).
/// The markup is the app's: its stylesheet, top bar, fields and errors look and behave as in the app.
/// </summary>
public static class SignInPage
{
    private static readonly HtmlEncoder Html = PageFrame.Html;

    /// <summary>The page for this request (<c>?returnUrl=</c> decides where a successful sign-in goes).</summary>
    public static string Render(HttpRequest request)
    {
        // Only the path is sent, and the browser resolves it against this page: on this origin whatever the Host
        // header said, so any origin serves to decide it.
        var destination = new Uri(ReturnAddress.Safe(request.Query["returnUrl"].FirstOrDefault(), "https://app.invalid" + PageFrame.BaseHref(request)));
        var go = destination.PathAndQuery + destination.Fragment;

        return PageFrame.Render(request, "Log in", "js/login.js",
            attributes: $" data-return=\"{Html.Encode(go)}\"",
            navigation: """
                            <li><a href="login" class="active" aria-current="page">Log in</a></li>
                            <li><a href="register">Register</a></li>
            """,
            main: $"""
                    <section class="page narrow">
                        <h1>Log in</h1>
                        <form class="form" id="login-form" method="post" novalidate>
                            <div class="field">
                                <label for="login">Email or username</label>
                                <input id="login" name="login" autocomplete="username" required data-field="login" data-missing="{Html.Encode(Missing(FieldRules.Required(null, "login")))}" />
                            </div>
                            <div class="field">
                                <label for="password">Password</label>
                                <input id="password" name="password" type="password" autocomplete="current-password" required data-field="password" data-missing="{Html.Encode(Missing(FieldRules.CurrentPassword(null)))}" />
                            </div>
                            <button type="submit" class="button primary">Log in</button>
                        </form>
                        <p>New to CyberHub? <a href="register">Create an account</a>.</p>
                    </section>
            """);
    }

    private static string Missing(FieldProblem? problem) =>
        problem?.Plain ?? throw new InvalidOperationException("An empty field must be a problem.");
}
