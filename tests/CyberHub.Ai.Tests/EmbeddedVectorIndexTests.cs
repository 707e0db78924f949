using System.Diagnostics;
using System.Globalization;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Ai.VectorStore;
using CyberHub.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static CyberHub.Ai.Tests.Infrastructure.SyntheticContent;

namespace CyberHub.Ai.Tests;

/// <summary>
/// The embedded store's approximate index and vector file across restarts: saved beside the SQLite file, opened (with
/// the writes logged since replayed) rather than rebuilt; a missing, corrupt or stale file is rebuilt, never a failure;
/// a file from the version before the index, before the vector file, or with the item vector inside the item's row,
/// upgrades in place; a build that fails is tried again without a restart.
/// </summary>
public sealed class EmbeddedVectorIndexTests : IDisposable
{
    // Only to turn a wait that would never end into a failure.
    private static readonly TimeSpan Hung = TimeSpan.FromMinutes(2);

    // Short waits between tries, so that a test sees the next try.
    private static readonly RetrySchedule Quick = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1));

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "cyberhub-tests", "index-" + Guid.NewGuid().ToString("N"));
    private readonly List<EmbeddedVectorStore> _stores = [];

    private string DatabasePath => Path.Combine(_directory, "vectors.db");

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_restart_loads_the_saved_index_and_answers_as_before()
    {
        var (store, vectors, topics) = await SeededAsync(600);
        var queries = Enumerable.Range(0, 5).Select(_ => topics.Next()).ToArray();
        var before = await TopKeysAsync(store, queries);
        store.Dispose();
        Assert.Single(IndexFiles());

        var reopened = await OpenAsync();

        Assert.Equal("loaded", reopened.IndexStart);
        Assert.True(reopened.IndexComplete);
        Assert.Equal(before, await TopKeysAsync(reopened, queries));
        Assert.Equal(ExactTop(vectors, queries[0], 10), (await reopened.SearchAsync(queries[0], 10)).Select(h => Key(h.Content)));
    }

    [Fact]
    public async Task Writes_after_the_last_save_are_replayed_from_the_log()
    {
        var (store, vectors, topics) = await SeededAsync(600);
        store.Dispose();
        var writer = await OpenAsync();
        var query = topics.Next();
        var top = ExactTop(vectors, query, 10);
        Assert.True(await writer.DeleteAsync(top[0]));
        vectors.Remove(top[0]);
        var added = new ContentKey("lab", "added-after-save");
        await writer.UpsertAsync(Record(added.ContentType, added.ContentId), [query]);
        vectors[added] = query;

        // A second instance sees the writes in SQLite but only the index file saved before them: it must replay them
        // (as after a crash, when the writer never saved).
        var reopened = await OpenAsync();

        Assert.Equal("loaded", reopened.IndexStart);
        var hits = (await reopened.SearchAsync(query, 10)).Select(h => Key(h.Content)).ToList();
        Assert.Equal(ExactTop(vectors, query, 10), hits);
        Assert.Equal(added, hits[0]);
        Assert.DoesNotContain(top[0], hits);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("corrupt")]
    [InlineData("empty")]
    public async Task A_missing_or_unreadable_index_is_rebuilt(string damage)
    {
        var (store, vectors, topics) = await SeededAsync(600);
        store.Dispose();
        var file = Assert.Single(IndexFiles());
        switch (damage)
        {
            case "missing": File.Delete(file); break;
            case "corrupt": File.WriteAllBytes(file, [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 31))]); break;
            case "empty": File.WriteAllBytes(file, []); break;
        }

        var reopened = await OpenAsync();
        var query = topics.Next();

        Assert.Equal("rebuilt", reopened.IndexStart);
        // Searches are answered (exactly) while the index is built, and through it once built.
        Assert.Equal(ExactTop(vectors, query, 10), (await reopened.SearchAsync(query, 10)).Select(h => Key(h.Content)));
        await reopened.IndexBuilt;
        Assert.True(reopened.IndexComplete);
        Assert.Equal(ExactTop(vectors, query, 10), (await reopened.SearchAsync(query, 10)).Select(h => Key(h.Content)));
        reopened.Dispose();
        Assert.Equal("loaded", (await OpenAsync()).IndexStart);
    }

    [Fact]
    public async Task An_index_file_older_than_the_log_reaches_is_rebuilt_not_trusted()
    {
        var (store, vectors, topics) = await SeededAsync(600);
        store.Dispose();
        var old = Path.Combine(_directory, "old-index");
        File.Copy(Assert.Single(IndexFiles()), old);
        var writer = await OpenAsync();
        var query = topics.Next();
        var top = ExactTop(vectors, query, 3);
        foreach (var key in top)
        {
            Assert.True(await writer.DeleteAsync(key));
            vectors.Remove(key);
        }
        writer.Dispose();
        // A clean start after the writer's save prunes the log up to it.
        (await OpenAsync()).Dispose();
        // The saved file and the log are both past the old file now: put the old file back under its old name.
        var current = Assert.Single(IndexFiles());
        File.Delete(current);
        File.Move(old, Path.Combine(_directory, "vectors.db.index-0000000000000000600.usearch"));
        await using (var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var prune = connection.CreateCommand();
            prune.CommandText = "SELECT count(*) FROM content_vector_log";
            Assert.Equal(0L, (long)(await prune.ExecuteScalarAsync())!);
        }

        var reopened = await OpenAsync();

        Assert.Equal("rebuilt", reopened.IndexStart);
        await reopened.IndexBuilt;
        var hits = (await reopened.SearchAsync(query, 10)).Select(h => Key(h.Content)).ToList();
        Assert.Equal(ExactTop(vectors, query, 10), hits);
        Assert.Empty(hits.Intersect(top));
    }

    [Fact]
    public async Task A_store_from_before_the_index_upgrades_in_place()
    {
        var (store, vectors, topics) = await SeededAsync(600);
        store.Dispose();
        foreach (var file in IndexFiles())
        {
            File.Delete(file);
        }
        // The shape the version before the index left: the vector inside the item's row, no label column, no write log,
        // no index file. The start numbers the rows before it moves their vectors to the table keyed by that number.
        await MoveVectorsBackIntoItemsAsync();
        await using (var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var downgrade = connection.CreateCommand();
            downgrade.CommandText = """
                DROP INDEX ix_content_items_label;
                ALTER TABLE content_items DROP COLUMN label;
                DROP TABLE content_vector_log;
                """;
            await downgrade.ExecuteNonQueryAsync();
        }

        var upgraded = await OpenAsync();
        await upgraded.IndexBuilt;
        var query = topics.Next();

        Assert.Equal("rebuilt", upgraded.IndexStart);
        Assert.Equal(600, await upgraded.CountAsync());
        Assert.Equal(ExactTop(vectors, query, 10), (await upgraded.SearchAsync(query, 10)).Select(h => Key(h.Content)));
        var added = new ContentKey("lab", "after-upgrade");
        await upgraded.UpsertAsync(Record(added.ContentType, added.ContentId), [query]);
        Assert.Equal(added, Key((await upgraded.SearchAsync(query, 1))[0].Content));
        upgraded.Dispose();
        var again = await OpenAsync();
        Assert.Equal("loaded", again.IndexStart);
        Assert.Equal(added, Key((await again.SearchAsync(query, 1))[0].Content));
        Assert.Equal(await ItemLabelsAsync(), await VectorLabelsAsync());
    }

    [Fact]
    public async Task A_store_with_the_vector_inside_the_item_row_moves_it_to_its_own_table_at_start_and_keeps_it_in_step()
    {
        var (store, vectors, topics) = await SeededAsync(600);
        var queries = Enumerable.Range(0, 5).Select(_ => topics.Next()).ToArray();
        var before = await TopKeysAsync(store, queries);
        var stored = await StoredVectorsAsync(store, vectors.Keys);
        store.Dispose();
        // The shape the version before left: the item vector a column of content_items, no content_vectors.
        await MoveVectorsBackIntoItemsAsync();
        using var logs = new CapturedLogs();

        var upgraded = await OpenAsync(logger: logs.CreateLogger(nameof(EmbeddedVectorStore)));

        // The vector file and the index stay trusted: the vectors they copy have not changed, only where SQLite keeps them.
        Assert.Equal("mapped", upgraded.VectorsStart);
        Assert.Equal("loaded", upgraded.IndexStart);
        var moved = Assert.Single(logs.Entries, e => e.Message.Contains("moved to their own table", StringComparison.Ordinal));
        Assert.Equal("600", moved.Value("Count"));
        Assert.DoesNotContain("embedding", await ItemColumnsAsync());
        Assert.Equal(await ItemLabelsAsync(), await VectorLabelsAsync());
        // The records' table was rebuilt, not only stripped of the column (which leaves every row on its page, and the
        // table as many pages as before): the old table's pages are free, at least half the vectors' bytes.
        var freed = await PragmaAsync("freelist_count") * await PragmaAsync("page_size");
        Assert.True(freed > 600L * 384 * sizeof(float) / 2, $"{freed} bytes of free pages");
        var log = new FileInfo(DatabasePath + "-wal").Length;
        Assert.True(log < 600L * 384 * sizeof(float) / 2, $"write-ahead log of {log} bytes after the move");
        Assert.Empty(await QueryAsync("PRAGMA foreign_key_check"));
        Assert.Equal(before, await TopKeysAsync(upgraded, queries));
        // The rows kept their rowids: the full-text index, keyed by them, was in step and not built again.
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("full-text index built", StringComparison.Ordinal));
        foreach (var key in before.Select(top => top[0]))
        {
            Assert.Equal(key, Key((await upgraded.LexicalSearchAsync(key.ContentId, 1))[0].Content));
        }
        // Writes and deletes from there on keep the table in step.
        var added = new ContentKey("lab", "after-move");
        await upgraded.UpsertAsync(Record(added.ContentType, added.ContentId), [queries[0]]);
        stored[added] = (await upgraded.GetVectorAsync(added))!;
        var changed = before[1][0];
        await upgraded.UpsertAsync(Record(changed.ContentType, changed.ContentId), [queries[2]]);
        stored[changed] = (await upgraded.GetVectorAsync(changed))!;
        var gone = before[3][0];
        var goneLabel = await LabelOfAsync(gone);
        Assert.True(await upgraded.DeleteAsync(gone));
        stored.Remove(gone);
        Assert.DoesNotContain(goneLabel, await VectorLabelsAsync());
        Assert.Equal(await ItemLabelsAsync(), await VectorLabelsAsync());
        var after = await TopKeysAsync(upgraded, queries);
        upgraded.Dispose();
        // Rewritten from SQLite alone: every vector as it was written.
        File.Delete(VectorFilePath);

        var rewritten = await OpenAsync(logger: logs.CreateLogger(nameof(EmbeddedVectorStore)));

        Assert.Equal("rewritten", rewritten.VectorsStart);
        Assert.Single(logs.Entries, e => e.Message.Contains("moved to their own table", StringComparison.Ordinal));
        Assert.Equal(stored.Count, await rewritten.CountAsync());
        foreach (var (key, vector) in stored)
        {
            Assert.Equal(vector, await rewritten.GetVectorAsync(key));
        }
        Assert.Null(await rewritten.GetVectorAsync(gone));
        Assert.Equal(after, await TopKeysAsync(rewritten, queries));
    }

    [Fact]
    public async Task A_delete_takes_the_items_vector_row_with_it_and_a_rewrite_replaces_the_row()
    {
        var (store, vectors, topics) = await SeededAsync(40);
        var gone = vectors.Keys.First();
        var kept = vectors.Keys.Last();
        var goneLabel = await LabelOfAsync(gone);
        var keptLabel = await LabelOfAsync(kept);
        Assert.Contains(goneLabel, await VectorLabelsAsync());
        var keptBefore = await StoredVectorAsync(keptLabel);

        Assert.True(await store.DeleteAsync(gone));
        var replacement = topics.Next();
        await store.UpsertAsync(Record(kept.ContentType, kept.ContentId), [replacement]);

        var labels = await VectorLabelsAsync();
        Assert.DoesNotContain(goneLabel, labels);
        Assert.Equal(await ItemLabelsAsync(), labels);
        Assert.Equal(39, labels.Count);
        var keptAfter = await StoredVectorAsync(keptLabel);
        Assert.NotEqual(keptBefore, keptAfter);
        Assert.Equal(await store.GetVectorAsync(kept), keptAfter);
    }

    [Fact]
    public async Task A_store_from_before_the_vector_file_upgrades_in_place()
    {
        var (store, vectors, topics) = await SeededAsync(600);
        var queries = Enumerable.Range(0, 5).Select(_ => topics.Next()).ToArray();
        var before = await TopKeysAsync(store, queries);
        var stored = await StoredVectorsAsync(store, vectors.Keys.Take(50));
        store.Dispose();
        // What the version before left: the index file and the write log, no vector file.
        File.Delete(VectorFilePath);

        var upgraded = await OpenAsync();

        Assert.Equal("rewritten", upgraded.VectorsStart);
        Assert.Equal("loaded", upgraded.IndexStart);
        Assert.Equal(before, await TopKeysAsync(upgraded, queries));
        foreach (var (key, vector) in stored)
        {
            Assert.Equal(vector, await upgraded.GetVectorAsync(key));
        }
        upgraded.Dispose();
        var again = await OpenAsync();
        Assert.Equal("mapped", again.VectorsStart);
        Assert.Equal(before, await TopKeysAsync(again, queries));
    }

    [Fact]
    public async Task Vector_rows_lost_since_the_last_flush_are_replayed_from_sqlite()
    {
        var (store, vectors, topics) = await SeededAsync(600);
        store.Dispose();
        var writer = await OpenAsync();
        var query = topics.Next();
        var changed = ExactTop(vectors, query, 10)[5];
        var added = new ContentKey("lab", "added-after-flush");
        await writer.UpsertAsync(Record(added.ContentType, added.ContentId), [query]);
        vectors[added] = query;
        var moved = topics.Next();
        await writer.UpsertAsync(Record(changed.ContentType, changed.ContentId), [moved]);
        vectors[changed] = moved;
        // As after a crash of the machine: the rows written since the last flush never reached the disk.
        foreach (var key in new[] { added, changed })
        {
            await OverwriteRowAsync(await LabelOfAsync(key), 0.5f);
        }

        var reopened = await OpenAsync();

        Assert.Equal("mapped", reopened.VectorsStart);
        Assert.Equal(query, await reopened.GetVectorAsync(added));
        Assert.Equal(moved, await reopened.GetVectorAsync(changed));
        var hits = await reopened.SearchAsync(query, 10);
        Assert.Equal(ExactTop(vectors, query, 10), hits.Select(h => Key(h.Content)));
        Assert.True(Math.Abs(hits[0].Score - 1) < 1e-5);
    }

    [Theory]
    [InlineData("behind")]
    [InlineData("corrupt")]
    public async Task A_vector_file_behind_the_index_or_damaged_is_rewritten(string damage)
    {
        var (store, vectors, topics) = await SeededAsync(600);
        store.Dispose();
        var old = Path.Combine(_directory, "old-vectors");
        File.Copy(VectorFilePath, old);
        var writer = await OpenAsync();
        var query = topics.Next();
        var added = new ContentKey("lab", "added-later");
        await writer.UpsertAsync(Record(added.ContentType, added.ContentId), [query]);
        vectors[added] = query;
        var gone = ExactTop(vectors, query, 3)[1];
        Assert.True(await writer.DeleteAsync(gone));
        vectors.Remove(gone);
        writer.Dispose();
        if (damage == "behind")
        {
            // Flushed before the index's last save: its rows miss writes the log no longer holds.
            File.Copy(old, VectorFilePath, overwrite: true);
        }
        else
        {
            await using var file = new FileStream(VectorFilePath, FileMode.Open, FileAccess.Write);
            file.Write([.. Enumerable.Range(0, 64).Select(i => (byte)(i * 7 + 3))]);
        }

        var reopened = await OpenAsync();

        Assert.Equal("rewritten", reopened.VectorsStart);
        Assert.Equal("loaded", reopened.IndexStart);
        Assert.Equal(query, await reopened.GetVectorAsync(added));
        Assert.Equal(ExactTop(vectors, query, 10), (await reopened.SearchAsync(query, 10)).Select(h => Key(h.Content)));
    }

    [Fact]
    public async Task A_catalog_below_the_threshold_keeps_no_index_until_a_write_reaches_it()
    {
        var store = await OpenAsync(exactScanBelow: 50);
        var topics = new Topics(23);
        var vectors = await SeedAsync(store, Enumerable.Range(0, 49).Select(i => new ContentKey("course", $"small-{i:D2}")), topics);
        Assert.Equal("not needed", store.IndexStart);
        Assert.False(store.IndexComplete);
        store.Dispose();
        Assert.Empty(IndexFiles());

        var reopened = await OpenAsync(exactScanBelow: 50);
        Assert.Equal("not needed", reopened.IndexStart);
        Assert.False(reopened.IndexComplete);
        var query = topics.Next();
        Assert.Equal(ExactTop(vectors, query, 10), (await reopened.SearchAsync(query, 10)).Select(h => Key(h.Content)));

        var fiftieth = new ContentKey("lab", "small-49");
        await reopened.UpsertAsync(Record(fiftieth.ContentType, fiftieth.ContentId), [query]);
        vectors[fiftieth] = query;
        await reopened.IndexBuilt;

        Assert.True(reopened.IndexComplete);
        Assert.Equal(ExactTop(vectors, query, 10), (await reopened.SearchAsync(query, 10)).Select(h => Key(h.Content)));
        reopened.Dispose();
        Assert.Equal("loaded", (await OpenAsync(exactScanBelow: 50)).IndexStart);
    }

    [Fact]
    public async Task A_build_whose_save_fails_is_tried_again_without_a_restart_while_searches_stay_exact()
    {
        var (store, vectors, topics) = await SeededAsync(600);
        store.Dispose();
        foreach (var file in IndexFiles())
        {
            File.Delete(file);
        }
        // A directory where the build writes its file: the save fails, as in a data directory that refuses the file.
        var blocker = Directory.CreateDirectory(IndexFilePath(await LastSeqAsync()) + ".tmp");
        using var logs = new CapturedLogs();

        var reopened = await OpenAsync(logger: logs.CreateLogger(nameof(EmbeddedVectorStore)), retry: Quick);

        Assert.Equal("rebuilt", reopened.IndexStart);
        var failure = await EventuallyAsync(() => logs.Entries.FirstOrDefault(e => e.Level == LogLevel.Error), "The failed build was not logged.");
        Assert.Equal("1", failure.Value("Attempt"));
        Assert.True(double.Parse(failure.Value("RetrySeconds")!, CultureInfo.InvariantCulture) is >= 0.15 and <= 0.2, failure.Message);
        Assert.NotNull(failure.Exception);
        Assert.Contains("walk the index", failure.Message);
        // Meanwhile nothing is saved, and searches answer exactly.
        Assert.Empty(IndexFiles());
        var query = topics.Next();
        Assert.Equal(ExactTop(vectors, query, 10), Keys(await reopened.SearchAsync(query, 10)));

        blocker.Delete();
        var added = new ContentKey("lab", "added-after-the-failure");
        await reopened.UpsertAsync(Record(added.ContentType, added.ContentId), [query]);
        vectors[added] = query;
        await EndsAsync(reopened.IndexBuilt, logs, "The index build failed once and was not tried again");

        Assert.True(reopened.IndexComplete);
        Assert.Single(IndexFiles());
        Assert.Contains(logs.Entries, e => e.Message.Contains("built", StringComparison.Ordinal) && e.Level == LogLevel.Information);
        var hits = Keys(await reopened.SearchAsync(query, 10));
        Assert.Equal(ExactTop(vectors, query, 10), hits);
        Assert.Equal(added, hits[0]);
        reopened.Dispose();
        var again = await OpenAsync();
        Assert.Equal("loaded", again.IndexStart);
        Assert.Equal(ExactTop(vectors, query, 10), Keys(await again.SearchAsync(query, 10)));
    }

    [Fact]
    public async Task A_build_that_fails_part_way_starts_again_from_an_empty_index_and_keeps_every_write_made_meanwhile()
    {
        var (store, vectors, topics) = await SeededAsync(1_500);
        store.Dispose();
        foreach (var file in IndexFiles())
        {
            File.Delete(file);
        }
        var queries = Enumerable.Range(0, 3).Select(_ => topics.Next()).ToArray();
        var added = new ContentKey("lab", "added-during-the-failed-try");
        var moved = vectors.Keys.First(k => k.ContentType == "course");
        var gone = vectors.Keys.Last();
        var goneVector = vectors[gone];
        var addedLater = new ContentKey("lab", "added-during-the-next-try");
        EmbeddedVectorStore? building = null;
        // The build starts inside the start, before the store takes writes: the hook's writes wait for the start to end.
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var batches = 0;
        using var logs = new CapturedLogs();
        // The first try: writes after its first batch (into the index it fills), then a failure; the second: a write after its first batch.
        var reopened = await OpenAsync(logger: logs.CreateLogger(nameof(EmbeddedVectorStore)), retry: Quick, candidates: 10, batchAdded: () =>
        {
            opened.Task.Wait();
            switch (Interlocked.Increment(ref batches))
            {
                case 1:
                    building!.UpsertAsync(Record(added.ContentType, added.ContentId), [queries[0]]).GetAwaiter().GetResult();
                    building.UpsertAsync(Record(moved.ContentType, moved.ContentId), [queries[1]]).GetAwaiter().GetResult();
                    Assert.True(building.DeleteAsync(gone).GetAwaiter().GetResult());
                    throw new IOException("The build's first try fails after its first batch.");
                case 2:
                    building!.UpsertAsync(Record(addedLater.ContentType, addedLater.ContentId), [queries[2]]).GetAwaiter().GetResult();
                    break;
            }
        }, created: store => building = store);
        opened.SetResult();

        var failure = await EventuallyAsync(() => logs.Entries.FirstOrDefault(e => e.Level == LogLevel.Error), "The failed build was not logged.");
        Assert.Equal("1", failure.Value("Attempt"));
        Assert.Equal("The build's first try fails after its first batch.", failure.Exception?.Message);
        Assert.Contains("scan exactly", failure.Message);
        await EndsAsync(reopened.IndexBuilt, logs, "The index build failed once and was not tried again");
        vectors[added] = queries[0];
        vectors[moved] = queries[1];
        vectors.Remove(gone);
        vectors[addedLater] = queries[2];

        Assert.True(reopened.IndexComplete);
        Assert.Single(logs.Entries, e => e.Level == LogLevel.Error);
        await AssertThroughIndexAsync(reopened);
        reopened.Dispose();
        // A restart trusts the saved index only when it holds exactly the catalog's items.
        var again = await OpenAsync(candidates: 10);
        Assert.Equal("loaded", again.IndexStart);
        await AssertThroughIndexAsync(again);

        async Task AssertThroughIndexAsync(EmbeddedVectorStore searched)
        {
            Assert.Equal(added, Keys(await searched.SearchAsync(queries[0], 10))[0]);
            Assert.Equal(moved, Keys(await searched.SearchAsync(queries[1], 10))[0]);
            Assert.Equal(addedLater, Keys(await searched.SearchAsync(queries[2], 10))[0]);
            Assert.DoesNotContain(gone, Keys(await searched.SearchAsync(goneVector, 10)));
            Assert.Equal(vectors.Count, await searched.CountAsync());
        }
    }

    [Fact]
    public async Task Stopping_the_store_while_a_failed_build_waits_to_be_tried_again_ends_it_quietly()
    {
        var (store, _, _) = await SeededAsync(600);
        store.Dispose();
        foreach (var file in IndexFiles())
        {
            File.Delete(file);
        }
        using var logs = new CapturedLogs();
        // A wait far longer than the stop's own (30 s): the build ends only if stopping ends the wait.
        var reopened = await OpenAsync(logger: logs.CreateLogger(nameof(EmbeddedVectorStore)), retry: new RetrySchedule(TimeSpan.FromHours(1), TimeSpan.FromHours(1)),
            batchAdded: () => throw new IOException("The build fails."));
        var failure = await EventuallyAsync(() => logs.Entries.FirstOrDefault(e => e.Level == LogLevel.Error), "The failed build was not logged.");
        Assert.True(double.Parse(failure.Value("RetrySeconds")!, CultureInfo.InvariantCulture) >= 2700, failure.Message);

        reopened.Dispose();

        Assert.True(reopened.IndexBuilt.IsCompletedSuccessfully, $"The index build is {reopened.IndexBuilt.Status} after the store stopped.");
        Assert.Single(logs.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains(logs.Entries, e => e.Message.Contains("stopped with the service", StringComparison.Ordinal));
        Assert.Empty(IndexFiles());
        Assert.Equal("rebuilt", (await OpenAsync()).IndexStart);
    }

    /// <summary>The saved index's file for write-log position <paramref name="seq"/>.</summary>
    private string IndexFilePath(long seq) => DatabasePath + ".index-" + seq.ToString("D19", CultureInfo.InvariantCulture) + ".usearch";

    /// <summary>The last position of the store's write log.</summary>
    private async Task<long> LastSeqAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var select = connection.CreateCommand();
        select.CommandText = "SELECT seq FROM sqlite_sequence WHERE name = 'content_vector_log'";
        return (long)(await select.ExecuteScalarAsync())!;
    }

    /// <summary>What <paramref name="probe"/> finds first, polled; a failure with <paramref name="failure"/> if it finds nothing for <see cref="Hung"/>.</summary>
    private static async Task<T> EventuallyAsync<T>(Func<T?> probe, string failure) where T : class
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            if (probe() is { } found)
            {
                return found;
            }
            if (Stopwatch.GetElapsedTime(started) > Hung)
            {
                Assert.Fail($"{failure} (waited {Hung.TotalMinutes:F0} minutes)");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Waits for <paramref name="task"/>; a failure with <paramref name="failure"/> and what was logged if it has not ended within <see cref="Hung"/>.</summary>
    private static async Task EndsAsync(Task task, CapturedLogs logs, string failure)
    {
        try
        {
            await task.WaitAsync(Hung);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{failure}: not ended after {Hung.TotalMinutes:F0} minutes. Logged: " + string.Join(" | ", logs.Entries.Select(e => e.Message)));
        }
    }

    private static List<ContentKey> Keys(IReadOnlyList<SearchHit> hits) => [.. hits.Select(h => Key(h.Content))];

    private string VectorFilePath => DatabasePath + ".vectors";

    /// <summary>
    /// Rewrites the store's file into the shape the version before <c>content_vectors</c> left: the item vector a column of
    /// <c>content_items</c> between <c>updated_at</c> and <c>created_by</c>, the rows under their rowids (the full-text
    /// index's keys), the label index and the full-text triggers in place (the table rebuilt the documented way).
    /// </summary>
    private async Task MoveVectorsBackIntoItemsAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        var triggers = new List<string>();
        await using (var select = connection.CreateCommand())
        {
            select.CommandText = "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'content_items'";
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                triggers.Add(reader.GetString(0) + ";");
            }
        }
        Assert.Equal(3, triggers.Count);
        await using var rewrite = connection.CreateCommand();
        rewrite.CommandText = $"""
            PRAGMA foreign_keys = OFF;
            BEGIN;
            CREATE TABLE content_items_previous (
                content_type TEXT NOT NULL,
                content_id TEXT NOT NULL,
                title TEXT NOT NULL,
                description TEXT NOT NULL,
                metadata TEXT NOT NULL,
                chunk_count INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                embedding BLOB NOT NULL,
                created_by TEXT,
                label INTEGER,
                PRIMARY KEY (content_type, content_id)
            );
            INSERT INTO content_items_previous (rowid, content_type, content_id, title, description, metadata, chunk_count, created_at,
                updated_at, embedding, created_by, label)
            SELECT i.rowid, i.content_type, i.content_id, i.title, i.description, i.metadata, i.chunk_count, i.created_at,
                i.updated_at, v.embedding, i.created_by, i.label
            FROM content_items AS i JOIN content_vectors AS v ON v.label = i.label;
            DROP TABLE content_vectors;
            DROP TABLE content_items;
            ALTER TABLE content_items_previous RENAME TO content_items;
            CREATE UNIQUE INDEX ix_content_items_label ON content_items (label);
            {string.Join("\n", triggers)}
            COMMIT;
            """;
        await rewrite.ExecuteNonQueryAsync();
        Assert.Contains("embedding", await ItemColumnsAsync());
    }

    private async Task<long> PragmaAsync(string name) => (long)Assert.Single(await QueryAsync($"PRAGMA {name}"))!;

    private async Task<List<string>> ItemColumnsAsync() =>
        [.. (await QueryAsync("SELECT name FROM pragma_table_info('content_items') ORDER BY cid")).Select(v => (string)v!)];

    private async Task<List<long>> ItemLabelsAsync() =>
        [.. (await QueryAsync("SELECT label FROM content_items ORDER BY label")).Select(v => (long)v!)];

    private async Task<List<long>> VectorLabelsAsync() =>
        [.. (await QueryAsync("SELECT label FROM content_vectors ORDER BY label")).Select(v => (long)v!)];

    /// <summary>The vector SQLite holds for <paramref name="label"/> (little-endian float32).</summary>
    private async Task<float[]> StoredVectorAsync(long label)
    {
        var blob = (byte[])Assert.Single(await QueryAsync($"SELECT embedding FROM content_vectors WHERE label = {label}"))!;
        return [.. Enumerable.Range(0, blob.Length / sizeof(float)).Select(i => BitConverter.ToSingle(blob, i * sizeof(float)))];
    }

    private async Task<List<object?>> QueryAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var select = connection.CreateCommand();
        select.CommandText = sql;
        await using var reader = await select.ExecuteReaderAsync();
        var values = new List<object?>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.IsDBNull(0) ? null : reader.GetValue(0));
        }
        return values;
    }

    private async Task<long> LabelOfAsync(ContentKey key)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var select = connection.CreateCommand();
        select.CommandText = "SELECT label FROM content_items WHERE content_type = $type AND content_id = $id";
        select.Parameters.AddWithValue("$type", key.ContentType);
        select.Parameters.AddWithValue("$id", key.ContentId);
        return (long)(await select.ExecuteScalarAsync())!;
    }

    private async Task OverwriteRowAsync(long label, float value)
    {
        const int RowBytes = 384 * sizeof(float);
        await using var file = new FileStream(VectorFilePath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        file.Position = label * RowBytes;
        var row = new byte[RowBytes];
        for (var i = 0; i < RowBytes; i += sizeof(float))
        {
            BitConverter.TryWriteBytes(row.AsSpan(i), value);
        }
        await file.WriteAsync(row);
    }

    [Fact]
    public async Task Many_more_searches_at_once_than_processors_all_answer_from_the_index_and_after_a_restart()
    {
        // USearch has one search context per processor and fails a search that finds none free; requests come from
        // any number of threads, so the store must make the extra ones wait rather than fail.
        // Few candidates, so that each search walks the index instead of scanning a catalog this small.
        var store = await OpenAsync(candidates: 10);
        var topics = new Topics(21);
        await SeedAsync(store, Enumerable.Range(0, 600).Select(i => new ContentKey("course", $"item-{i:D4}")), topics);
        var queries = Enumerable.Range(0, 16).Select(_ => topics.Next()).ToArray();
        var expected = await TopKeysAsync(store, queries);
        await AllAtOnceAsync(store, queries, expected);
        store.Dispose();

        var reopened = await OpenAsync(candidates: 10);
        Assert.Equal("loaded", reopened.IndexStart);
        await AllAtOnceAsync(reopened, queries, expected);
    }

    private static async Task AllAtOnceAsync(IVectorStore store, float[][] queries, List<List<ContentKey>> expected)
    {
        var callers = Math.Max(32, 16 * NativeHnsw.Slots);
        using var start = new Barrier(callers);
        var answers = await Task.WhenAll(Enumerable.Range(0, callers).Select(caller => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            var tops = new List<List<ContentKey>>();
            for (var round = 0; round < 50; round++)
            {
                var query = (caller + round) % queries.Length;
                tops.Add([.. store.SearchAsync(queries[query], 10).GetAwaiter().GetResult().Select(h => Key(h.Content))]);
            }
            return (caller, tops);
        }, TaskCreationOptions.LongRunning)));
        foreach (var (caller, tops) in answers)
        {
            for (var round = 0; round < tops.Count; round++)
            {
                Assert.Equal(expected[(caller + round) % queries.Length], tops[round]);
            }
        }
    }

    private async Task<(EmbeddedVectorStore Store, Dictionary<ContentKey, float[]> Vectors, Topics Topics)> SeededAsync(int count)
    {
        var store = await OpenAsync();
        var topics = new Topics(21);
        var vectors = await SeedAsync(store, Enumerable.Range(0, count).Select(i => new ContentKey(i % 5 == 0 ? "lab" : "course", $"item-{i:D4}")), topics);
        return (store, vectors, topics);
    }

    private async Task<EmbeddedVectorStore> OpenAsync(
        int exactScanBelow = 0, int candidates = EmbeddedVectorStore.DefaultCandidates, ILogger? logger = null, RetrySchedule? retry = null,
        Action? batchAdded = null, Action<EmbeddedVectorStore>? created = null)
    {
        var store = new EmbeddedVectorStore(DatabasePath, logger ?? NullLogger.Instance)
        {
            ExactScanBelow = exactScanBelow,
            Candidates = candidates,
            IndexRetry = retry ?? RetrySchedule.Default,
            IndexBatchAdded = batchAdded,
        };
        store.Graph.BuildOnStart = false;
        _stores.Add(store);
        created?.Invoke(store);
        await store.InitializeAsync();
        return store;
    }

    private string[] IndexFiles() => Directory.GetFiles(_directory, "vectors.db.index-*");

    private static async Task<List<List<ContentKey>>> TopKeysAsync(IVectorStore store, float[][] queries)
    {
        var tops = new List<List<ContentKey>>();
        foreach (var query in queries)
        {
            tops.Add([.. (await store.SearchAsync(query, 10)).Select(h => Key(h.Content))]);
        }
        return tops;
    }

    private static ContentKey Key(ContentRecord record) => new(record.ContentType, record.ContentId);

    private static async Task<Dictionary<ContentKey, float[]>> StoredVectorsAsync(IVectorStore store, IEnumerable<ContentKey> keys)
    {
        var stored = new Dictionary<ContentKey, float[]>();
        foreach (var key in keys)
        {
            stored[key] = (await store.GetVectorAsync(key))!;
        }
        return stored;
    }
}
