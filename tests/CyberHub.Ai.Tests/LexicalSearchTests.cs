using CyberHub.Ai.Catalog;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Ai.VectorStore;
using static CyberHub.Ai.Tests.Infrastructure.SyntheticContent;

namespace CyberHub.Ai.Tests;

/// <summary>
/// The stores' full-text index and the hybrid search over it, on a small hand-made catalog whose vectors are built to
/// a chosen cosine with the query (the query is the first axis; item i leans on axis i + 1 for the rest).
/// </summary>
public abstract class LexicalSearchTests<TFixture>(TFixture fixture) where TFixture : VectorStoreFixture
{
    private static readonly float[] Query = Axis(0);

    /// <summary>A unit vector at cosine <paramref name="cosine"/> with <see cref="Query"/>.</summary>
    private static float[] At(double cosine, int axis)
    {
        var vector = new float[ContentVectors.Dimensions];
        vector[0] = (float)cosine;
        vector[axis] = (float)Math.Sqrt(1 - cosine * cosine);
        return vector;
    }

    private static float[] Axis(int axis)
    {
        var vector = new float[ContentVectors.Dimensions];
        vector[axis] = 1;
        return vector;
    }

    private static ContentRecord Item(string type, string id, string title, string description) =>
        Record(type, id, title) with { Description = description };

    /// <summary>Six items: the words "password" and "hashing" sit in titles, descriptions or nowhere.</summary>
    private async Task<IVectorStore> CatalogAsync()
    {
        var store = await fixture.CreateStoreAsync();
        await store.UpsertAsync(Item("lesson", "kerberoasting", "Kerberoasting service accounts",
            "Attackers request service tickets and crack them offline."), [At(0.90, 1)]);
        await store.UpsertAsync(Item("lesson", "password-hashing", "Password hashing with Argon2",
            "Store passwords with a slow, salted hash so that a stolen database gives attackers little."), [At(0.80, 2)]);
        await store.UpsertAsync(Item("lab", "cracking-hashes", "Cracking weak hashes",
            "Use hashcat against a leaked password list and see why a fast hash is not enough."), [At(0.50, 3)]);
        await store.UpsertAsync(Item("course", "mfa", "Multi-factor authentication",
            "Second factors stop logins with a phished password."), [At(0.30, 4)]);
        await store.UpsertAsync(Item("lesson", "firewalls", "Firewalls and segmentation",
            "Default-deny rules and VLANs."), [At(0.10, 5)]);
        await store.UpsertAsync(Item("lesson", "tls", "Inside the TLS handshake",
            "Key exchange, certificates and résumé of session tickets."), [At(0.20, 6)]);
        return store;
    }

    private static List<string> Ids(IEnumerable<LexicalHit> hits) => [.. hits.Select(h => h.Content.ContentId)];

    private static readonly HybridSearchOptions Options = new(Candidates: 50, RrfK: 60, LexicalWeight: 1.0, Floor: 0.25);

    [Fact]
    public async Task Lexical_search_finds_items_by_their_words_with_stems_titles_first_and_honours_the_type_filter()
    {
        var store = await CatalogAsync();

        var hits = await store.LexicalSearchAsync("Password hashing", 10);
        // Both words in the title first; both in the description next; one word (a stem of it: "password") last.
        Assert.Equal(["password-hashing", "cracking-hashes", "mfa"], Ids(hits));
        Assert.Equal([true, true, false], hits.Select(h => h.AllTerms));
        Assert.True(hits[0].Score > hits[1].Score && hits[1].Score > hits[2].Score, string.Join(", ", hits.Select(h => h.Score)));
        Assert.Equal("Password hashing with Argon2", hits[0].Content.Title);

        Assert.Equal(["password-hashing"], Ids(await store.LexicalSearchAsync("stolen passwords", 10, "lesson")));
        Assert.Equal(["cracking-hashes"], Ids(await store.LexicalSearchAsync("hashes", 10, "lab")));
        Assert.Equal(["password-hashing"], Ids(await store.LexicalSearchAsync("password hashing", 1)));
        // Stop words alone, and words no item has, find nothing.
        Assert.Empty(await store.LexicalSearchAsync("how do I the of and", 10));
        Assert.Empty(await store.LexicalSearchAsync("chocolate cactus", 10));
        // Words outside ASCII, in any case.
        Assert.Equal(["tls"], Ids(await store.LexicalSearchAsync("RÉSUMÉ", 10)));
    }

