using System.Text.Json;
using System.Text.Json.Nodes;
using CyberHub.Ai;
using CyberHub.Ai.CoreClient;
using CyberHub.Ai.Recommendations;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Caching;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace CyberHub.Ai.Tests;

/// <summary>The AI's cached lists go through source-generated JSON that writes and reads what reflection does.</summary>
public sealed class CachedJsonTests
{
    private static readonly JsonSerializerOptions Cached = CachingExtensions.CachedJsonOptions(AiCacheJson.Default);

    private static RecommendationPicks Picks()
    {
        var components = new RecommendationComponents(0.75, 0.5, 1, 0, new RecommendationWeights(0.2, 0.6, 0.2, 0));
        var driver = new RecommendationItem("lesson", "kerberos-basics", "Kerberos \"basics\"");
        return new RecommendationPicks(
            [
                new RecommendationDto("kerberoasting", "lesson", "Kerberoasting", "Cracking service tickets – offline", 0.9123, "Next step after 'Kerberos'"),
                new RecommendationDto("hashing", "lab", "Password hashing", "", 0.5, "Popular with learners starting out"),
            ],
            [
                new RecommendationExplanation(RecommendationSources.NextStep, driver, components, true, []),
                new RecommendationExplanation(RecommendationSources.Popular, null, components, false, [driver]),
            ],
            new RecommendationFusion("shrunk", 0.6, 12.5, 4, new RecommendationPrior(0.7, 0.3)));
    }

    private static ProgressRecords Progress()
    {
        var at = new DateTime(2026, 12, 7, 11, 0, 0, DateTimeKind.Utc);
        return new ProgressRecords(
        [
            new ProgressDto(1, 7, "kerberoasting", "lesson", ProgressStatus.Completed, 100, 87.5, 600,
                new JsonObject { ["notes"] = "done", ["tries"] = 2 }, at, at.AddMinutes(10), at, at.AddMinutes(10), 3),
            new ProgressDto(2, 7, "hashing", "lab", ProgressStatus.InProgress, 40, null, 60, [], null, null, at, at, 1),
        ]);
    }

    [Fact]
    public void The_cached_json_is_what_reflection_writes_and_reads_back_the_same()
    {
        foreach (var (value, type) in new (object, Type)[] { (Picks(), typeof(RecommendationPicks)), (Progress(), typeof(ProgressRecords)) })
        {
            Assert.Same(AiCacheJson.Default, Cached.GetTypeInfo(type).OriginatingResolver);
            var written = JsonSerializer.Serialize(value, type, Cached);
            Assert.Equal(JsonSerializer.Serialize(value, type, JsonSerializerOptions.Default), written);
            // Either way round, as two instances sharing Redis across a deploy would.
            Assert.Equal(written, JsonSerializer.Serialize(JsonSerializer.Deserialize(written, type, JsonSerializerOptions.Default), type, Cached));
            Assert.Equal(written, JsonSerializer.Serialize(JsonSerializer.Deserialize(written, type, Cached), type, JsonSerializerOptions.Default));
        }
    }

    [Fact]
    public async Task The_ai_service_gives_its_cache_the_generated_json()
    {
        var builder = WebApplication.CreateBuilder();
        builder.AddAi();
        await using var app = builder.Build();
        var options = app.Services.GetRequiredKeyedService<JsonSerializerOptions>(typeof(IHybridCacheSerializer<>));
        Assert.Same(AiCacheJson.Default, options.GetTypeInfo(typeof(RecommendationPicks)).OriginatingResolver);
        Assert.Same(AiCacheJson.Default, options.GetTypeInfo(typeof(ProgressRecords)).OriginatingResolver);
        // Any other type still goes by reflection.
        Assert.NotSame(AiCacheJson.Default, options.GetTypeInfo(typeof(PersonalityAnalysis)).OriginatingResolver);
    }
}
