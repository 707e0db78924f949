using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using CyberHub.Testing;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Ai.VectorStore;
using Microsoft.Extensions.Logging;
using Npgsql;
using static CyberHub.Ai.Tests.Infrastructure.SyntheticContent;

namespace CyberHub.Ai.Tests;

/// <summary>One suite, run against every backend: both must behave the same for the AI service.</summary>
public abstract class VectorStoreTests<TFixture>(TFixture fixture) where TFixture : VectorStoreFixture
{
    [Fact]
    public async Task Upsert_then_get_vector_and_count()
    {
        var store = await fixture.CreateStoreAsync();
        var chunks = Chunks(new Random(1), 3);
        var record = Record("course", "intro-to-xss") with { ChunkCount = 99 };

        var ids = await store.UpsertAsync(record, chunks);

        Assert.Equal(["course:intro-to-xss:0", "course:intro-to-xss:1", "course:intro-to-xss:2"], ids);
        AssertStored(record with { ChunkCount = 3 }, await store.GetAsync(new("course", "intro-to-xss")));
        AssertVector(MeanUnit(chunks), await store.GetVectorAsync(new("course", "intro-to-xss")));
        Assert.Equal(1, await store.CountAsync());
        Assert.Null(await store.GetAsync(new("course", "missing")));
        Assert.Null(await store.GetVectorAsync(new("lab", "intro-to-xss")));
    }

    [Fact]
    public async Task Reupserting_a_key_replaces_the_item_and_its_chunks()
    {
        var store = await fixture.CreateStoreAsync();
        var key = new ContentKey("lab", "sqli-101");
        var random = new Random(2);
        var first = await store.UpsertAsync(Record("lab", "sqli-101"), Chunks(random, 4));
        Assert.Equal(first, await store.UpsertAsync(Record("lab", "sqli-101"), Chunks(random, 4)));

        var shorter = Chunks(random, 2);
        var second = await store.UpsertAsync(Record("lab", "sqli-101", "SQL injection, revised"), shorter);

        Assert.Equal(first.Take(2), second);
        Assert.Equal(second, await fixture.StoredChunkIdsAsync(store, key));
        Assert.Equal(1, await store.CountAsync());
        var stored = await store.GetAsync(key);
        Assert.Equal(("SQL injection, revised", 2), (stored!.Title, stored.ChunkCount));
        AssertVector(MeanUnit(shorter), await store.GetVectorAsync(key));
    }

    [Fact]
    public async Task List_is_ordered_by_type_then_id_paged_and_filtered()
    {
        var store = await fixture.CreateStoreAsync();
        var keys = new[] { "path", "course", "lab" }.SelectMany(t => new[] { "b", "a-2", "a-10", "Z", "c" }.Select(id => new ContentKey(t, id))).ToList();
        await SeedAsync(store, keys.OrderBy(_ => Guid.NewGuid()), new Topics(3));
        var expected = keys.OrderBy(k => k.ContentType, StringComparer.Ordinal).ThenBy(k => k.ContentId, StringComparer.Ordinal).ToList();

        var (count, all) = await store.ListAsync(null, 0, 100);
        Assert.Equal(15, count);
        Assert.Equal(expected, all.Select(KeyOf));

        var pages = new List<ContentKey>();
        for (var skip = 0; skip < 15; skip += 4)
        {
            var (pageCount, page) = await store.ListAsync(null, skip, 4);
            Assert.Equal(15, pageCount);
            pages.AddRange(page.Select(KeyOf));
        }
        Assert.Equal(expected, pages);

        var (labs, labPage) = await store.ListAsync("lab", 1, 3);
        Assert.Equal(5, labs);
        Assert.Equal(expected.Where(k => k.ContentType == "lab").Skip(1).Take(3), labPage.Select(KeyOf));
        Assert.Equal((0, 0), await store.ListAsync("video", 0, 10) is var (none, items) ? (none, items.Count) : default);
        Assert.Empty((await store.ListAsync(null, 20, 10)).Items);
    }

    [Fact]
    public async Task Delete_removes_once()
    {
        var store = await fixture.CreateStoreAsync();
        var vectors = await SeedAsync(store, [new("course", "a"), new("course", "b")], new Topics(4));

        Assert.True(await store.DeleteAsync(new("course", "a")));
        Assert.False(await store.DeleteAsync(new("course", "a")));

        Assert.Null(await store.GetAsync(new("course", "a")));
        Assert.Empty(await fixture.StoredChunkIdsAsync(store, new("course", "a")));
        Assert.Equal(1, await store.CountAsync());
        var hits = await store.SearchAsync(vectors[new("course", "a")], 10);
        Assert.Equal([new ContentKey("course", "b")], hits.Select(h => KeyOf(h.Content)));
    }

    [Fact]
    public async Task Search_finds_the_exact_nearest_neighbours_of_a_stored_vector()
    {
        var store = await fixture.CreateStoreAsync();
        var vectors = await SeedAsync(store, Enumerable.Range(0, 300).Select(i => new ContentKey(i % 3 == 0 ? "lab" : "course", $"item-{i:D3}")), new Topics(5));

        foreach (var (key, vector) in vectors.Take(5))
        {
            var hits = await store.SearchAsync(vector, 10);

            AssertDescending(hits);
            Assert.Equal(ExactTop(vectors, vector, 10), hits.Select(h => KeyOf(h.Content)));
            Assert.Equal(key, KeyOf(hits[0].Content));
            Assert.Equal(1.0, hits[0].Score, 1e-4);
        }
    }

    [Fact]
    public async Task Search_with_vectors_returns_the_search_hits_in_order_with_their_vectors()
    {
        var store = await fixture.CreateStoreAsync();
        var topics = new Topics(13);
        var vectors = await SeedAsync(store, Enumerable.Range(0, 400).Select(i => new ContentKey(i % 4 == 0 ? "lab" : "course", $"item-{i:D3}")), topics);

        for (var q = 0; q < 5; q++)
        {
            var query = topics.Next();
            var exclude = new HashSet<ContentKey> { ExactTop(vectors, query, 1)[0] };
            foreach (var type in new[] { null, "lab" })
            {
                var hits = await store.SearchAsync(query, 30, type, exclude);
                var found = await store.SearchVectorsAsync(query, 30, type, exclude);

                Assert.Equal(hits.Select(h => KeyOf(h.Content)), found.Select(f => f.Key));
                Assert.Equal(ExactTop(vectors, query, 30, k => (type is null || k.ContentType == type) && !exclude.Contains(k)), found.Select(f => f.Key));
                foreach (var item in found)
                {
                    AssertVector(vectors[item.Key], item.Vector);
                }
            }
        }
    }

