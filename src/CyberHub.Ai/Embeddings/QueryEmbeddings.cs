using System.Security.Cryptography;
using System.Text;
using CyberHub.ServiceDefaults.Caching;
using Microsoft.Extensions.Caching.Hybrid;

namespace CyberHub.Ai.Embeddings;

/// <summary>
/// Embeddings of search texts, cached by a hash of the text: people search for the same things again and
/// again, and a cache hit costs microseconds where the model costs milliseconds.
/// </summary>
public sealed class QueryEmbeddings(IEmbeddingGenerator embeddings, HybridCache cache, CacheLifetimes lifetimes)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    public async Task<float[]> EmbedAsync(string text, CancellationToken cancellationToken)
    {
        var key = "embedding:" + embeddings.ModelName + ":" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        return await cache.GetOrCreateAsync(
            "query_embedding",
            key,
            (embeddings, text),
            static async (state, ct) => (await state.embeddings.EmbedAsync([state.text], ct))[0],
            lifetimes.For(Lifetime),
            cancellationToken: cancellationToken);
    }
}