    [Fact]
    public async Task Writes_and_deletes_keep_the_index_in_step()
    {
        var store = await CatalogAsync();
        await store.UpsertAsync(Item("lab", "zebra", "Zebra striping", "Tables with alternating rows."), [At(0.4, 7)]);
        Assert.Equal(["zebra"], Ids(await store.LexicalSearchAsync("zebra", 10)));

        // Replaced: the old words are gone, the new ones found; one row per item.
        await store.UpsertAsync(Item("lab", "zebra", "Giraffe necks", "Tall animals."), [At(0.4, 7)]);
        Assert.Empty(await store.LexicalSearchAsync("zebra striping alternating", 10));
        Assert.Equal(["zebra"], Ids(await store.LexicalSearchAsync("giraffe animals", 10)));

        // A write refused for its owner changes nothing in the index either.
        await store.UpsertAsync(Item("lab", "owned", "Owned by Alice", "Alpaca farming."), [At(0.4, 8)], new ContentWriter("alice", false));
        await Assert.ThrowsAsync<ContentOwnedByAnotherException>(() =>
            store.UpsertAsync(Item("lab", "owned", "Taken by Bob", "Llama farming."), [At(0.4, 8)], new ContentWriter("bob", false)));
        Assert.Empty(await store.LexicalSearchAsync("llama", 10));
        Assert.Equal(["owned"], Ids(await store.LexicalSearchAsync("alpaca", 10)));

        Assert.True(await store.DeleteAsync(new ContentKey("lab", "zebra")));
        Assert.Empty(await store.LexicalSearchAsync("giraffe", 10));
        // What was written is what a reopened store finds: the index is stored with the items.
        var reopened = await fixture.ReopenAsync(store);
        Assert.Empty(await reopened.LexicalSearchAsync("giraffe zebra", 10));
        Assert.Equal(["owned"], Ids(await reopened.LexicalSearchAsync("alpaca", 10)));
        Assert.Equal(["password-hashing", "cracking-hashes", "mfa"], Ids(await reopened.LexicalSearchAsync("password hashing", 10)));
    }

    public static TheoryData<string> HostileQueries() =>
    [
        "\"", "\"\"\"", "\"password", "password\"", "NEAR(password hashing, 2)", "password NEAR hashing", "*", "pass*", "-password",
        "^password", "title:password", "description : hashing", "{title}: password", "(password OR", ")) AND ((", "AND", "OR NOT",
        "NOT password", "password AND", "'; DROP TABLE content_items; --", "\\", "\\\"", "password & hashing | !tls <-> x:*", "!!!",
        "🔐🔑", "пароль", "密码 哈希", "e\u0301te\u0301", "\u0301\u0301", "\u0000password", "\ud800password", "a\u200bb", "ﬁrewall",
        new string('a', 1000), string.Join(' ', Enumerable.Range(0, 200).Select(i => $"w{i}")), "the of and to", "   ", "",
    ];

    [Theory]
    [MemberData(nameof(HostileQueries))]
    public async Task Any_query_text_is_searched_without_error(string query)
    {
        var store = await CatalogAsync();
        var hits = await store.LexicalSearchAsync(query, 10);
        Assert.All(hits, h => Assert.True(h.Score > 0));
        var answer = await new HybridSearch(store).SearchAsync(query, Query, 10, null, Options, CancellationToken.None);
        Assert.True(answer.Matched);
    }