    [Fact]
    public async Task Deletes_and_upserts_show_in_the_next_search()
    {
        var store = await fixture.CreateStoreAsync();
        var topics = new Topics(14);
        var vectors = await SeedAsync(store, Enumerable.Range(0, 500).Select(i => new ContentKey("course", $"item-{i:D3}")), topics);
        var query = topics.Next();
        var top = ExactTop(vectors, query, 10);

        Assert.True(await store.DeleteAsync(top[0]));
        Assert.Equal(top.Skip(1).Concat(ExactTop(vectors, query, 11).Skip(10)), (await store.SearchAsync(query, 10)).Select(h => KeyOf(h.Content)));

        // An item moved onto the query comes first; one moved away leaves the top.
        var moved = ExactTop(vectors, query, 500)[^1];
        await store.UpsertAsync(Record(moved.ContentType, moved.ContentId), [query]);
        var away = top[1];
        var opposite = query.Select(v => -v).ToArray();
        await store.UpsertAsync(Record(away.ContentType, away.ContentId), [opposite]);
        var hits = await store.SearchAsync(query, 10);
        Assert.Equal(moved, KeyOf(hits[0].Content));
        Assert.Equal(1.0, hits[0].Score, 1e-4);
        Assert.DoesNotContain(away, hits.Select(h => KeyOf(h.Content)));

        // A deleted key stored again is found again.
        await store.UpsertAsync(Record(top[0].ContentType, top[0].ContentId), [vectors[top[0]]]);
        Assert.Contains(top[0], (await store.SearchAsync(query, 10)).Select(h => KeyOf(h.Content)));
    }

    [Fact]
    public async Task Filters_and_exclusions_still_fill_the_limit()
    {
        var store = await fixture.CreateStoreAsync();
        // Labs are one item in twenty: an index walk that filtered afterwards would come back short.
        var topics = new Topics(6);
        var vectors = await SeedAsync(store, Enumerable.Range(0, 2000).Select(i => new ContentKey(i % 20 == 0 ? "lab" : "course", $"item-{i:D4}")), topics);

        for (var q = 0; q < 5; q++)
        {
            var query = topics.Next();
            foreach (var limit in new[] { 10, 40 })
            {
                var labs = await store.SearchAsync(query, limit, "lab");
                Assert.Equal(ExactTop(vectors, query, limit, k => k.ContentType == "lab"), labs.Select(h => KeyOf(h.Content)));
                AssertDescending(labs);
            }

            var top = await store.SearchAsync(query, 20);
            var excluded = top.Take(15).Select(h => KeyOf(h.Content)).Append(new("course", "not-stored")).ToHashSet();
            var rest = await store.SearchAsync(query, 10, exclude: excluded);
            Assert.Equal(10, rest.Count);
            Assert.DoesNotContain(rest, h => excluded.Contains(KeyOf(h.Content)));
            AssertDescending(rest);
            Assert.Equal(top.Skip(15).Select(h => KeyOf(h.Content)), rest.Take(5).Select(h => KeyOf(h.Content)));

            var labsExcluded = (await store.SearchAsync(query, 5, "lab")).Select(h => KeyOf(h.Content)).ToHashSet();
            var otherLabs = await store.SearchAsync(query, 10, "lab", labsExcluded);
            Assert.Equal(10, otherLabs.Count);
            Assert.All(otherLabs, h => Assert.True(h.Content.ContentType == "lab" && !labsExcluded.Contains(KeyOf(h.Content))));
        }
        Assert.Equal(100, (await store.SearchAsync(vectors.First().Value, 500, "lab")).Count);
    }

    [Fact]
    public async Task A_limit_beyond_the_catalog_returns_everything_best_first()
    {
        var store = await fixture.CreateStoreAsync();
        var topics = new Topics(7);
        var vectors = await SeedAsync(store, Enumerable.Range(0, 7).Select(i => new ContentKey(i < 3 ? "lab" : "course", $"x{i}")), topics);
        var query = topics.Next();

        var all = await store.SearchAsync(query, 100);
        Assert.Equal(ExactTop(vectors, query, 100), all.Select(h => KeyOf(h.Content)));
        AssertDescending(all);
        Assert.Equal(3, (await store.SearchAsync(query, 100, "lab")).Count);
        Assert.Empty(await store.SearchAsync(query, 10, "video"));
        Assert.Empty(await store.SearchAsync(query, 0));
    }

    [Fact]
    public async Task A_new_instance_over_the_same_storage_sees_the_same_data()
    {
        var store = await fixture.CreateStoreAsync();
        var vectors = await SeedAsync(store, Enumerable.Range(0, 50).Select(i => new ContentKey("course", $"c{i}")), new Topics(8));
        await store.DeleteAsync(new("course", "c7"));
        var query = vectors[new("course", "c3")];

        var reopened = await fixture.ReopenAsync(store);

        Assert.Equal(49, await reopened.CountAsync());
        Assert.Null(await reopened.GetAsync(new("course", "c7")));
        AssertStored(Record("course", "c3"), await reopened.GetAsync(new("course", "c3")));
        Assert.Equal(await store.GetVectorAsync(new("course", "c3")), await reopened.GetVectorAsync(new("course", "c3")));
        Assert.Equal((await store.SearchAsync(query, 10)).Select(h => h.Content.ContentId), (await reopened.SearchAsync(query, 10)).Select(h => h.Content.ContentId));
    }

