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

    /// <summary>Lessons of the AI's catalog (the demo catalog it seeds on first start).</summary>
    public async Task<IReadOnlyList<ContentItemDto>> LessonsAsync(string access)
    {
        using var http = Client(platform.Ai, access);
        using var response = await http.GetAsync("/api/v1/content/?content_type=lesson&page_size=50");
        return (await ReadAsync<PagedResponse<ContentItemDto>>(response)).Results;
    }

    public async Task<IReadOnlyList<ProgressDto>> ProgressAsync(string access)
    {
        using var http = Client(platform.Core, access);
        using var response = await http.GetAsync("/api/v1/progress/?page_size=100");
        return (await ReadAsync<PagedResponse<ProgressDto>>(response)).Results;
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
