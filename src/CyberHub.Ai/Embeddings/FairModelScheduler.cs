namespace CyberHub.Ai.Embeddings;

/// <summary>
/// Who runs the model next. One batch runs at a time (each run already spreads over every core); callers waiting for
/// the model are served round robin, one batch each per round, so a search query waits for at most the batch running
/// now and one batch of each other waiting caller, never for the rest of somebody's 256-text request.
/// </summary>
public sealed class FairModelScheduler
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<TaskCompletionSource<Turn>>> _waiting = new(StringComparer.Ordinal);
    private readonly Queue<string> _round = new();
    private bool _busy;

    /// <summary>Raised, under the scheduler's lock, with the caller about to run one batch: the order of service.</summary>
    public event Action<string>? Granted;

    /// <summary>Callers waiting for the model now.</summary>
    public int WaitingCallers
    {
        get
        {
            lock (_gate)
            {
                return _round.Count;
            }
        }
    }

    /// <summary>Waits for <paramref name="caller"/>'s turn at the model; dispose the turn when the batch is done.</summary>
    public Task<Turn> TurnAsync(string caller, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_busy)
            {
                _busy = true;
                Granted?.Invoke(caller);
                return Task.FromResult(new Turn(this));
            }
            var waiter = new TaskCompletionSource<Turn>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_waiting.TryGetValue(caller, out var queue))
            {
                _waiting[caller] = queue = new Queue<TaskCompletionSource<Turn>>();
                _round.Enqueue(caller);
            }
            queue.Enqueue(waiter);
            if (cancellationToken.CanBeCanceled)
            {
                // A cancelled waiter stays queued and is skipped when its turn comes.
                var registration = cancellationToken.Register(static state => ((TaskCompletionSource<Turn>)state!).TrySetCanceled(), waiter);
                waiter.Task.ContinueWith(static (_, state) => ((CancellationTokenRegistration)state!).Dispose(), registration,
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            return waiter.Task;
        }
    }

    private void Release()
    {
        lock (_gate)
        {
            while (_round.TryDequeue(out var caller))
            {
                var queue = _waiting[caller];
                var waiter = queue.Dequeue();
                if (queue.Count > 0)
                {
                    _round.Enqueue(caller);
                }
                else
                {
                    _waiting.Remove(caller);
                }
                if (waiter.Task.IsCompleted)
                {
                    continue;
                }
                if (waiter.TrySetResult(new Turn(this)))
                {
                    Granted?.Invoke(caller);
                    return;
                }
            }
            _busy = false;
        }
    }

    /// <summary>The model, for one batch.</summary>
    public sealed class Turn(FairModelScheduler scheduler) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                scheduler.Release();
            }
        }
    }
}
