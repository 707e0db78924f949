using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CyberHub.Ai.Catalog;
using CyberHub.Ai.Tests.Infrastructure;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Ai.Tests;

/// <summary>
/// Every catalog item has an owner (the <c>sub</c> of the token that created it, or none for the platform's own
/// items); a write replaces an item only when its writer may, checked in the store's own transaction.
/// </summary>
public abstract class ContentOwnershipStoreTests<TFixture>(TFixture fixture) where TFixture : VectorStoreFixture
{
    private static readonly ContentWriter Alice = new("101", MayReplaceAny: false);
    private static readonly ContentWriter Bob = new("102", MayReplaceAny: false);
    private static readonly ContentWriter Admin = new("1", MayReplaceAny: true);

    [Fact]
    public async Task Writers_replace_only_what_they_may_and_never_change_the_owner()
    {
        var store = await fixture.CreateStoreAsync();
        var random = new Random(9);
        var key = new ContentKey("lab", "owned");
        await store.UpsertAsync(SyntheticContent.Record("lab", "owned", "Alice's"), SyntheticContent.Chunks(random, 2), Alice);
        Assert.Equal("101", (await store.GetAsync(key))!.CreatedBy);

        await Assert.ThrowsAsync<ContentOwnedByAnotherException>(() =>
            store.UpsertAsync(SyntheticContent.Record("lab", "owned", "Bob's"), SyntheticContent.Chunks(random, 3), Bob));
        Assert.Equal("Alice's", (await store.GetAsync(key))!.Title);
        Assert.Equal(["lab:owned:0", "lab:owned:1"], await fixture.StoredChunkIdsAsync(store, key));

        await store.UpsertAsync(SyntheticContent.Record("lab", "owned", "Alice again"), SyntheticContent.Chunks(random, 1), Alice);
        await store.UpsertAsync(SyntheticContent.Record("lab", "owned", "Edited by an admin") with { CreatedBy = "1" }, SyntheticContent.Chunks(random, 1), Admin);
        await store.UpsertAsync(SyntheticContent.Record("lab", "owned", "Imported"), SyntheticContent.Chunks(random, 1));
        var reopened = await fixture.ReopenAsync(store);
        foreach (var s in new[] { store, reopened })
        {
            var item = (await s.GetAsync(key))!;
            Assert.Equal(("Imported", "101"), (item.Title, item.CreatedBy));
        }
        await reopened.UpsertAsync(SyntheticContent.Record("lab", "owned", "Alice's last"), SyntheticContent.Chunks(random, 1), Alice);
        Assert.Equal("Alice's last", (await reopened.GetAsync(key))!.Title);
    }

    [Fact]
    public async Task Platform_items_are_replaced_only_by_writers_that_may_replace_any()
    {
        var store = await fixture.CreateStoreAsync();
        var random = new Random(10);
        var key = new ContentKey("course", "imported");
        await store.UpsertAsync(SyntheticContent.Record("course", "imported", "From the catalog file"), SyntheticContent.Chunks(random, 1));
        Assert.Null((await store.GetAsync(key))!.CreatedBy);

        await Assert.ThrowsAsync<ContentOwnedByAnotherException>(() =>
            store.UpsertAsync(SyntheticContent.Record("course", "imported", "Taken"), SyntheticContent.Chunks(random, 1), Alice));
        Assert.Equal("From the catalog file", (await store.GetAsync(key))!.Title);

        await store.UpsertAsync(SyntheticContent.Record("course", "imported", "Corrected"), SyntheticContent.Chunks(random, 1), Admin);
        var item = (await (await fixture.ReopenAsync(store)).GetAsync(key))!;
        Assert.Equal(("Corrected", (string?)null), (item.Title, item.CreatedBy));
    }

    [Fact]
    public async Task A_store_made_before_owners_were_recorded_is_upgraded_and_its_items_belong_to_the_platform()
    {
        var store = await fixture.CreateStoreAsync();
        var random = new Random(11);
        await store.UpsertAsync(SyntheticContent.Record("lab", "old", "Before owners"), SyntheticContent.Chunks(random, 1), Alice);
        await fixture.ExecuteSqlAsync(store, "ALTER TABLE content_items DROP COLUMN created_by");

        var upgraded = await fixture.ReopenAsync(store);
        var key = new ContentKey("lab", "old");
        Assert.Equal(("Before owners", (string?)null), ((await upgraded.GetAsync(key))!.Title, (await upgraded.GetAsync(key))!.CreatedBy));
        await Assert.ThrowsAsync<ContentOwnedByAnotherException>(() =>
            upgraded.UpsertAsync(SyntheticContent.Record("lab", "old", "Taken"), SyntheticContent.Chunks(random, 1), Alice));
        await upgraded.UpsertAsync(SyntheticContent.Record("lab", "new", "After owners"), SyntheticContent.Chunks(random, 1), Bob);
        Assert.Equal("102", (await (await fixture.ReopenAsync(upgraded)).GetAsync(new ContentKey("lab", "new")))!.CreatedBy);
    }
}

public sealed class EmbeddedContentOwnershipStoreTests(EmbeddedStoreFixture fixture)
    : ContentOwnershipStoreTests<EmbeddedStoreFixture>(fixture), IClassFixture<EmbeddedStoreFixture>;

public sealed class PgVectorContentOwnershipStoreTests(PgVectorStoreFixture fixture)
    : ContentOwnershipStoreTests<PgVectorStoreFixture>(fixture), IClassFixture<PgVectorStoreFixture>;
