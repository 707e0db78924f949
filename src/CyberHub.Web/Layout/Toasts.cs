using CyberHub.Web.Api;

namespace CyberHub.Web.Layout;

public enum ToastKind
{
    Success,
    Error,
}

public sealed record Toast(int Id, ToastKind Kind, string Message, string? RequestId);

/// <summary>Short messages in the corner: confirmations, and errors with the service's detail and request id.</summary>
public sealed class Toasts
{
    private readonly List<Toast> _shown = [];
    private int _next;

    public IReadOnlyList<Toast> Shown => _shown;

    public event Action? Changed;

    public void Success(string message) => Show(ToastKind.Success, message, null, TimeSpan.FromSeconds(5));

    public void Error(string message, string? requestId = null) => Show(ToastKind.Error, message, requestId, TimeSpan.FromSeconds(12));

    public void Error(ApiException error) => Error(error.Message, error.RequestId);

    public void Dismiss(int id)
    {
        if (_shown.RemoveAll(t => t.Id == id) > 0)
        {
            Changed?.Invoke();
        }
    }

    /// <summary>Closes every toast (Escape does).</summary>
    public void DismissAll()
    {
        if (_shown.Count > 0)
        {
            _shown.Clear();
            Changed?.Invoke();
        }
    }

    /// <summary>
    /// A message already on screen is not stacked again: one failure reported by several requests (an unreachable
    /// service, say) shows once, as the newest, with the latest request id and a fresh lifetime.
    /// </summary>
    private void Show(ToastKind kind, string message, string? requestId, TimeSpan lifetime)
    {
        var toast = new Toast(++_next, kind, message, requestId);
        _shown.RemoveAll(t => t.Kind == kind && t.Message == message);
        _shown.Add(toast);
        if (_shown.Count > 4)
        {
            _shown.RemoveAt(0);
        }
        Changed?.Invoke();
        _ = DismissLaterAsync(toast.Id, lifetime);
    }

    private async Task DismissLaterAsync(int id, TimeSpan after)
    {
        await Task.Delay(after);
        Dismiss(id);
    }
}
