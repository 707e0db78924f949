using System.Net.Http.Headers;
using System.Net.Http.Json;
using CyberHub.Contracts;

namespace CyberHub.Bench.Load;

/// <summary>A registered learner: credentials and a current token pair.</summary>
public sealed class Learner(UserDto user, string password, TokenPair tokens)
{
    public UserDto User { get; } = user;
    public string Password { get; } = password;
    public TokenPair Tokens { get; set; } = tokens;
    public long RecordId { get; set; }
    /// <summary>The learner's progress records as Core acknowledged them at set-up.</summary>
    public List<ProgressDto> Records { get; } = [];
}

/// <summary>The set-up calls the scenarios need, over the same HTTP client the load uses.</summary>
public sealed class CoreClient(HttpClient http)
{
    public static HttpClient CreateHttpClient(Uri baseAddress, int maxConnections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = maxConnections,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        UseCookies = false,
        UseProxy = false,
        AllowAutoRedirect = false,
    })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(30),
    };

    public HttpClient Http => http;

    public async Task<Learner> RegisterAsync(string runId, int index)
    {
        var name = $"b{runId}u{index}";
        var password = $"pw-{Guid.NewGuid():N}";
        var response = await http.PostAsJsonAsync("/api/v1/users/",
            new RegisterRequest($"{name}@bench.example", name, password, "Bench", "Learner"), CyberHubJson.Options);
        var registered = await ReadAsync<RegisterResponse>(response, "register");
        return new Learner(registered.User, password, new TokenPair(registered.Access, registered.Refresh));
    }

    public async Task<long> CreateProgressAsync(Learner learner, string contentId) =>
        (await CreateProgressAsync(learner, new CreateProgressRequest(contentId, ContentTypes.Lesson, null, 0, null, 0, null))).Id;

    public async Task<ProgressDto> CreateProgressAsync(Learner learner, CreateProgressRequest progress)
    {
        using var request = Authorized(HttpMethod.Post, "/api/v1/progress/", learner, JsonContent.Create(progress, options: CyberHubJson.Options));
        return await ReadAsync<ProgressDto>(await http.SendAsync(request), "create progress");
    }

    /// <summary>The learner's records, first page of 100.</summary>
    public async Task<IReadOnlyList<ProgressDto>> ListProgressAsync(Learner learner)
    {
        using var request = Authorized(HttpMethod.Get, "/api/v1/progress/?page_size=100", learner);
        return (await ReadAsync<PagedResponse<ProgressDto>>(await http.SendAsync(request), "list progress")).Results;
    }

    public async Task<TokenPair> LoginAsync(string email, string password) =>
        await ReadAsync<TokenPair>(await http.PostAsJsonAsync("/api/v1/token/", new TokenRequest(email, null, password), CyberHubJson.Options), "login");

    /// <summary>Rotates the learner's tokens, so a long run never measures with an expired access token.</summary>
    public async Task RefreshAsync(Learner learner)
    {
        var response = await http.PostAsJsonAsync("/api/v1/token/refresh/", new RefreshRequest(learner.Tokens.Refresh), CyberHubJson.Options);
        learner.Tokens = await ReadAsync<TokenPair>(response, "refresh");
    }

    public static HttpRequestMessage Authorized(HttpMethod method, string path, Learner learner, HttpContent? content = null) => new(method, path)
    {
        Content = content,
        Headers = { Authorization = new AuthenticationHeaderValue("Bearer", learner.Tokens.Access) },
    };

    /// <summary>Runs <paramref name="action"/> over <paramref name="count"/> indexes, a few at a time.</summary>
    public static async Task<T[]> ForEachAsync<T>(int count, Func<int, Task<T>> action)
    {
        var results = new T[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (i, _) => results[i] = await action(i));
        return results;
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, string what)
    {
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException(
                    $"Set-up step '{what}' failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            return (await response.Content.ReadFromJsonAsync<T>(CyberHubJson.Options))!;
        }
    }
}
