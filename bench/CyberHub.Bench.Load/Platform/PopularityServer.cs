using System.Net.Http.Headers;
using System.Net.Http.Json;
using CyberHub.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CyberHub.Bench.Load.Platform;

/// <summary>
/// The baseline of the recommendation curve, never part of the product: the same request shape
/// (<c>GET /api/v1/recommendations/{user_id}</c> with the learner's token) over the same HTTP stack (Kestrel, minimal
/// API, System.Text.Json), answered by "the most-started items the learner has not started". Like the real service it
/// reads the learner's progress from Core over HTTP with the caller's token, every page; it verifies no token itself
/// (Core does) and caches nothing. Popularity is counted once from the bench's own set-up records.
/// </summary>
public sealed class PopularityServer : IAsyncDisposable
{
    private readonly HttpClient _core;
    private WebApplication _app = null!;
    private readonly IReadOnlyList<(CatalogItem Item, int Starts)> _popular;

    private PopularityServer(HttpClient core, IReadOnlyList<(CatalogItem Item, int Starts)> popular)
    {
        _core = core;
        _popular = popular;
    }

    public Uri BaseAddress { get; private set; } = null!;

    public static async Task<PopularityServer> StartAsync(Uri core, CatalogGenerator catalog, IEnumerable<Learner> learners, int maxConnections)
    {
        var popular = learners.SelectMany(l => l.Records)
            .GroupBy(r => r.ContentId)
            .Select(g => (Item: ItemOf(catalog, g.Key), Starts: g.Count()))
            .OrderByDescending(p => p.Starts).ThenBy(p => p.Item.Index)
            .ToList();
        var server = new PopularityServer(CoreClient.CreateHttpClient(core, maxConnections), popular);
        (server._app, server.BaseAddress) = await LoopbackApp.StartAsync(app => app.MapGet("/api/v1/recommendations/{userId:long}", server.RecommendAsync));
        return server;
    }

    // Generated ids end in the item's index ("lab-web-security-000042").
    private static CatalogItem ItemOf(CatalogGenerator catalog, string contentId) => catalog.Item(int.Parse(contentId[(contentId.LastIndexOf('-') + 1)..]));

    private async Task<IResult> RecommendAsync(long userId, int? limit, HttpRequest request, CancellationToken ct)
    {
        var started = new HashSet<(string, string)>();
        for (var page = 1; ; page++)
        {
            using var progress = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/progress/?user={userId}&page={page}&page_size=100");
            progress.Headers.Authorization = AuthenticationHeaderValue.Parse(request.Headers.Authorization.ToString());
            using var response = await _core.SendAsync(progress, ct);
            if (!response.IsSuccessStatusCode)
            {
                return Results.Json(new { detail = $"Core answered {(int)response.StatusCode}" }, statusCode: (int)response.StatusCode);
            }
            var records = (await response.Content.ReadFromJsonAsync<PagedResponse<ProgressDto>>(CyberHubJson.Options, ct))!;
            started.UnionWith(records.Results.Select(r => (r.ContentType, r.ContentId)));
            if (records.Next is null)
            {
                break;
            }
        }
        var picks = _popular
            .Where(p => !started.Contains((p.Item.ContentType, p.Item.ContentId)))
            .Take(limit ?? 10)
            .Select(p => new RecommendationDto(p.Item.ContentId, p.Item.ContentType, p.Item.Title, p.Item.Description, p.Starts,
                $"Started by {p.Starts} learners"))
            .ToList();
        return Results.Json(new RecommendationsResponse(userId, picks, picks.Count), CyberHubJson.Options);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _core.Dispose();
    }
}
