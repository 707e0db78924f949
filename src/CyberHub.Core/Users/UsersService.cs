using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.Core.Data;
using CyberHub.Core.Organizations;
using CyberHub.Core.Outbox;
using CyberHub.ServiceDefaults;
using CyberHub.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace CyberHub.Core.Users;

public sealed class UsersService(
    CoreDbContext db, IPasswordHasher<User> hasher, TokenService tokens, AuthService auth, AccountStates accounts, LoginThrottle throttle, TimeProvider clock)
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

    /// <summary>A user that exists and has not been deleted; 404 otherwise.</summary>
    public async Task<User> GetAsync(long id, CancellationToken cancellationToken) =>
        await db.Users.FirstOrDefaultAsync(u => u.Id == id && u.DeletedAt == null, cancellationToken) ?? throw ApiException.NotFound("User not found.");

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
        // A changed password ends every session: whoever knew the old one is logged out, access tokens included.
        // The new stamp and the revocation commit together (see AuthService.RefreshAsync for why).
        user.SecurityStamp = User.NewSecurityStamp();
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            await db.SaveChangesAsync(cancellationToken);
            await auth.RevokeAllForUserAsync(id, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        await accounts.ChangedAsync(id, cancellationToken);
    }

    /// <summary>
    /// Signs the user out everywhere: every refresh token is revoked and the new security stamp makes every access
    /// token already issued stale at once (committed together, as for a password change).
    /// </summary>
    public async Task SignOutEverywhereAsync(long id, CancellationToken cancellationToken)
    {
        await using (var transaction = await db.BeginAccountChangeTransactionAsync(id, cancellationToken))
        {
            var user = await GetAsync(id, cancellationToken);
            user.SecurityStamp = User.NewSecurityStamp();
            user.UpdatedAt = clock.UtcNow();
            await db.SaveChangesAsync(cancellationToken);
            await auth.RevokeAllForUserAsync(id, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        await accounts.ChangedAsync(id, cancellationToken);
    }

    public async Task<PagedResponse<UserDto>> ListAsync(HttpRequest http, PageRequest page, CancellationToken cancellationToken)
    {
        var live = db.Users.AsNoTracking().Where(u => u.DeletedAt == null);
        var count = await live.CountAsync(cancellationToken);
        var users = await live.OrderBy(u => u.Id).Skip(page.Skip).Take(page.PageSize).ToListAsync(cancellationToken);
        return page.ToResponse(http, count, users.ConvertAll(ToDto));
    }

    /// <summary>
    /// Replaces a user's roles. A change ends every session of the user (refresh tokens revoked, access tokens
    /// refused through the new security stamp): no token keeps rights the user no longer has. No change may leave
    /// CyberHub without an active admin.
    /// </summary>
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
        var roles = request.Roles.Distinct().ToList();
        return await ChangeAccountAsync(id, async user =>
        {
            if (user.RoleList.Order().SequenceEqual(roles.Order()))
            {
                return false;
            }
            if (!roles.Contains(Roles.Admin))
            {
                await EnsureNotLastAdminAsync(user, "removing its admin role", cancellationToken);
            }
            user.Roles = string.Join(' ', roles);
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Deactivates or reactivates an account. A deactivated user cannot log in or refresh, and every token they hold
    /// is refused from the moment the change commits.
    /// </summary>
    public async Task<UserDto> UpdateAsync(long id, UpdateUserRequest request, CancellationToken cancellationToken)
    {
        if (request.IsActive is not { } active)
        {
            throw ApiException.BadRequest("is_active is required (true or false).");
        }
        return await ChangeAccountAsync(id, async user =>
        {
            if (user.IsActive == active)
            {
                return false;
            }
            if (!active)
            {
                await EnsureNotLastAdminAsync(user, "deactivating it", cancellationToken);
            }
            user.IsActive = active;
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Deletes an account: its progress, organization memberships, sessions and stored idempotent answers go;
    /// the user row stays, anonymised and deactivated, so that what points at it (organizations it created, events
    /// already written) stays consistent; a <c>user.deleted</c> event tells the AI service to drop the learner's data.
    /// The user's tokens are refused from the moment the delete commits.
    /// </summary>
    public async Task DeleteAsync(long id, CancellationToken cancellationToken)
    {
        await using (var transaction = await db.BeginAccountChangeTransactionAsync(id, cancellationToken))
        {
            var user = await GetAsync(id, cancellationToken);
            await EnsureNotLastAdminAsync(user, "deleting it", cancellationToken);
            var now = clock.UtcNow();
            var caller = id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await db.Progress.Where(p => p.UserId == id).ExecuteDeleteAsync(cancellationToken);
            await db.LearningGoals.Where(g => g.UserId == id).ExecuteDeleteAsync(cancellationToken);
            await db.OrganizationMembers.Where(m => m.UserId == id).ExecuteDeleteAsync(cancellationToken);
            // Invitations wait for an email, not an account: those to the deleted address would reach whoever registers
            // it next, and those the user sent speak for someone who is gone. Both end with the account.
            var deletedEmail = user.NormalizedEmail;
            await db.OrganizationInvitations
                .Where(i => i.Status == InvitationStatuses.Pending && (i.NormalizedEmail == deletedEmail || i.InvitedById == id))
                .ExecuteDeleteAsync(cancellationToken);
            await db.RefreshTokens.Where(t => t.UserId == id).ExecuteDeleteAsync(cancellationToken);
            await db.IdempotencyKeys.Where(k => k.Caller == caller).ExecuteDeleteAsync(cancellationToken);
            // Events already delivered held the user's progress; those still in flight are delivered first, in order,
            // and the delete event after them makes the receiver drop everything.
            await db.OutboxEvents.Where(e => e.UserId == id && (e.DeliveredAt != null || e.FailedAt != null)).ExecuteDeleteAsync(cancellationToken);
            db.OutboxEvents.Add(OutboxEvent.ForUserDeleted(id, now));

            // Names no one can register (the rules forbid '#'), so the unique indexes never meet them again.
            var anonymous = $"#deleted-{caller}";
            user.Email = user.NormalizedEmail = anonymous;
            user.Username = user.NormalizedUsername = anonymous;
            // The name's look-alikes are free again too.
            user.UsernameSkeleton = null;
            user.FirstName = user.LastName = user.Bio = "";
            user.AvatarUrl = null;
            user.PasswordHash = "";
            user.Roles = "";
            user.IsActive = false;
            user.DeletedAt = now;
            user.UpdatedAt = now;
            user.SecurityStamp = User.NewSecurityStamp();
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        await accounts.ChangedAsync(id, cancellationToken);
    }

    /// <summary>
    /// Applies <paramref name="change"/> (which says whether it changed anything) under the account lock; a change
    /// gets a new security stamp and ends every session of the user, then drops the cached account state.
    /// </summary>
    private async Task<UserDto> ChangeAccountAsync(long id, Func<User, Task<bool>> change, CancellationToken cancellationToken)
    {
        User user;
        bool changed;
        await using (var transaction = await db.BeginAccountChangeTransactionAsync(id, cancellationToken))
        {
            user = await GetAsync(id, cancellationToken);
            changed = await change(user);
            if (changed)
            {
                user.SecurityStamp = User.NewSecurityStamp();
                user.UpdatedAt = clock.UtcNow();
                await db.SaveChangesAsync(cancellationToken);
                await auth.RevokeAllForUserAsync(id, cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
        }
        if (changed)
        {
            await accounts.ChangedAsync(id, cancellationToken);
        }
        return ToDto(user);
    }

    /// <summary>409 when <paramref name="user"/> is the only active admin left: CyberHub must keep one.</summary>
    private async Task EnsureNotLastAdminAsync(User user, string change, CancellationToken cancellationToken)
    {
        if (!user.IsActive || !user.RoleList.Contains(Roles.Admin))
        {
            return;
        }
        var others = await db.Users.AsNoTracking()
            .Where(u => u.Id != user.Id && u.IsActive && u.DeletedAt == null && u.Roles.Contains(Roles.Admin))
            .Select(u => u.Roles).ToListAsync(cancellationToken);
        if (!others.Any(roles => roles.Split(' ').Contains(Roles.Admin)))
        {
            throw ApiException.Conflict(
                $"User {user.Id} is the last active admin: {change} would leave no one to administer CyberHub. Make another user admin first.");
        }
    }

    /// <summary>
    /// Makes sure an admin account with this email exists and has this password. Safe to repeat. It never takes over
    /// an account that is not an admin already: anyone may have registered the address before it was configured, and
    /// promoting that account would hand its owner (and every session they hold) the admin role. It refuses instead.
    /// </summary>
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
            throw ApiException.Conflict(
                $"The admin email {user.Email} belongs to an existing account (user {user.Id}) that is not an admin; it is not promoted, "
                + "since whoever registered it would become admin. Configure an address no account uses, or have an admin grant the role "
                + $"(PUT /api/v1/users/{user.Id}/roles/) after checking who owns the account.");
        }
        var changed = false;
        if (hasher.VerifyHashedPassword(user, user.PasswordHash, password) == PasswordVerificationResult.Failed)
        {
            UserRules.Password(password, user.Email, user.Username);
            user.PasswordHash = hasher.HashPassword(user, password);
            changed = true;
        }
        if (!user.IsActive)
        {
            user.IsActive = true;
            changed = true;
        }
        if (!changed)
        {
            return user;
        }
        // A new password, or a reactivation: sessions from before the repair end, as after any password change.
        user.SecurityStamp = User.NewSecurityStamp();
        user.UpdatedAt = clock.UtcNow();
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            await db.SaveChangesAsync(cancellationToken);
            await auth.RevokeAllForUserAsync(user.Id, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        await accounts.ChangedAsync(user.Id, cancellationToken);
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
