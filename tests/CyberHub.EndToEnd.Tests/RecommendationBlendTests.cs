using System.Net;
using System.Text.Json.Nodes;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.EndToEnd.Tests.Infrastructure;
using CyberHub.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.EndToEnd.Tests;

/// <summary>
/// Recommendations that learn from every learner: progress written through Core's API reaches AI through the outbox,
/// feeds the co-completion counts, and changes what a new learner is offered, with a reason naming the source. Each
/// test stores its own items under a topic no other test uses, so the counts of one test do not touch another.
/// </summary>
public abstract class RecommendationBlendTests<TPlatform>(TPlatform platform) where TPlatform : Platform
{
    private sealed record Item(string Type, string Id, string Title, string Text, string Level, string[]? Prerequisites = null);

    private static readonly Item Handshake = new("lesson", "wpa2-four-way-handshake", "The WPA2 Four-Way Handshake",
        "How WPA2 wireless networks derive session keys in the four-way handshake, what an attacker captures from the air and why a weak passphrase falls to an offline dictionary attack.", "beginner");
    private static readonly Item Wpa3 = new("lesson", "wpa3-and-sae", "WPA3 and Simultaneous Authentication of Equals",
        "How WPA3 replaces the WPA2 pre-shared key handshake with SAE so that a captured handshake no longer allows an offline dictionary attack on the wireless passphrase.", "beginner");
    private static readonly Item Cracking = new("lab", "cracking-captured-handshakes", "Cracking Captured Handshakes with Hashcat",
        "A hands-on lab: capture a wireless authentication exchange with a monitor-mode adapter, then recover the passphrase with hashcat rules and masks on a GPU.", "intermediate");
    private static readonly Item RogueAp = new("lab", "rogue-access-point-detection", "Detecting Rogue Access Points",
        "A lab on spotting evil-twin and rogue access points in a wireless survey: beacon anomalies, BSSID and channel mismatches, and alerts from a wireless intrusion detection system.", "intermediate");

    private static readonly Item Dmarc = new("lesson", "spf-dkim-and-dmarc", "SPF, DKIM and DMARC",
        "How email sender authentication works: SPF records list the servers allowed to send for a domain, DKIM signs messages, and DMARC tells receivers what to do when both fail.", "beginner");
    private static readonly Item DmarcLab = new("lab", "rolling-out-dmarc-enforcement", "Rolling Out DMARC Enforcement",
        "A lab: read DMARC aggregate reports, fix the SPF and DKIM alignment of every legitimate sender, then move a domain's policy from none to quarantine to reject.", "intermediate",
        ["lesson:spf-dkim-and-dmarc"]);
    private static readonly Item MailGateway = new("lesson", "secure-email-gateways", "Secure Email Gateways",
        "How secure email gateways filter inbound mail: sender reputation, attachment sandboxing, URL rewriting and the authentication results of SPF, DKIM and DMARC.", "intermediate");

    private async Task StoreAsync(string topic, params Item[] items)
    {
        using var admin = await platform.AdminAiClientAsync();
        foreach (var item in items)
        {
            var metadata = new JsonObject { ["topic"] = topic, ["level"] = item.Level, ["duration_minutes"] = 30 };
            if (item.Prerequisites is { } before)
            {
                metadata["prerequisites"] = new JsonArray([.. before.Select(b => (JsonNode)b)]);
            }
            (await admin.PostJsonAsync("/api/v1/embeddings/store", new StoreEmbeddingsRequest([item.Text], item.Type, item.Id, item.Title, item.Text, metadata)))
                .EnsureSuccessStatusCode();
        }
    }

    private static async Task CompleteAsync(Learner learner, Item item) =>
        (await learner.Client.PostJsonAsync("/api/v1/progress/", new CreateProgressRequest(item.Id, item.Type, ProgressStatus.Completed, 100, 90, 900, null)))
            .EnsureSuccessStatusCode();

    /// <summary>Waits until Core has delivered <paramref name="count"/> events of each learner to AI.</summary>
    private async Task DeliveredAsync(int count, params Learner[] learners)
    {
        var ids = learners.Select(l => l.User.Id).ToList();
        await Platform.EventuallyAsync(async () =>
        {
            await using var scope = platform.Core.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<CoreDbContext>();
            var delivered = await db.OutboxEvents.Where(e => ids.Contains(e.UserId) && e.DeliveredAt != null).GroupBy(e => e.UserId).Select(g => g.Count()).ToListAsync();
            return delivered.Count == ids.Count && delivered.All(c => c >= count);
        }, $"Core delivers {count} events of each learner to AI");
    }

