using System.Security.Cryptography;
using CyberHub.Contracts;
using CyberHub.Core.Data;
using CyberHub.Core.Users;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;

namespace CyberHub.Core.Auth;

/// <summary>Registers machine callers and exchanges their client credentials for service tokens (OAuth 2.0 §4.4).</summary>
public sealed class ServiceClientsService(CoreDbContext db, TokenService tokens, JwtSettings settings, TimeProvider clock)
{
    private const string BadCredentials = "Invalid client credentials.";

    // Compared against when the client id is unknown, so unknown and known clients take equally long.
    private static readonly byte[] DummyHash = SHA256.HashData(RandomNumberGenerator.GetBytes(32));

    public async Task<ServiceClientCreated> CreateAsync(CreateServiceClientRequest request, CancellationToken cancellationToken)
    {
        var name = UserRules.Text(request.Name, "name", ServiceClient.MaxNameLength);
        if (name.Length == 0)
        {
            throw ApiException.BadRequest("name is required.");
        }
        var secret = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var client = new ServiceClient
        {
            ClientId = "svc_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)),
            Name = name,
            SecretHash = Hash(secret),
            CreatedAt = clock.UtcNow(),
        };
        db.ServiceClients.Add(client);
        await db.SaveChangesAsync(cancellationToken);
        return new ServiceClientCreated(client.ClientId, secret, client.Name, client.CreatedAt);
    }

    public async Task<IReadOnlyList<ServiceClientDto>> ListAsync(CancellationToken cancellationToken) =>
        await db.ServiceClients.AsNoTracking().OrderBy(c => c.Id)
            .Select(c => new ServiceClientDto(c.ClientId, c.Name, c.CreatedAt, c.LastUsedAt, c.RevokedAt))
            .ToListAsync(cancellationToken);

    /// <summary>Stops the client from getting new tokens; tokens it already holds run out within their lifetime.</summary>
    public async Task RevokeAsync(string clientId, CancellationToken cancellationToken)
    {
        var client = await db.ServiceClients.FirstOrDefaultAsync(c => c.ClientId == clientId, cancellationToken)
            ?? throw ApiException.NotFound("Service client not found.");
        client.RevokedAt ??= clock.UtcNow();
        await db.SaveChangesAsync(cancellationToken);
    }

    public async Task<ServiceTokenResponse> IssueTokenAsync(ClientCredentialsRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.ClientId) || string.IsNullOrEmpty(request.ClientSecret))
        {
            throw ApiException.BadRequest("client_id and client_secret are required.");
        }
        var client = await db.ServiceClients.AsNoTracking().FirstOrDefaultAsync(c => c.ClientId == request.ClientId, cancellationToken);
        var matches = CryptographicOperations.FixedTimeEquals(Hash(request.ClientSecret), client?.SecretHash ?? DummyHash);
        if (client is null || !matches || client.RevokedAt is not null)
        {
            throw ApiException.Unauthorized(BadCredentials);
        }

        await db.ServiceClients.Where(c => c.Id == client.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.LastUsedAt, clock.UtcNow()), cancellationToken);
        return new ServiceTokenResponse(
            tokens.CreateServiceAccessToken(client.ClientId), "Bearer", (int)settings.AccessTokenLifetime.TotalSeconds);
    }

    private static byte[] Hash(string secret) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret));
}