    [Fact]
    public async Task Unicode_and_sql_like_text_is_stored_verbatim()
    {
        var store = await fixture.CreateStoreAsync();
        var record = new ContentRecord("lab", "o'brien\"; DROP TABLE content_items; --", "Ünïcödé 🛡️ 中文 'quoted' \\ back\\slash %_ $1",
            "Robert'); DELETE FROM content_chunks; --\r\n\ttab", """{"note":"ça va? 🔐","sql":"' OR 1=1 --"}""", 1, Created, Created);
        var vector = UnitVector(new Random(9));

        var ids = await store.UpsertAsync(record, [vector]);

        Assert.Equal($"lab:{record.ContentId}:0", Assert.Single(ids));
        AssertStored(record, await store.GetAsync(KeyOf(record)));
        AssertStored(record, Assert.Single((await store.ListAsync("lab", 0, 10)).Items));
        AssertStored(record, Assert.Single(await store.SearchAsync(vector, 5, exclude: new HashSet<ContentKey> { new("lab", "o'brien") })).Content);
        Assert.True(await store.DeleteAsync(KeyOf(record)));
    }

    [Fact]
    public async Task Texts_owner_and_times_read_back_the_same_after_a_restart()
    {
        var store = await fixture.CreateStoreAsync();
        var random = new Random(11);
        var records = new[]
        {
            new ContentRecord("lab", "ünï-1", "Ünïcödé 🛡️ 中文 'quoted' \\ back\\slash", "Robert'); --\r\n\ttab", """{"note":"ça va? 🔐"}""", 1, Created, Created.AddDays(1)),
            new ContentRecord("lab", "empty", "", "", "{}", 1, Created.AddSeconds(1), Created.AddSeconds(2)),
            new ContentRecord("course", "long", new string('t', 3000), string.Concat(Enumerable.Repeat("déjà vu ", 5000)), """{"tags":["a","b"]}""", 1, Created, Created),
        };
        foreach (var record in records)
        {
            await store.UpsertAsync(record, [UnitVector(random)], new ContentWriter("ø-owner 7", MayReplaceAny: false));
        }
        var before = new List<ContentRecord>();
        foreach (var record in records)
        {
            before.Add((await store.GetAsync(KeyOf(record)))!);
        }
        if (store is EmbeddedVectorStore embedded)
        {
            // A clean stop saves the index, if any, and the next start then reads the records only, texts as bytes.
            await embedded.IndexBuilt;
            embedded.Dispose();
        }

        var reopened = await fixture.ReopenAsync(store);

        foreach (var (record, stored) in records.Zip(before))
        {
            var read = await reopened.GetAsync(KeyOf(record));
            AssertStored(record, read);
            Assert.Equal(stored, read);
            Assert.Equal("ø-owner 7", read!.CreatedBy);
        }
        Assert.Equal(before.OrderBy(r => r.ContentType, StringComparer.Ordinal).ThenBy(r => r.ContentId, StringComparer.Ordinal),
            (await reopened.ListAsync(null, 0, 10)).Items);
    }

    [Fact]
    public async Task Concurrent_upserts_of_different_items_all_land()
    {
        var store = await fixture.CreateStoreAsync();
        var random = new Random(10);
        var work = Enumerable.Range(0, 50).Select(i => (Key: new ContentKey(i % 2 == 0 ? "lab" : "course", $"p{i}"), Chunks: Chunks(random, 1 + i % 3))).ToList();

        await Task.WhenAll(work.Select(w => Task.Run(() => store.UpsertAsync(Record(w.Key.ContentType, w.Key.ContentId), w.Chunks))));

        Assert.Equal(50, await store.CountAsync());
        foreach (var (key, chunks) in work)
        {
            Assert.Equal(chunks.Length, (await store.GetAsync(key))!.ChunkCount);
            AssertVector(MeanUnit(chunks), await store.GetVectorAsync(key));
        }
    }

    [Fact]
    public async Task Malformed_input_is_refused_and_stores_nothing()
    {
        var store = await fixture.CreateStoreAsync();
        var vector = UnitVector(new Random(11));

        await Assert.ThrowsAsync<ArgumentException>(() => store.UpsertAsync(Record("lab", "short"), [new float[10]]));
        await Assert.ThrowsAsync<ArgumentException>(() => store.UpsertAsync(Record("lab", "none"), []));
        await Assert.ThrowsAsync<ArgumentException>(() => store.UpsertAsync(Record("lab", "nul", "a\0b"), [vector]));
        await Assert.ThrowsAsync<ArgumentException>(() => store.UpsertAsync(Record("lab", "json", metadata: "{not json"), [vector]));
        await Assert.ThrowsAsync<ArgumentException>(() => store.SearchAsync(new float[3], 10));
        Assert.Equal(0, await store.CountAsync());
    }

    private static ContentKey KeyOf(ContentRecord record) => new(record.ContentType, record.ContentId);

    private static float[] MeanUnit(float[][] chunks)
    {
        var mean = Enumerable.Range(0, ContentVectors.Dimensions).Select(d => chunks.Sum(c => (double)c[d])).ToArray();
        var norm = Math.Sqrt(mean.Sum(v => v * v));
        return mean.Select(v => (float)(v / norm)).ToArray();
    }

    private static void AssertVector(float[] expected, float[]? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Length, actual.Length);
        Assert.All(expected.Zip(actual), p => Assert.Equal(p.First, p.Second, 1e-5f));
    }

    /// <summary>Metadata is compared as JSON: PostgreSQL's jsonb keeps the meaning, not the spacing or key order.</summary>
    private static void AssertStored(ContentRecord expected, ContentRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(
            (expected.ContentType, expected.ContentId, expected.Title, expected.Description, expected.ChunkCount),
            (actual.ContentType, actual.ContentId, actual.Title, actual.Description, actual.ChunkCount));
        Assert.Equal(ContentVectors.Timestamp(expected.CreatedAt), actual.CreatedAt);
        Assert.Equal(ContentVectors.Timestamp(expected.UpdatedAt), actual.UpdatedAt);
        Assert.Equal(DateTimeKind.Utc, actual.CreatedAt.Kind);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected.Metadata), JsonNode.Parse(actual.Metadata)), actual.Metadata);
    }

    private static void AssertDescending(IReadOnlyList<SearchHit> hits) =>
        Assert.All(hits.Zip(hits.Skip(1)), p => Assert.True(p.First.Score >= p.Second.Score, $"{p.First.Score} < {p.Second.Score}"));
}

