using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.Core.Data;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace CyberHub.Core.Users;

public sealed class UsersService(CoreDbContext db, IPasswordHasher<User> hasher, TokenService tokens, AuthService auth, LoginThrottle throttle, TimeProvider clock)
{
    public async Task<RegisterResponse> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken)
    {
        var user = await CreateAsync(request, [Roles.Learner], cancellationToken);
        var pair = await tokens.IssuePairAsync(user, cancellationToken: cancellationToken);
        return new RegisterResponse(ToDto(user), pair.Access, pair.Refresh);
    }

    public async Task<User> CreateAsync(RegisterRequest request, IReadOnlyList<string> roles, CancellationToken cancellationToken)
    {
        var email = UserRules.Email(request.Email);
        var username = UserRules.Username(request.Username);
        UserRules.Password(request.Password, email, username);
        var now = clock.UtcNow();
        var user = new User
        {
            Email = email,
            NormalizedEmail = email.ToLowerInvariant(),
            Username = username,
            NormalizedUsername = username.ToLowerInvariant(),
            UsernameSkeleton = UserRules.Skeleton(username),
            FirstName = UserRules.Text(request.FirstName, "first_name", 150),
            LastName = UserRules.Text(request.LastName, "last_name", 150),
            Roles = string.Join(' ', roles),
            CreatedAt = now,
            UpdatedAt = now,
        };
        await EnsureUniqueAsync(user, cancellationToken);
        user.PasswordHash = hasher.HashPassword(user, request.Password!);
        db.Users.Add(user);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Lost a race with a concurrent registration of the same name: answer as if we had seen it first.
            db.ChangeTracker.Clear();
            await EnsureUniqueAsync(user, cancellationToken);
            throw;
        }
        return user;
    }

    public async Task<User> GetAsync(long id, CancellationToken cancellationToken) =>
        await db.Users.FirstOrDefaultAsync(u => u.Id == id, cancellationToken) ?? throw ApiException.NotFound("User not found.");

    public async Task<UserDto> UpdateProfileAsync(long id, UpdateProfileRequest request, CancellationToken cancellationToken)
    {
        var user = await GetAsync(id, cancellationToken);
        if (request.FirstName is not null) user.FirstName = UserRules.Text(request.FirstName, "first_name", 150);
        if (request.LastName is not null) user.LastName = UserRules.Text(request.LastName, "last_name", 150);
        if (request.Bio is not null) user.Bio = UserRules.Text(request.Bio, "bio", 2000, multiline: true);
        if (request.AvatarUrl is not null) user.AvatarUrl = UserRules.AvatarUrl(request.AvatarUrl);
        user.UpdatedAt = clock.UtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return ToDto(user);
    }

    /// <summary>
    /// A guess at <c>current_password</c> is a guess at the account's password: counted by the login throttle against
    /// (account, <paramref name="address"/>) like a failed login, so a stolen session cannot be used to guess faster.
    /// </summary>
    public async Task ChangePasswordAsync(long id, ChangePasswordRequest request, string address, CancellationToken cancellationToken)
    {
        var user = await GetAsync(id, cancellationToken);
        if (string.IsNullOrEmpty(request.CurrentPassword))
        {
            throw ApiException.BadRequest("current_password is not correct.");
        }
        var account = AuthService.AccountKey(user.Id);
        if (await throttle.AttemptAsync(account, address) is { } wait)
        {
            throw AuthService.Throttled(wait);
        }
        if (hasher.VerifyHashedPassword(user, user.PasswordHash, request.CurrentPassword) == PasswordVerificationResult.Failed)
        {
            throw ApiException.BadRequest("current_password is not correct.");
        }
        await throttle.ForgiveAsync(account, address);
        UserRules.Password(request.NewPassword, user.Email, user.Username);
        user.PasswordHash = hasher.HashPassword(user, request.NewPassword!);
        user.UpdatedAt = clock.UtcNow();
        await db.SaveChangesAsync(cancellationToken);
        // A changed password ends every session: whoever knew the old one is logged out.
        await auth.RevokeAllForUserAsync(id, cancellationToken);
    }

    public async Task<PagedResponse<UserDto>> ListAsync(HttpRequest http, PageRequest page, CancellationToken cancellationToken)
    {
        var count = await db.Users.CountAsync(cancellationToken);
        var users = await db.Users.AsNoTracking().OrderBy(u => u.Id).Skip(page.Skip).Take(page.PageSize).ToListAsync(cancellationToken);
        return page.ToResponse(http, count, users.ConvertAll(ToDto));
    }

    public async Task<UserDto> SetRolesAsync(long id, SetRolesRequest request, CancellationToken cancellationToken)
    {
        if (request.Roles is null || request.Roles.Count == 0)
        {
            throw ApiException.BadRequest("roles: give at least one role.");
        }
        // A null item is unknown too: taken for "none unknown", it used to leave the user with no roles at all.
        foreach (var role in request.Roles)
        {
            if (role is null || !Roles.All.Contains(role))
            {
                throw ApiException.BadRequest($"roles: unknown role {(role is null ? "null" : $"'{role}'")}; roles are {string.Join(", ", Roles.All)}.");
            }
        }
        var user = await GetAsync(id, cancellationToken);
        user.Roles = string.Join(' ', request.Roles.Distinct());
        user.UpdatedAt = clock.UtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return ToDto(user);
    }

    /// <summary>Makes sure an admin account with this email exists and has this password. Safe to repeat.</summary>
    public async Task<User> EnsureAdminAsync(string email, string password, CancellationToken cancellationToken)
    {
        var normalized = UserRules.Email(email).ToLowerInvariant();
        var user = await db.Users.FirstOrDefaultAsync(u => u.NormalizedEmail == normalized, cancellationToken);
        if (user is null)
        {
            var username = normalized.Split('@')[0];
            var skeleton = UsernameSkeleton.Of(username);
            if (await db.Users.AnyAsync(u => u.NormalizedUsername == username || u.UsernameSkeleton == skeleton, cancellationToken))
            {
                username = $"admin-{Guid.NewGuid():N}"[..20];
            }
            return await CreateAsync(new RegisterRequest(email, username, password, "", ""), [Roles.Admin], cancellationToken);
        }
        if (!user.RoleList.Contains(Roles.Admin))
        {
            user.Roles = string.Join(' ', user.RoleList.Append(Roles.Admin));
        }
        if (hasher.VerifyHashedPassword(user, user.PasswordHash, password) == PasswordVerificationResult.Failed)
        {
            UserRules.Password(password, user.Email, user.Username);
            user.PasswordHash = hasher.HashPassword(user, password);
        }
        user.IsActive = true;
        user.UpdatedAt = clock.UtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return user;
    }

    /// <summary>
    /// Gives accounts made before usernames had skeletons theirs, in order of age; an account whose skeleton an
    /// older one already has keeps none (it stays usable, and no new look-alike of either can be registered).
    /// </summary>
    public static async Task<int> FillMissingSkeletonsAsync(CoreDbContext db, CancellationToken cancellationToken)
    {
        var filled = 0;
        long after = 0;
        while (true)
        {
            var batch = await db.Users.Where(u => u.UsernameSkeleton == null && u.Id > after).OrderBy(u => u.Id)
                .Select(u => new { u.Id, u.Username }).Take(500).ToListAsync(cancellationToken);
            if (batch.Count == 0)
            {
                return filled;
            }
            foreach (var row in batch)
            {
                var skeleton = UsernameSkeleton.Of(row.Username);
                if (skeleton.Length is > 0 and <= UsernameSkeleton.MaxLength
                    && !await db.Users.AnyAsync(u => u.UsernameSkeleton == skeleton, cancellationToken))
                {
                    try
                    {
                        filled += await db.Users.Where(u => u.Id == row.Id && u.UsernameSkeleton == null)
                            .ExecuteUpdateAsync(s => s.SetProperty(u => u.UsernameSkeleton, skeleton), cancellationToken);
                    }
                    catch (System.Data.Common.DbException)
                    {
                        // Another instance starting at the same time, or a registration, took the skeleton first.
                    }
                }
            }
            after = batch[^1].Id;
        }
    }

    public static UserDto ToDto(User u) => new(
        u.Id, u.Email, u.Username, u.FirstName, u.LastName, u.Bio, u.AvatarUrl, u.RoleList, u.IsActive, u.CreatedAt, u.UpdatedAt);

    private async Task EnsureUniqueAsync(User user, CancellationToken cancellationToken)
    {
        if (await db.Users.AnyAsync(u => u.NormalizedEmail == user.NormalizedEmail, cancellationToken))
        {
            throw ApiException.BadRequest("email: a user with that email already exists.");
        }
        if (await db.Users.AnyAsync(u => u.NormalizedUsername == user.NormalizedUsername, cancellationToken))
        {
            throw ApiException.BadRequest("username: a user with that username already exists.");
        }
        // Told apart from the above only by its wording: both are answers about a name the caller chose.
        if (await db.Users.AnyAsync(u => u.UsernameSkeleton == user.UsernameSkeleton, cancellationToken))
        {
            throw ApiException.BadRequest("username: a user with a username that looks the same already exists.");
        }
    }
}