    [Fact]
    public async Task Hybrid_search_fuses_both_rankings_and_drops_items_neither_similar_nor_matching()
    {
        var store = await CatalogAsync();
        var answer = await new HybridSearch(store).SearchAsync("password hashing", Query, 10, null, Options, CancellationToken.None);

        Assert.True(answer.Matched);
        // password-hashing: 2nd by meaning, 1st by words; cracking-hashes: 3rd and 2nd; mfa: 4th and 3rd; kerberoasting:
        // 1st by meaning only. TLS (0.20) and firewalls (0.10) are neither similar enough nor matching.
        Assert.Equal(["password-hashing", "cracking-hashes", "mfa", "kerberoasting"], answer.Hits.Select(h => h.Content.ContentId));
        Assert.Equal([true, true, true, false], answer.Hits.Select(h => h.LexicalMatch));
        Assert.Equal([0.8, 0.5, 0.3, 0.9], answer.Hits.Select(h => Math.Round(h.Similarity, 3)));
        Assert.All(answer.Hits.Zip(answer.Hits.Skip(1)), p => Assert.True(p.First.Score > p.Second.Score));
        Assert.InRange(answer.Hits[0].Score, 0.9, 1.0);

        // A word match below the floor is still shown; an item neither similar nor matching is not.
        var tls = await new HybridSearch(store).SearchAsync("tls handshake", Query, 10, null, Options, CancellationToken.None);
        Assert.Equal(["tls", "kerberoasting", "password-hashing", "cracking-hashes", "mfa"], tls.Hits.Select(h => h.Content.ContentId));
        Assert.Equal(["tls"], tls.Hits.Where(h => h.Similarity < Options.Floor).Select(h => h.Content.ContentId));

        var typed = await new HybridSearch(store).SearchAsync("password hashing", Query, 10, "lab", Options, CancellationToken.None);
        Assert.Equal(["cracking-hashes"], typed.Hits.Select(h => h.Content.ContentId));
    }

    [Fact]
    public async Task Nothing_similar_and_no_item_with_every_word_is_no_match()
    {
        var store = await CatalogAsync();
        // A query pointing away from every item: the best cosine is 0.
        var elsewhere = Axis(100);
        var nonsense = await new HybridSearch(store).SearchAsync("chocolate chip cookie recipe", elsewhere, 10, null, Options, CancellationToken.None);
        Assert.False(nonsense.Matched);
        Assert.Empty(nonsense.Hits);
        // One word in common is not enough ("hashes" is a word of the catalog, "muffin" is not)...
        var partly = await new HybridSearch(store).SearchAsync("muffin hashes", elsewhere, 10, null, Options, CancellationToken.None);
        Assert.False(partly.Matched);
        // ...but an item with every word of the query is a match even when the vectors disagree.
        var exact = await new HybridSearch(store).SearchAsync("hashcat leaked hashes", elsewhere, 10, null, Options, CancellationToken.None);
        Assert.True(exact.Matched);
        Assert.Equal(["cracking-hashes", "password-hashing"], exact.Hits.Select(h => h.Content.ContentId));
    }

    [Fact]
    public async Task A_store_made_before_the_index_is_upgraded_and_searchable()
    {
        var store = await CatalogAsync();
        await fixture.ExecuteSqlAsync(store, fixture is PgVectorStoreFixture
            ? "DROP INDEX content_items_search_idx; ALTER TABLE content_items DROP COLUMN search_document"
            : "DROP TRIGGER content_search_insert; DROP TRIGGER content_search_update; DROP TRIGGER content_search_delete; DROP TABLE content_search");

        var upgraded = await fixture.ReopenAsync(store);
        Assert.Equal(["password-hashing", "cracking-hashes", "mfa"], Ids(await upgraded.LexicalSearchAsync("password hashing", 10)));
        // And kept in step from then on.
        await upgraded.UpsertAsync(Item("lab", "new", "Passwordless login", "Passkeys replace the password."), [At(0.6, 9)]);
        Assert.Contains("new", Ids(await upgraded.LexicalSearchAsync("password", 10)));
        Assert.True(await upgraded.DeleteAsync(new ContentKey("course", "mfa")));
        Assert.DoesNotContain("mfa", Ids(await upgraded.LexicalSearchAsync("password", 10)));
    }
}