public sealed class EmbeddedVectorStoreTests(EmbeddedStoreFixture fixture)
    : VectorStoreTests<EmbeddedStoreFixture>(fixture), IClassFixture<EmbeddedStoreFixture>;

/// <summary>The shared suite on an embedded store whose every search goes through the approximate index.</summary>
public sealed class EmbeddedIndexedVectorStoreTests(EmbeddedIndexedStoreFixture fixture)
    : VectorStoreTests<EmbeddedIndexedStoreFixture>(fixture), IClassFixture<EmbeddedIndexedStoreFixture>;

public sealed class PgVectorStoreTests(PgVectorStoreFixture fixture)
    : VectorStoreTests<PgVectorStoreFixture>(fixture), IClassFixture<PgVectorStoreFixture>;

/// <summary>The HNSW index is approximate: its top 10 must agree with the exact scan on nearly all results.</summary>
public sealed class VectorStoreRecallTests(PgVectorStoreFixture pg, EmbeddedStoreFixture embedded)
    : IClassFixture<PgVectorStoreFixture>, IClassFixture<EmbeddedStoreFixture>
{
    [Fact]
    public async Task Pgvector_top_10_recall_against_the_exact_scan_is_at_least_95_percent()
    {
        var (approximate, exact) = (await pg.CreateStoreAsync(), await embedded.CreateStoreAsync());
        var topics = new Topics(12);
        var items = Enumerable.Range(0, 5000).ToDictionary(i => new ContentKey(i % 10 == 0 ? "lab" : "course", $"item-{i:D4}"), _ => topics.Next());
        await Task.WhenAll(SeedAsync(approximate, items), SeedAsync(exact, items));

        var recalls = new List<double>();
        for (var q = 0; q < 50; q++)
        {
            var query = topics.Next();
            var truth = (await exact.SearchAsync(query, 10)).Select(h => KeyOf(h.Content)).ToHashSet();
            var found = (await approximate.SearchAsync(query, 10)).Select(h => KeyOf(h.Content));
            recalls.Add(found.Count(truth.Contains) / 10.0);
        }

        Assert.True(recalls.Average() >= 0.95, $"recall@10 = {recalls.Average():F3}");
    }

    private static ContentKey KeyOf(ContentRecord record) => new(record.ContentType, record.ContentId);
}

/// <summary>
/// pgvector searches walk an HNSW index over half-precision vectors and re-rank its candidates exactly; a database from
/// before, whose index is over the full-precision vectors, is upgraded in place: the new index is built concurrently
/// after start, searches answer meanwhile, and the old index goes once the new one is valid.
/// </summary>
public sealed class PgVectorIndexUpgradeTests(PgVectorStoreFixture pg) : IClassFixture<PgVectorStoreFixture>
{
    // Only to turn a start that would hang into a failure: a start takes well under a second.
    private static readonly TimeSpan Hung = TimeSpan.FromMinutes(2);

    private const string Indexes = """
        SELECT c.relname || ' ' || CASE WHEN x.indisvalid THEN 'valid' ELSE 'invalid' END
        FROM pg_index AS x JOIN pg_class AS c ON c.oid = x.indexrelid
        WHERE x.indrelid = 'content_items'::regclass AND c.relname LIKE 'content_items_embedding%' ORDER BY c.relname COLLATE "C"
        """;

    [Fact]
    public async Task A_database_with_the_previous_index_gets_the_half_precision_index_and_loses_the_old_one()
    {
        var (store, vectors, topics) = await SeededAsync(23, MakePreviousVersionAsync);

        var upgraded = (PgVectorStore)await pg.ReopenAsync(store);
        await upgraded.IndexBuilding;

        Assert.True(upgraded.SearchIndexReady);
        var graphs = (await pg.QueryAsync(upgraded,
            "SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'content_items' AND indexdef LIKE '%hnsw%'")).ToList();
        var index = Assert.Single(graphs);
        Assert.StartsWith(PgVectorStore.HalfIndex + " ", index);
        Assert.Contains("halfvec(384)", index);
        Assert.Contains("halfvec_cosine_ops", index);
        Assert.Equal([PgVectorStore.HalfIndex + " valid"], await pg.QueryAsync(upgraded, Indexes));

        // Old items and new ones alike: the exact nearest, with exact (full-precision) scores.
        var added = new ContentKey("course", "after-upgrade");
        vectors[added] = topics.Next();
        await upgraded.UpsertAsync(Record(added.ContentType, added.ContentId), [vectors[added]]);
        foreach (var query in Enumerable.Range(0, 5).Select(_ => topics.Next()).Append(vectors[added]))
        {
            foreach (var type in new[] { null, "lab" })
            {
                var hits = await upgraded.SearchAsync(query, 10, type);

                Assert.Equal(ExactTop(vectors, query, 10, k => type is null || k.ContentType == type), hits.Select(h => new ContentKey(h.Content.ContentType, h.Content.ContentId)));
                foreach (var hit in hits)
                {
                    Assert.Equal(Dot(vectors[new ContentKey(hit.Content.ContentType, hit.Content.ContentId)], query), hit.Score, 1e-5);
                }
            }
        }
        Assert.Equal(added, (await upgraded.SearchAsync(vectors[added], 1)).Select(h => new ContentKey(h.Content.ContentType, h.Content.ContentId)).Single());
    }

