using Microsoft.EntityFrameworkCore;

namespace CyberHub.Core.Data;

/// <summary>
/// SQLite admits one writer at a time (<c>BEGIN IMMEDIATE</c>), and a writer that finds the lock taken waits inside
/// SQLite's busy handler (<see cref="SqliteBusyTimeout"/>): asleep on a thread-pool thread, retrying in back-off steps
/// of up to 100 ms. Under many progress writes at once that gave a tail of half a second, and the sleeping threads
/// starved the pool the requests run on. Progress writes, by far the most frequent writers, queue here instead:
/// asynchronously (no thread waits), in the order they came, each let in when the one before has committed, so the
/// database's lock is free when it is asked for. A PATCH reads and changes its record before its turn and holds the turn only
/// for the write (see <c>ProgressService.UpdateAsync</c>). On PostgreSQL, whose locks let different learners' writes run at
/// once, everyone goes straight through.
/// </summary>
public sealed class SqliteWriteGate
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private int _waiting;

    /// <summary>How many writers wait for their turn now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Waits for this writer's turn on SQLite; dispose the turn after the transaction has ended.</summary>
    public async ValueTask<Turn> EnterAsync(CoreDbContext db, CancellationToken cancellationToken)
    {
        if (db.OnPostgres)
        {
            return default;
        }
        Interlocked.Increment(ref _waiting);
        try
        {
            await _turn.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
        return new Turn(_turn);
    }

    /// <summary>A writer's turn; disposing it lets the next one in (the default turn, on PostgreSQL, holds nothing).</summary>
    public readonly struct Turn : IDisposable
    {
        private readonly SemaphoreSlim? _turn;

        internal Turn(SemaphoreSlim turn) => _turn = turn;

        public void Dispose() => _turn?.Release();
    }
}
