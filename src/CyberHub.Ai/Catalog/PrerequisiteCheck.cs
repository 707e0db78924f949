using System.Text.Json.Nodes;
using CyberHub.Ai.VectorStore;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Errors;

namespace CyberHub.Ai.Catalog;

/// <summary>
/// The prerequisites of an item about to be written, checked against the catalog: every reference names an item that
/// exists (in the store, or in the same import), and none of them requires the item, directly or through its own
/// prerequisites. The walk visits at most <see cref="MaxWalk"/> items.
/// </summary>
public static class PrerequisiteCheck
{
    public const int MaxWalk = 2_000;

    public const string UnknownReference = "is not in the catalog (store the items an item requires before it)";

    /// <summary>The prerequisites of the given items that are known (unknown keys left out).</summary>
    public delegate Task<IReadOnlyDictionary<ContentKey, IReadOnlyList<ContentKey>>> Lookup(IReadOnlyCollection<ContentKey> keys, CancellationToken cancellationToken);

    /// <summary>
    /// Level and prerequisites of <paramref name="metadata"/> (an object in stored form) checked and normalised by
    /// <see cref="ContentPaths.Normalise"/>, with the service's rule for content ids; the metadata to store and the references.
    /// </summary>
    public static (string Metadata, IReadOnlyList<ContentKey> Prerequisites) Normalise(ContentKey self, string metadata)
    {
        var json = JsonNode.Parse(metadata) as JsonObject ?? [];
        if (!json.ContainsKey(ContentPaths.LevelKey) && !json.ContainsKey(ContentPaths.PrerequisitesKey))
        {
            return (metadata, []);
        }
        if (ContentPaths.Normalise(json, ContentFacts.Reference(self), IdProblem) is { } problem)
        {
            throw ApiException.BadRequest(problem);
        }
        var keys = ContentPaths.PrerequisitesOf(json).Select(r => ContentFacts.Reference(r)!.Value).ToList();
        return (ContentRules.Metadata(json), keys);
    }

    private static string? IdProblem(string id)
    {
        try
        {
            ContentRules.ContentId(id);
            return null;
        }
        catch (ApiException e)
        {
            return e.Message.StartsWith("content_id: ", StringComparison.Ordinal) ? e.Message["content_id: ".Length..] : e.Message;
        }
    }

    /// <summary>The store's items as a <see cref="Lookup"/>.</summary>
    public static Lookup From(IVectorStore store) => async (keys, ct) =>
        (await store.GetManyAsync(keys, ct)).ToDictionary(v => v.Key, v => ContentFacts.From(v.Content).Before);

    /// <summary>The items as a write's transaction reads them (<see cref="InTransactionReader"/>) as a <see cref="Lookup"/>.</summary>
    public static Lookup From(InTransactionReader read) => async (keys, ct) =>
        (await read(keys, ct)).ToDictionary(p => p.Key, p => ContentFacts.PrerequisitesOf(p.Value));

    /// <summary>
    /// The check of <see cref="CheckAsync"/> as a <see cref="WriteCheck"/>: the store runs it in the write's transaction,
    /// under the catalog's write lock, so two writes at once that each close half of a cycle cannot both commit (the
    /// second one's walk sees the first one's prerequisites). Null when there is nothing to check. With
    /// <paramref name="unknownAllowed"/> (an import, whose file may name items stored later in the same import) a
    /// reference not stored yet is not walked and not refused: the file's own check covers it.
    /// </summary>
    public static WriteCheck? InTransaction(ContentKey self, IReadOnlyList<ContentKey> prerequisites, bool unknownAllowed = false) =>
        prerequisites.Count == 0 ? null : (read, ct) => CheckAsync(self, prerequisites, From(read), ct, unknownAllowed: unknownAllowed);

    /// <summary>
    /// Throws a 400 naming the reference when one of <paramref name="prerequisites"/> (those of <paramref name="self"/>)
    /// is unknown to <paramref name="lookup"/> or leads back to <paramref name="self"/>.
    /// </summary>
    public static async Task CheckAsync(
        ContentKey self, IReadOnlyList<ContentKey> prerequisites, Lookup lookup, CancellationToken cancellationToken, string unknown = UnknownReference,
        bool unknownAllowed = false)
    {
        if (prerequisites.Count == 0)
        {
            return;
        }
        var known = await lookup(prerequisites, cancellationToken);
        for (var i = 0; i < prerequisites.Count; i++)
        {
            if (!unknownAllowed && !known.ContainsKey(prerequisites[i]))
            {
                throw ApiException.BadRequest($"metadata.prerequisites[{i}]: {ContentFacts.Reference(prerequisites[i])} {unknown}.");
            }
        }
        // Each visited item with the item it was reached from (null: a direct prerequisite).
        var from = prerequisites.ToDictionary(k => k, _ => (ContentKey?)null);
        var frontier = known;
        while (frontier.Count > 0)
        {
            var next = new List<ContentKey>();
            foreach (var (key, before) in frontier)
            {
                foreach (var prerequisite in before)
                {
                    if (prerequisite == self)
                    {
                        throw Cycle(self, key, prerequisites, from);
                    }
                    if (from.TryAdd(prerequisite, key))
                    {
                        next.Add(prerequisite);
                    }
                }
            }
            if (from.Count > MaxWalk)
            {
                throw ApiException.BadRequest(
                    $"metadata.prerequisites: the items it requires, directly or through their own prerequisites, are more than {MaxWalk}; a learning path may not be that long.");
            }
            frontier = next.Count == 0 ? new Dictionary<ContentKey, IReadOnlyList<ContentKey>>() : await lookup(next, cancellationToken);
        }
    }

    private static ApiException Cycle(ContentKey self, ContentKey last, IReadOnlyList<ContentKey> prerequisites, Dictionary<ContentKey, ContentKey?> from)
    {
        var chain = new List<ContentKey> { self, last };
        for (var at = from[last]; at is { } key; at = from[key])
        {
            chain.Add(key);
        }
        chain.Add(self);
        chain.Reverse();
        // chain: self, the direct prerequisite, ..., last, self.
        var index = prerequisites.ToList().IndexOf(chain[1]);
        return ApiException.BadRequest(
            $"metadata.prerequisites[{index}]: {ContentFacts.Reference(chain[1])} requires this item ({string.Join(" → ", chain.Select(k => ContentFacts.Reference(k)))}); prerequisites may not form a cycle.");
    }
}