    [Fact]
    public async Task The_index_is_built_after_start_while_searches_and_writes_go_on_and_the_old_index_goes_only_once_it_is_valid()
    {
        var (store, vectors, topics) = await SeededAsync(29, MakePreviousVersionAsync);

        // A writer's open transaction: a concurrent index build waits for it, so the build cannot end before it does.
        await using var writer = await HoldWritersAsync(store);

        var upgraded = (PgVectorStore)await pg.ReopenAsync(store).WaitAsync(Hung);
        // A second instance starting meanwhile is not held up either.
        var second = (PgVectorStore)await pg.ReopenAsync(store).WaitAsync(Hung);

        Assert.False(upgraded.IndexBuilding.IsCompleted);
        Assert.False(upgraded.SearchIndexReady);
        Assert.False(second.SearchIndexReady);
        // The old index stays until the new one is valid.
        Assert.Contains(PgVectorStore.PreviousIndex + " valid", await pg.QueryAsync(upgraded, Indexes));
        Assert.DoesNotContain(PgVectorStore.HalfIndex + " valid", await pg.QueryAsync(upgraded, Indexes));
        var during = new ContentKey("lab", "during-build");
        vectors[during] = topics.Next();
        await upgraded.UpsertAsync(Record(during.ContentType, during.ContentId), [vectors[during]]);
        await AssertExactAsync(upgraded, vectors, topics, during);
        await AssertExactAsync(second, vectors, topics, during);

        await ReleaseWritersAsync(writer);
        await upgraded.IndexBuilding;
        await second.IndexBuilding;

        Assert.Equal([PgVectorStore.HalfIndex + " valid"], await pg.QueryAsync(upgraded, Indexes));
        Assert.True(upgraded.SearchIndexReady);
        Assert.True(second.SearchIndexReady);
        // The build took in the write made while it ran.
        await AssertExactAsync(upgraded, vectors, topics, during);
        await AssertExactAsync(second, vectors, topics, during);
    }

    [Fact]
    public async Task The_previous_releases_sparser_graph_serves_searches_while_the_denser_one_is_built_then_goes()
    {
        var (store, vectors, topics) = await SeededAsync(37, MakePreviousReleaseAsync);

        await using var writer = await HoldWritersAsync(store);

        var upgraded = (PgVectorStore)await pg.ReopenAsync(store).WaitAsync(Hung);

        Assert.False(upgraded.IndexBuilding.IsCompleted);
        // The previous graph indexes the same half-precision expression: searches walk it meanwhile, not an exact scan.
        Assert.True(upgraded.SearchIndexReady);
        Assert.Contains(PgVectorStore.PreviousHalfIndex + " valid", await pg.QueryAsync(upgraded, Indexes));
        Assert.DoesNotContain(PgVectorStore.HalfIndex + " valid", await pg.QueryAsync(upgraded, Indexes));
        var during = new ContentKey("course", "during-build");
        vectors[during] = topics.Next();
        await upgraded.UpsertAsync(Record(during.ContentType, during.ContentId), [vectors[during]]);
        await AssertExactAsync(upgraded, vectors, topics, during);

        await ReleaseWritersAsync(writer);
        await upgraded.IndexBuilding.WaitAsync(Hung);

        Assert.Equal([PgVectorStore.HalfIndex + " valid"], await pg.QueryAsync(upgraded, Indexes));
        Assert.Equal(
            [string.Create(CultureInfo.InvariantCulture, $"m={PgVectorStore.GraphM},ef_construction={PgVectorStore.GraphEfConstruction}")],
            await pg.QueryAsync(upgraded, $"SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = '{PgVectorStore.HalfIndex}'::regclass"));
        Assert.True(upgraded.SearchIndexReady);
        await AssertExactAsync(upgraded, vectors, topics, during);
    }

    [Fact]
    public async Task An_invalid_index_left_by_a_failed_concurrent_build_is_dropped_and_built_again()
    {
        var (store, vectors, topics) = await SeededAsync(31, MakePreviousVersionAsync);
        // A concurrent build that dies (here: cancelled by its time limit while it waits for a writer) leaves its index invalid.
        await using (var writer = await HoldWritersAsync(store))
        await using (var builder = await pg.OpenConnectionAsync(store))
        {
            await using (var limit = new NpgsqlCommand("SET statement_timeout = '500ms'", builder))
            {
                await limit.ExecuteNonQueryAsync();
            }
            await using var build = new NpgsqlCommand(
                $"CREATE INDEX CONCURRENTLY {PgVectorStore.HalfIndex} ON content_items USING hnsw ({PgVectorStore.HalfEmbedding} halfvec_cosine_ops)", builder);
            var failed = await Assert.ThrowsAsync<PostgresException>(() => build.ExecuteNonQueryAsync());
            Assert.Equal(PostgresErrorCodes.QueryCanceled, failed.SqlState);
        }
        Assert.Equal([PgVectorStore.HalfIndex + " invalid", PgVectorStore.PreviousIndex + " valid"], await pg.QueryAsync(store, Indexes));
        var invalid = Assert.Single(await pg.QueryAsync(store, $"SELECT '{PgVectorStore.HalfIndex}'::regclass::oid::text"));

        var upgraded = (PgVectorStore)await pg.ReopenAsync(store);
        Assert.False(upgraded.SearchIndexReady);
        await upgraded.IndexBuilding;

        Assert.Equal([PgVectorStore.HalfIndex + " valid"], await pg.QueryAsync(upgraded, Indexes));
        Assert.NotEqual(invalid, Assert.Single(await pg.QueryAsync(store, $"SELECT '{PgVectorStore.HalfIndex}'::regclass::oid::text")));
        Assert.True(upgraded.SearchIndexReady);
        await AssertExactAsync(upgraded, vectors, topics, vectors.Keys.First());
    }

    /// <summary>The backend running this schema's concurrent build of the index, once it waits for the writers before it builds.</summary>
    private const string WaitingBuild = """
        SELECT pid::text FROM pg_stat_progress_create_index
        WHERE relid = 'content_items'::regclass AND command = 'CREATE INDEX CONCURRENTLY' AND phase = 'waiting for writers before build'
        """;

    /// <summary>The search index build's advisory lock on this schema, by whoever holds it.</summary>
    private const string BuildLocks = """
        SELECT pid::text FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = x'4b4e4e33'::int::oid
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND objid = hashtext(current_schema())::oid
        """;

    [Theory]
    [InlineData("pg_cancel_backend", true)]
    [InlineData("pg_terminate_backend", false)]
    public async Task A_build_that_fails_is_tried_again_without_a_restart_until_searches_walk_the_index(string stop, bool previousIndex)
    {
        var (store, vectors, topics) = await SeededAsync(37, previousIndex ? MakePreviousVersionAsync : DropSearchIndexAsync);
        // The writer holds the concurrent build in its first wait, where it is caught and stopped.
        await using var writer = await HoldWritersAsync(store);
        using var logs = new CapturedLogs();
        var upgraded = await pg.ReopenAsync(store, connectionString => new PgVectorStore(connectionString, logs.CreateLogger(nameof(PgVectorStore)))
        {
            IndexRetry = new RetrySchedule(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1)),
        }).WaitAsync(Hung);

