using CyberHub.Web.Layout;

namespace CyberHub.Web.Tests.Unit;

public sealed class ToastsTests
{
    [Fact]
    public void The_same_message_is_shown_once_as_the_newest()
    {
        var toasts = new Toasts();
        toasts.Error("The AI service could not be reached.", "req-1");
        toasts.Success("Saved.");
        toasts.Error("The AI service could not be reached.", "req-2");
        toasts.Error("The AI service could not be reached.", "req-3");

        Assert.Equal(["Saved.", "The AI service could not be reached."], toasts.Shown.Select(t => t.Message));
        Assert.Equal("req-3", toasts.Shown[^1].RequestId);

        // A success and an error with the same words are different news.
        toasts.Success("The AI service could not be reached.");
        Assert.Equal(3, toasts.Shown.Count);

        toasts.DismissAll();
        Assert.Empty(toasts.Shown);
    }
}