    private async Task<RecommendationsResponse> RecommendAsync(Learner learner, string query = "") =>
        await (await platform.AiClient(learner.Access).GetAsync($"/api/v1/recommendations/{learner.User.Id}{query}")).ReadAsync<RecommendationsResponse>();

    [Fact]
    public async Task Learners_who_completed_one_item_then_another_lead_a_new_learner_to_the_second_with_that_reason()
    {
        await StoreAsync("wireless-security", Handshake, Wpa3, Cracking, RogueAp);
        var before = await platform.Core.RegisterAsync();
        await CompleteAsync(before, Handshake);
        await DeliveredAsync(1, before);
        // By content alone the lesson on WPA3 is closest to the handshake lesson; no one has taken anything after it yet.
        var alone = await RecommendAsync(before);
        Assert.NotEqual(Cracking.Id, alone.Recommendations[0].ContentId);
        Assert.DoesNotContain(alone.Recommendations, r => r.Reason.StartsWith("Learners who completed", StringComparison.Ordinal));

        // Several learners complete the handshake lesson, then the cracking lab, through Core's API.
        var learners = new List<Learner>();
        for (var i = 0; i < 4; i++)
        {
            var learner = await platform.Core.RegisterAsync();
            await CompleteAsync(learner, Handshake);
            await CompleteAsync(learner, Cracking);
            learners.Add(learner);
        }
        await DeliveredAsync(2, [.. learners]);

        var newcomer = await platform.Core.RegisterAsync();
        await CompleteAsync(newcomer, Handshake);
        await DeliveredAsync(1, newcomer);
        var picks = await RecommendAsync(newcomer);

        Assert.Equal(Cracking.Id, picks.Recommendations[0].ContentId);
        Assert.Equal($"Learners who completed '{Handshake.Title}' often take this next", picks.Recommendations[0].Reason);
        Assert.DoesNotContain(picks.Recommendations, r => r.ContentId == Handshake.Id);
        Assert.All(picks.Recommendations, r => Assert.Null(r.Explanation));

        // explain=true: the same list, each pick with its component scores, source, driver and readiness.
        var explained = await RecommendAsync(newcomer, "?explain=true");
        Assert.Equal(picks.Recommendations.Select(r => (r.ContentId, r.Reason, r.Score)), explained.Recommendations.Select(r => (r.ContentId, r.Reason, r.Score)));
        var why = explained.Recommendations[0].Explanation;
        Assert.NotNull(why);
        Assert.Equal(RecommendationSources.CoCompletion, why.Source);
        Assert.Equal(new RecommendationItem(Handshake.Type, Handshake.Id, Handshake.Title), why.Driver);
        Assert.Equal(1, why.Components.CoCompletion);
        Assert.True(why.Components.Weights.CoCompletion > 0);
        // The weights the shrunk ranking used: co-completion's the evidence behind the learner's item, summing to 1.
        Assert.Equal("shrunk", why.Fusion?.Method);
        Assert.Equal(why.Fusion!.Evidence, why.Components.Weights.CoCompletion, 4);
        Assert.InRange(why.Components.Weights.Content + why.Components.Weights.CoCompletion + why.Components.Weights.Path + why.Components.Weights.Popular, 0.9995, 1.0005);
        Assert.True(why.Ready);
        Assert.Empty(why.MissingPrerequisites);
        Assert.All(explained.Recommendations, r => Assert.NotNull(r.Explanation));

        // Without explain the response has no explanation field at all.
        using var raw = platform.AiClient(newcomer.Access);
        var text = await (await raw.GetAsync($"/api/v1/recommendations/{newcomer.User.Id}")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("explanation", text, StringComparison.Ordinal);

        // A learner with nothing done: what learners complete most, introductory first, then the starter list.
        var fresh = await RecommendAsync(await platform.Core.RegisterAsync(), "?limit=20");
        Assert.Equal(Handshake.Id, fresh.Recommendations[0].ContentId);
        Assert.Equal("Popular with learners starting out", fresh.Recommendations[0].Reason);
        Assert.Contains(fresh.Recommendations, r => r.ContentId == Cracking.Id && r.Reason == "Popular with learners starting out");
        Assert.Contains(fresh.Recommendations, r => r.Reason.Contains("get you started", StringComparison.Ordinal));

        // The earlier learner's cached list is dropped only by their own progress; their next change brings the lab in.
        await CompleteAsync(before, Wpa3);
        await DeliveredAsync(2, before);
        Assert.Contains((await RecommendAsync(before)).Recommendations, r => r.ContentId == Cracking.Id
            && r.Reason == $"Learners who completed '{Handshake.Title}' often take this next");
    }

    [Fact]
    public async Task A_completed_prerequisite_makes_its_next_step_the_pick_and_explain_is_for_the_learner_and_admins()
    {
        await StoreAsync("email-security", Dmarc, DmarcLab, MailGateway);
        var learner = await platform.Core.RegisterAsync();
        var other = await platform.Core.RegisterAsync();

        // Before the prerequisite is done the lab is held back: a ready item of the topic leads.
        await CompleteAsync(learner, MailGateway);
        await DeliveredAsync(1, learner);
        var held = await RecommendAsync(learner, "?limit=50&explain=true");
        // Fewer than 50 items of the catalog are ready for this learner, so the lab fills the list as "after X".
        var heldBack = Assert.Single(held.Recommendations, r => r.ContentId == DmarcLab.Id);
        Assert.False(heldBack.Explanation!.Ready);
        Assert.Equal([new RecommendationItem(Dmarc.Type, Dmarc.Id, Dmarc.Title)], heldBack.Explanation.MissingPrerequisites);
        Assert.EndsWith($"(after '{Dmarc.Title}')", heldBack.Reason, StringComparison.Ordinal);
        Assert.All(held.Recommendations.TakeWhile(r => r.ContentId != DmarcLab.Id), r => Assert.True(r.Explanation!.Ready));
        Assert.Contains(held.Recommendations.TakeWhile(r => r.ContentId != DmarcLab.Id), r => r.ContentId == Dmarc.Id);

        await CompleteAsync(learner, Dmarc);
        await DeliveredAsync(2, learner);
        var picks = await RecommendAsync(learner, "?explain=true");
        var next = picks.Recommendations[0];
        Assert.Equal(DmarcLab.Id, next.ContentId);
        Assert.Equal($"Next step after '{Dmarc.Title}'", next.Reason);
        Assert.Equal(RecommendationSources.NextStep, next.Explanation!.Source);
        Assert.Equal(Dmarc.Id, next.Explanation.Driver!.ContentId);
        Assert.True(next.Explanation.Ready);
        Assert.Equal(1, next.Explanation.Components.Path);

        // Another learner may not see the list, explained or not; an admin may, with explanations.
        using var asOther = platform.AiClient(other.Access);
        await (await asOther.GetAsync($"/api/v1/recommendations/{learner.User.Id}?explain=true")).DetailAsync(HttpStatusCode.Forbidden);
        await (await asOther.PostJsonAsync("/api/v1/recommendations", new RecommendationRequest(learner.User.Id, null, 5, true))).DetailAsync(HttpStatusCode.Forbidden);
        using var admin = await platform.AdminAiClientAsync();
        var byAdmin = await (await admin.PostJsonAsync("/api/v1/recommendations", new RecommendationRequest(learner.User.Id, null, 5, true))).ReadAsync<RecommendationsResponse>();
        Assert.Equal(picks.Recommendations.Take(5).Select(r => (r.ContentId, r.Reason, r.Explanation!.Source)),
            byAdmin.Recommendations.Select(r => (r.ContentId, r.Reason, r.Explanation!.Source)));
        await (await admin.GetAsync($"/api/v1/recommendations/{learner.User.Id}?explain=perhaps")).DetailAsync(HttpStatusCode.BadRequest);
    }
}

public sealed class EmbeddedRecommendationBlendTests(EmbeddedPlatform platform)
    : RecommendationBlendTests<EmbeddedPlatform>(platform), IClassFixture<EmbeddedPlatform>;

public sealed class PostgresRecommendationBlendTests(PostgresPlatform platform)
    : RecommendationBlendTests<PostgresPlatform>(platform), IClassFixture<PostgresPlatform>;