        var build = await EventuallyAsync(async () => (await pg.QueryAsync(upgraded, WaitingBuild)).SingleOrDefault(),
            "The store's concurrent build never showed in pg_stat_progress_create_index.");
        Assert.Equal(["true"], await pg.QueryAsync(upgraded, StopSql(stop, build)));

        // The failure is logged with the attempt's number and the wait before the next, and the error is the build's own.
        var failure = await EventuallyAsync(() => Task.FromResult(logs.Entries.FirstOrDefault(e => e.Level == LogLevel.Error && e.Value("Attempt") == "1")),
            "The failed build was not logged as attempt 1.");
        Assert.Contains(PgVectorStore.HalfIndex, failure.Message);
        Assert.True(double.Parse(failure.Value("RetrySeconds")!, System.Globalization.CultureInfo.InvariantCulture) is >= 0.15 and <= 0.2, failure.Message);
        var error = Assert.IsType<PostgresException>(failure.Exception);
        Assert.Equal(stop == "pg_cancel_backend" ? PostgresErrorCodes.QueryCanceled : PostgresErrorCodes.AdminShutdown, error.SqlState);
        // Meanwhile the build left its index invalid, and searches answer exactly.
        Assert.False(upgraded.SearchIndexReady);
        Assert.Contains(PgVectorStore.HalfIndex + " invalid", await pg.QueryAsync(upgraded, Indexes));
        var invalid = Assert.Single(await pg.QueryAsync(upgraded, $"SELECT '{PgVectorStore.HalfIndex}'::regclass::oid::text"));
        await AssertExactAsync(upgraded, vectors, topics, vectors.Keys.First());