public sealed class EmbeddedLexicalSearchTests(EmbeddedStoreFixture fixture)
    : LexicalSearchTests<EmbeddedStoreFixture>(fixture), IClassFixture<EmbeddedStoreFixture>;

/// <summary>The FTS5 index is tied to the items by rowid; an index whose rowids no longer match is rebuilt.</summary>
public sealed class EmbeddedLexicalIndexRebuildTests(EmbeddedStoreFixture fixture) : IClassFixture<EmbeddedStoreFixture>
{
    [Fact]
    public async Task An_index_out_of_step_with_the_items_is_rebuilt_on_start()
    {
        var store = await fixture.CreateStoreAsync();
        await store.UpsertAsync(Record("lab", "a", "Alpha zebra"), [UnitVector(new Random(1))]);
        await store.UpsertAsync(Record("lab", "b", "Beta giraffe"), [UnitVector(new Random(2))]);
        // As a VACUUM may leave it: the items' rowids no longer those the index holds.
        await fixture.ExecuteSqlAsync(store, "DELETE FROM content_search; INSERT INTO content_search (rowid, content_type, content_id, title, description) " +
            "SELECT rowid + 1000, content_type, content_id, title, description FROM content_items");

        var reopened = await fixture.ReopenAsync(store);
        Assert.Equal(["a"], (await reopened.LexicalSearchAsync("zebra", 10)).Select(h => h.Content.ContentId));
        Assert.True(await reopened.DeleteAsync(new ContentKey("lab", "a")));
        Assert.Empty(await reopened.LexicalSearchAsync("zebra", 10));
        Assert.Equal(["b"], (await reopened.LexicalSearchAsync("giraffe", 10)).Select(h => h.Content.ContentId));
    }
}

public sealed class PgVectorLexicalSearchTests(PgVectorStoreFixture fixture)
    : LexicalSearchTests<PgVectorStoreFixture>(fixture), IClassFixture<PgVectorStoreFixture>;

/// <summary>The fusion alone, on lists made by hand.</summary>
public sealed class HybridFusionTests
{
    private static readonly HybridSearchOptions Options = new(Candidates: 50, RrfK: 60, LexicalWeight: 1.0, Floor: 0.25);

    private static ContentRecord Item(string id) => Record("lesson", id, id);

    [Fact]
    public void Equal_scores_share_a_rank()
    {
        Assert.Equal([1, 2, 2, 4, 4, 4, 7], HybridSearch.SharedRanks([0.9, 0.5, 0.5, 0.1, 0.1, 0.1, 0.0]));
        Assert.Empty(HybridSearch.SharedRanks([]));
    }

    [Fact]
    public void How_a_store_orders_a_tie_does_not_decide_the_answer()
    {
        // Every cosine equal: the words alone must order the answer, whichever way the vector list breaks the tie.
        string[] ids = ["a", "b", "c", "d"];
        var similarities = ids.ToDictionary(id => new ContentKey("lesson", id), _ => 0.5);
        var lexical = new List<LexicalHit> { new(Item("c"), 2.0, true), new(Item("b"), 1.0, false) };
        var answers = new[] { ids, ids.Reverse().ToArray(), ["c", "a", "d", "b"] }
            .Select(order => HybridSearch.Fuse([.. order.Select(id => new SearchHit(Item(id), 0.5))], lexical, similarities, 10, Options))
            .Select(answer => answer.Hits.Select(h => h.Content.ContentId).ToList())
            .ToList();
        Assert.All(answers, answer => Assert.Equal(["c", "b", "a", "d"], answer));
    }
}
