using System.Net.Http.Headers;
using System.Net.Http.Json;
using CyberHub.Contracts;

namespace CyberHub.Web.Tests.Infrastructure;

/// <summary>What tests set up or check through the services' HTTP APIs rather than through pages.</summary>
public sealed class PlatformApi(PlatformProcess platform)
{
    private static int _sequence;

    public async Task<RegisterResponse> RegisterAsync(Learner learner)
    {
        using var http = Client(platform.Core);
        using var response = await http.PostAsJsonAsync("/api/v1/users/",
            new RegisterRequest(learner.Email, learner.Username, learner.Password, learner.FirstName, learner.LastName), CyberHubJson.Options);
        return await ReadAsync<RegisterResponse>(response);
    }

    public async Task<TokenPair> LoginAsync(string email, string password)
    {
        using var http = Client(platform.Core);
        using var response = await http.PostAsJsonAsync("/api/v1/token/", new TokenRequest(email, null, password), CyberHubJson.Options);
        return await ReadAsync<TokenPair>(response);
    }

    public async Task RevokeAsync(string refresh)
    {
        using var http = Client(platform.Core);
        using var response = await http.PostAsJsonAsync("/api/v1/token/revoke/", new RefreshRequest(refresh), CyberHubJson.Options);
        Assert.True(response.IsSuccessStatusCode, $"revoke: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>A registered learner made a content creator by the admin.</summary>
    public async Task<Learner> CreateContentCreatorAsync()
    {
        var creator = Learner.New("creator");
        var registered = await RegisterAsync(creator);
        var admin = await LoginAsync(PlatformProcess.AdminEmail, PlatformProcess.AdminPassword);
        using var http = Client(platform.Core, admin.Access);
        using var response = await http.PutAsJsonAsync($"/api/v1/users/{registered.User.Id}/roles/",
            new SetRolesRequest([Roles.Learner, Roles.ContentCreator]), CyberHubJson.Options);
        await ReadAsync<UserDto>(response);
        return creator;
    }

    /// <summary>Replaces a user's roles as the admin does (Core ends the user's sessions).</summary>
    public async Task SetRolesAsync(long userId, params string[] roles)
    {
        var admin = await LoginAsync(PlatformProcess.AdminEmail, PlatformProcess.AdminPassword);
        using var http = Client(platform.Core, admin.Access);
        using var response = await http.PutAsJsonAsync($"/api/v1/users/{userId}/roles/", new SetRolesRequest(roles), CyberHubJson.Options);
        await ReadAsync<UserDto>(response);
    }

    /// <summary>Adds an item to the AI's catalog with the access token of a content creator.</summary>
    public async Task StoreItemAsync(string access, string contentType, string contentId, string title, string description)
    {
        using var http = Client(platform.Ai, access);
        using var response = await http.PostAsJsonAsync("/api/v1/embeddings/store",
            new StoreEmbeddingsRequest([title + ". " + description], contentType, contentId, title, description, null), CyberHubJson.Options);
        await ReadAsync<StoreEmbeddingsResponse>(response);
    }

    /// <summary>A progress record made through Core's API, as another client of Core would.</summary>
    public async Task<ProgressDto> CreateProgressAsync(string access, CreateProgressRequest request)
    {
        using var http = Client(platform.Core, access);
        using var response = await http.PostAsJsonAsync("/api/v1/progress/", request, CyberHubJson.Options);
        return await ReadAsync<ProgressDto>(response);
    }

    /// <summary>Lessons of the AI's catalog (the demo catalog it seeds on first start).</summary>
    public async Task<IReadOnlyList<ContentItemDto>> LessonsAsync(string access)
    {
        using var http = Client(platform.Ai, access);
        using var response = await http.GetAsync("/api/v1/content/?content_type=lesson&page_size=50");
        return (await ReadAsync<PagedResponse<ContentItemDto>>(response)).Results;
    }

    /// <summary>Items of one type of the AI's catalog.</summary>
    public async Task<IReadOnlyList<ContentItemDto>> ContentAsync(string access, string contentType)
    {
        using var http = Client(platform.Ai, access);
        using var response = await http.GetAsync($"/api/v1/content/?content_type={contentType}&page_size=50");
        return (await ReadAsync<PagedResponse<ContentItemDto>>(response)).Results;
    }

    /// <summary>How many items of one type the AI's catalog holds.</summary>
    public async Task<int> ContentCountAsync(string access, string contentType)
    {
        using var http = Client(platform.Ai, access);
        using var response = await http.GetAsync($"/api/v1/content/?content_type={contentType}&page_size=1");
        return (await ReadAsync<PagedResponse<ContentItemDto>>(response)).Count;
    }

    public async Task<IReadOnlyList<ProgressDto>> ProgressAsync(string access)
    {
        using var http = Client(platform.Core, access);
        using var response = await http.GetAsync("/api/v1/progress/?page_size=100");
        return (await ReadAsync<PagedResponse<ProgressDto>>(response)).Results;
    }

    /// <summary>The learner's recommendations, as the dashboard asks for them.</summary>
    public async Task<RecommendationsResponse> RecommendationsAsync(string access, long userId)
    {
        using var http = Client(platform.Ai, access);
        using var response = await http.GetAsync($"/api/v1/recommendations/{userId}?limit={DashboardRules.Recommendations}");
        return await ReadAsync<RecommendationsResponse>(response);
    }

    public static int Next() => Interlocked.Increment(ref _sequence);

    private static HttpClient Client(Uri baseAddress, string? access = null)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (access is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", access);
        }
        return http;
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response)
    {
        Assert.True(response.IsSuccessStatusCode,
            $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<T>(CyberHubJson.Options) ?? throw new InvalidOperationException("empty answer");
    }
}

/// <summary>An account a test registers: unique per test run, so tests never share users.</summary>
public sealed record Learner(string Email, string Username, string Password, string FirstName, string LastName)
{
    public static Learner New(string prefix)
    {
        var tag = $"{prefix}{PlatformApi.Next()}{Guid.NewGuid().ToString("N")[..6]}";
        return new Learner($"{tag}@example.com", tag, "Str0ng-Passw0rd!", "Ada", "Lovelace");
    }
}