        await ReleaseWritersAsync(writer);
        try
        {
            await upgraded.IndexBuilding.WaitAsync(Hung);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"The search index work had not ended {Hung.TotalMinutes:F0} minutes after the writer let the build go on. Logged: " +
                string.Join(" | ", logs.Entries.Select(e => e.Message)));
        }

        Assert.True(upgraded.SearchIndexReady, "The build failed once and was not tried again: searches walk by the exact distance until a restart.");
        Assert.Equal([PgVectorStore.HalfIndex + " valid"], await pg.QueryAsync(upgraded, Indexes));
        // The invalid index was dropped and the index built again, and no session holds the build's lock any more.
        Assert.NotEqual(invalid, Assert.Single(await pg.QueryAsync(upgraded, $"SELECT '{PgVectorStore.HalfIndex}'::regclass::oid::text")));
        Assert.Empty(await pg.QueryAsync(upgraded, BuildLocks));
        // Searches are ordered by the index's expression again (at 300 items PostgreSQL still prefers to scan and sort), with the same answers.
        using (var recorder = new TelemetryRecorder())
        {
            var trace = ActivityTraceId.CreateRandom();
            using (new Activity("cyberhub-test").SetParentId(trace, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded).Start())
            {
                await AssertExactAsync(upgraded, vectors, topics, vectors.Keys.First());
            }
            Assert.All(recorder.Spans(trace, "vector.search"), span => Assert.Equal(true, span.GetTagItem("vector.half_index")));
            Assert.NotEmpty(recorder.Spans(trace, "vector.search"));
        }
    }

    [Theory]
    [InlineData("pg_cancel_backend")]
    [InlineData("pg_terminate_backend")]
    public async Task Stopping_the_store_while_it_waits_to_try_a_failed_build_again_ends_the_work_quietly(string stop)
    {
        var store = await pg.CreateStoreAsync();
        await SeedAsync(store, Enumerable.Range(0, 50).Select(i => new ContentKey("course", $"item-{i:D3}")), new Topics(41));
        await DropSearchIndexAsync(store);
        await using var writer = await HoldWritersAsync(store);
        using var logs = new CapturedLogs();
        // A wait far longer than the stop's own (30 s): the work ends only if stopping ends the wait.
        var upgraded = await pg.ReopenAsync(store, connectionString => new PgVectorStore(connectionString, logs.CreateLogger(nameof(PgVectorStore)))
        {
            IndexRetry = new RetrySchedule(TimeSpan.FromHours(1), TimeSpan.FromHours(1)),
        }).WaitAsync(Hung);
        var build = await EventuallyAsync(async () => (await pg.QueryAsync(upgraded, WaitingBuild)).SingleOrDefault(),
            "The store's concurrent build never showed in pg_stat_progress_create_index.");
        Assert.Equal(["true"], await pg.QueryAsync(upgraded, StopSql(stop, build)));
        var failure = await EventuallyAsync(() => Task.FromResult(logs.Entries.FirstOrDefault(e => e.Level == LogLevel.Error && e.Value("Attempt") == "1")),
            "The failed build was not logged as attempt 1.");
        Assert.True(double.Parse(failure.Value("RetrySeconds")!, System.Globalization.CultureInfo.InvariantCulture) >= 2700, failure.Message);
        // While it waits, the failed build's lock is free: another instance could take the work over.
        Assert.Empty(await pg.QueryAsync(store, BuildLocks));

        await upgraded.DisposeAsync();

        Assert.True(upgraded.IndexBuilding.IsCompletedSuccessfully, $"The search index work is {upgraded.IndexBuilding.Status} after the store stopped.");
        Assert.Single(logs.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains(logs.Entries, e => e.Message.Contains("stopped with the service", StringComparison.Ordinal));
        Assert.Empty(await pg.QueryAsync(store, BuildLocks));
    }

    [Theory]
    [InlineData(1, 0.0, 22.5)]
    [InlineData(1, 0.999999, 30)]
    [InlineData(2, 0.999999, 60)]
    [InlineData(3, 0.5, 105)]
    [InlineData(5, 0.999999, 480)]
    [InlineData(6, 0.999999, 900)]
    [InlineData(6, 0.0, 675)]
    [InlineData(1000, 0.999999, 900)]
    public void A_failed_build_waits_twice_as_long_after_each_failure_up_to_the_cap_less_up_to_a_quarter_at_random(int failures, double random, double seconds)
    {
        var delay = BackgroundRetry.Delay(failures, RetrySchedule.Default, random);

        Assert.Equal(seconds, delay.TotalSeconds, 0.01);
    }

    [Fact]
    public void A_retry_cap_below_the_first_wait_is_the_first_wait()
    {
        Assert.Equal(60, BackgroundRetry.Delay(3, new RetrySchedule(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(10)), 0.999999).TotalSeconds, 0.01);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetrySchedule(TimeSpan.Zero, TimeSpan.FromMinutes(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetrySchedule(TimeSpan.FromSeconds(1), -TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentNullException>(() => new PgVectorStore("Host=127.0.0.1", Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance) { IndexRetry = null! });
    }

    [Fact]
    public async Task A_fresh_database_has_the_index_when_the_store_has_started()
    {
        var store = (PgVectorStore)await pg.CreateStoreAsync();

        Assert.True(store.IndexBuilding.IsCompleted);
        Assert.True(store.SearchIndexReady);
        Assert.Equal([PgVectorStore.HalfIndex + " valid"], await pg.QueryAsync(store, Indexes));
    }

    /// <summary>Stops backend <paramref name="pid"/> by <paramref name="stop"/>; a termination returns once the backend is gone (and its locks with it).</summary>
    private static string StopSql(string stop, string pid) =>
        stop == "pg_terminate_backend" ? $"SELECT pg_terminate_backend({pid}, 60000)::text" : $"SELECT {stop}({pid})::text";

    /// <summary>What <paramref name="probe"/> finds first, polled; a failure with <paramref name="failure"/> if it finds nothing for <see cref="Hung"/>.</summary>
    private static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe, string failure) where T : class
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            if (await probe() is { } found)
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

    /// <summary>
    /// A new store with 300 items (a third of them labs) from topics of <paramref name="seed"/>, its indexes then left as
    /// <paramref name="shape"/> makes them.
    /// </summary>
    private async Task<(IVectorStore Store, Dictionary<ContentKey, float[]> Vectors, Topics Topics)> SeededAsync(int seed, Func<IVectorStore, Task> shape)
    {
        var store = await pg.CreateStoreAsync();
        var topics = new Topics(seed);
        var vectors = await SeedAsync(store, Enumerable.Range(0, 300).Select(i => new ContentKey(i % 3 == 0 ? "lab" : "course", $"item-{i:D3}")), topics);
        await shape(store);
        return (store, vectors, topics);
    }

    /// <summary>
    /// A writer's open transaction on <paramref name="store"/>'s catalog: a concurrent index build waits for it before it
    /// builds, so it cannot end before <see cref="ReleaseWritersAsync"/>.
    /// </summary>
    private async Task<NpgsqlConnection> HoldWritersAsync(IVectorStore store)
    {
        var writer = await pg.OpenConnectionAsync(store);
        await using var hold = new NpgsqlCommand("BEGIN; LOCK TABLE content_items IN ROW EXCLUSIVE MODE", writer);
        await hold.ExecuteNonQueryAsync();
        return writer;
    }

    /// <summary>Ends the transaction of <see cref="HoldWritersAsync"/>: the build goes on.</summary>
    private static async Task ReleaseWritersAsync(NpgsqlConnection writer)
    {
        await using var release = new NpgsqlCommand("ROLLBACK", writer);
        await release.ExecuteNonQueryAsync();
    }

    /// <summary>A store without its search index, and none before it (as a build that never ran).</summary>
    private Task DropSearchIndexAsync(IVectorStore store) => pg.ExecuteSqlAsync(store, $"DROP INDEX {PgVectorStore.HalfIndex}");

    /// <summary>The shape the previous version left: its HNSW index over the full-precision vectors, none over half precision.</summary>
    private Task MakePreviousVersionAsync(IVectorStore store) => pg.ExecuteSqlAsync(store, $"""
        DROP INDEX {PgVectorStore.HalfIndex};
        CREATE INDEX {PgVectorStore.PreviousIndex} ON content_items USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
        """);

    /// <summary>The shape the previous release left: its half-precision index with pgvector's default graph, under its own name.</summary>
    private Task MakePreviousReleaseAsync(IVectorStore store) => pg.ExecuteSqlAsync(store, $"""
        DROP INDEX {PgVectorStore.HalfIndex};
        CREATE INDEX {PgVectorStore.PreviousHalfIndex} ON content_items USING hnsw ({PgVectorStore.HalfEmbedding} halfvec_cosine_ops) WITH (m = 16, ef_construction = 64);
        """);

    /// <summary>The exact nearest with exact scores, unfiltered and of one type, for a few queries and <paramref name="item"/>'s own vector.</summary>
    private static async Task AssertExactAsync(IVectorStore store, Dictionary<ContentKey, float[]> vectors, Topics topics, ContentKey item)
    {
        foreach (var query in Enumerable.Range(0, 3).Select(_ => topics.Next()).Append(vectors[item]))
        {
            foreach (var type in new[] { null, "lab" })
            {
                var hits = await store.SearchAsync(query, 10, type);

                Assert.Equal(ExactTop(vectors, query, 10, k => type is null || k.ContentType == type), hits.Select(h => new ContentKey(h.Content.ContentType, h.Content.ContentId)));
                foreach (var hit in hits)
                {
                    Assert.Equal(Dot(vectors[new ContentKey(hit.Content.ContentType, hit.Content.ContentId)], query), hit.Score, 1e-5);
                }
            }
        }
    }
}

/// <summary>
/// The HNSW beam (<c>hnsw.ef_search</c>) a pgvector search walks with: at least the configured one (larger catalogs
/// need a wider beam for the same recall), at least 100 when filtered, as wide as the candidates when many are asked for;
/// and how many of the index's candidates it re-ranks exactly (the fetch and 30 more; all of an exact scan).
/// </summary>
public sealed class PgVectorSearchBeamTests(PgVectorStoreFixture pg) : IClassFixture<PgVectorStoreFixture>, IDisposable
{
    private readonly TelemetryRecorder _recorder = new();

    public void Dispose() => _recorder.Dispose();

    [Theory]
    [InlineData(PgVectorStore.DefaultEfSearch, null, 5, 100, 35)]
    [InlineData(40, null, 5, 40, 35)]
    [InlineData(40, null, 10, 40, 40)]
    [InlineData(40, "lab", 5, 100, 35)]
    [InlineData(40, null, 150, 180, 180)]
    [InlineData(250, null, 5, 250, 35)]
    [InlineData(250, "lab", 5, 250, 35)]
    [InlineData(250, null, 150, 250, 180)]
    [InlineData(1000, null, 600, 1000, 630)]
    [InlineData(40, null, 990, 1000, 1000)]
    [InlineData(PgVectorStore.DefaultEfSearch, null, 1001, 1000, 1001)]
    public async Task A_search_walks_with_the_configured_beam_or_wider(int configured, string? type, int limit, int expected, int candidates)
    {
        var store = await pg.CreateStoreAsync(configured);
        var topics = new Topics(7);
        await SeedAsync(store, Enumerable.Range(0, 40).ToDictionary(i => new ContentKey(i % 4 == 0 ? "lab" : "course", $"item-{i:D2}"), _ => topics.Next()));

        var trace = ActivityTraceId.CreateRandom();
        using (new Activity("cyberhub-test").SetParentId(trace, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded).Start())
        {
            var hits = await store.SearchAsync(topics.Next(), limit, type);
            Assert.Equal(Math.Min(limit, type is null ? 40 : 10), hits.Count);
        }

        var span = Assert.Single(_recorder.Spans(trace, "vector.search"));
        Assert.Equal(expected, span.GetTagItem("vector.ef_search"));
        Assert.Equal(candidates, span.GetTagItem("vector.candidates"));
    }

    [Theory]
    [InlineData(9)]
    [InlineData(1001)]
    public void A_beam_pgvector_does_not_take_stops_the_start(int efSearch)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => AiApp.Build(
            ["--ConnectionStrings:vectors=Host=127.0.0.1;Database=unused", $"--VectorSearch:EfSearch={efSearch}"]));
        Assert.Contains("VectorSearch:EfSearch must be between 10 and 1000", error.Message);
    }
}

/// <summary>
/// A pgvector search walks the HNSW index whatever its beam, exclusions and type. pgvector prices an HNSW scan by its
/// beam, and a wide beam over a catalog of some thousands is priced as reading the whole index; where the rows keep
/// their vectors out of line (rows of more than 2 KB, as an import's descriptions make them), a sequential scan looked
/// cheaper, and the planner converted every row to half precision and sorted them all on each search.
/// </summary>
public sealed class PgVectorSearchPlanTests(PgVectorStoreFixture pg) : IClassFixture<PgVectorStoreFixture>
{
    // Beams and candidates as the store computes them (PgVectorSearchBeamTests): a recommendation miss asks for the 150
    // nearest not started (beam and candidates 150 + started + 30); a page of search results for 10. And the widest beam
    // a configuration may set, over a miss's candidates.
    [Theory]
    [InlineData(null, 150, 5, 185, 185)]
    [InlineData(null, 150, 0, 180, 180)]
    [InlineData(null, 10, 30, 100, 70)]
    [InlineData("lab", 150, 5, 185, 185)]
    [InlineData(null, 150, 5, 1000, 185)]
    public async Task A_search_walks_the_index_whatever_its_beam_exclusions_and_type(string? type, int limit, int excluded, int efSearch, int candidates)
    {
        var store = await Catalogs.GetOrAdd(pg, SeededAsync);
        await using var connection = await pg.OpenConnectionAsync(store);
        await using var transaction = await connection.BeginTransactionAsync();
        var query = new Topics(3).Next();
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new(PgVectorStore.SearchSettingsSql(exactScan: false)) { Parameters = { new() { Value = efSearch.ToString(CultureInfo.InvariantCulture) } } },
                new("EXPLAIN " + PgVectorStore.NearestSql(type is not null, excluded > 0, withVectors: true, halfIndex: true))
                {
                    Parameters =
                    {
                        new() { Value = "[" + string.Join(',', query.Select(x => x.ToString("R", CultureInfo.InvariantCulture))) + "]", NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Unknown },
                        new() { Value = (long)candidates },
                        new() { Value = (object?)type ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
                        new() { Value = Enumerable.Range(1, excluded).Select(_ => "lesson").ToArray() },
                        new() { Value = Enumerable.Range(1, excluded).Select(i => $"item-{i}").ToArray() },
                        new() { Value = (long)limit },
                    },
                },
            },
        };
        var plan = new List<string>();
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            await reader.NextResultAsync();
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }
        }

        Assert.Contains(plan, line => line.Contains($"Index Scan using {PgVectorStore.HalfIndex} on content_items", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, line => line.Contains("Seq Scan on content_items", StringComparison.Ordinal));
        // The price that keeps sorting out is not a reason to compile the plan.
        Assert.DoesNotContain(plan, line => line.StartsWith("JIT:", StringComparison.Ordinal));
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<PgVectorStoreFixture, Task<IVectorStore>> Catalogs = new();

    /// <summary>
    /// A store of 2,000 items written straight in, with descriptions long enough that the rows keep their vectors out
    /// of line, then the index built over them and the table analysed, as after an import.
    /// </summary>
    private static async Task<IVectorStore> SeededAsync(PgVectorStoreFixture pg)
    {
        var store = await pg.CreateStoreAsync();
        await pg.ExecuteSqlAsync(store, $"""
            SELECT setseed(0.17);
            INSERT INTO content_items (content_type, content_id, title, description, metadata, chunk_count, created_at, updated_at, embedding)
            SELECT CASE WHEN g % 10 = 0 THEN 'lab' ELSE 'lesson' END, 'item-' || g, 'Lesson ' || g,
                   (SELECT string_agg(md5(random()::text), ' ') FROM generate_series(1, 24) WHERE g > 0), jsonb_build_object(), 1, now(), now(),
                   (SELECT array_agg(random() - 0.5) FROM generate_series(1, {ContentVectors.Dimensions}) WHERE g > 0)::vector
            FROM generate_series(1, 2000) AS g;
            REINDEX INDEX {PgVectorStore.HalfIndex};
            ANALYZE content_items;
            """);
        Assert.Equal("true", (await pg.QueryAsync(store, "SELECT (avg(pg_column_size(c.*)) > 2000)::text FROM content_items AS c"))[0]);
        return store;
    }
}
