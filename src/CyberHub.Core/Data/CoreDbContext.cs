using CyberHub.Contracts;
using CyberHub.Core.Auth;
using CyberHub.Core.Organizations;
using CyberHub.Core.Outbox;
using CyberHub.Core.Progress;
using CyberHub.Core.Users;
using CyberHub.ServiceDefaults.Idempotency;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace CyberHub.Core.Data;

/// <summary>
/// Core's tables. The provider-specific subclasses exist only so that each provider keeps its own
/// migrations; services depend on this type.
/// </summary>
public abstract class CoreDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<User> Users => Set<User>();
    public DbSet<RefreshToken> RefreshTokens => Set<RefreshToken>();
    public DbSet<Organization> Organizations => Set<Organization>();
    public DbSet<OrganizationMember> OrganizationMembers => Set<OrganizationMember>();
    public DbSet<OrganizationInvitation> OrganizationInvitations => Set<OrganizationInvitation>();
    public DbSet<ProgressRecord> Progress => Set<ProgressRecord>();
    public DbSet<LearningGoal> LearningGoals => Set<LearningGoal>();
    public DbSet<OutboxEvent> OutboxEvents => Set<OutboxEvent>();
    public DbSet<ServiceClient> ServiceClients => Set<ServiceClient>();
    public DbSet<IdempotencyKey> IdempotencyKeys => Set<IdempotencyKey>();

    protected abstract string JsonColumnType { get; }

    /// <summary>
    /// Whether the context runs on PostgreSQL (otherwise SQLite). A type test, because EF Core's <c>IsNpgsql()</c> and
    /// <c>IsSqlite()</c> read the provider's assembly name by reflection on every call, on every request that asks.
    /// </summary>
    public bool OnPostgres => this is PostgresCoreDbContext;

    protected override void ConfigureConventions(ModelConfigurationBuilder conventions)
    {
        // SQLite hands DateTimes back without a kind; everything stored is UTC, so say so on the way out.
        conventions.Properties<DateTime>().HaveConversion<UtcConverter>();
        conventions.Properties<DateTime?>().HaveConversion<UtcConverter>();
    }

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.Entity<User>(user =>
        {
            user.ToTable("users");
            user.HasIndex(u => u.NormalizedEmail).IsUnique();
            user.HasIndex(u => u.NormalizedUsername).IsUnique();
            user.HasIndex(u => u.UsernameSkeleton).IsUnique();
            user.Property(u => u.Email).HasMaxLength(254);
            user.Property(u => u.NormalizedEmail).HasMaxLength(254);
            user.Property(u => u.Username).HasMaxLength(150);
            user.Property(u => u.NormalizedUsername).HasMaxLength(150);
            user.Property(u => u.UsernameSkeleton).HasMaxLength(UsernameSkeleton.MaxLength);
            user.Property(u => u.FirstName).HasMaxLength(150);
            user.Property(u => u.LastName).HasMaxLength(150);
            user.Property(u => u.Bio).HasMaxLength(2000);
            user.Property(u => u.AvatarUrl).HasMaxLength(2048);
            user.Property(u => u.Roles).HasMaxLength(200);
            user.Property(u => u.SecurityStamp).HasMaxLength(User.SecurityStampLength);
            user.Ignore(u => u.RoleList);
        });

        model.Entity<RefreshToken>(token =>
        {
            token.ToTable("refresh_tokens");
            token.HasIndex(t => t.TokenHash).IsUnique();
            token.HasIndex(t => t.FamilyId);
            token.HasIndex(t => t.UserId);
            token.HasOne<User>().WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<Organization>(org =>
        {
            org.ToTable("organizations");
            org.HasIndex(o => o.Slug).IsUnique();
            org.Property(o => o.Name).HasMaxLength(200);
            org.Property(o => o.Slug).HasMaxLength(100);
            org.Property(o => o.Description).HasMaxLength(2000);
            org.HasOne<User>().WithMany().HasForeignKey(o => o.OwnerId).OnDelete(DeleteBehavior.Restrict);
        });

        model.Entity<OrganizationMember>(member =>
        {
            member.ToTable("organization_members");
            member.HasKey(m => new { m.OrganizationId, m.UserId });
            member.HasIndex(m => m.UserId);
            member.Property(m => m.Role).HasMaxLength(20);
            member.HasOne<Organization>().WithMany(o => o.Members).HasForeignKey(m => m.OrganizationId).OnDelete(DeleteBehavior.Cascade);
            member.HasOne(m => m.User).WithMany().HasForeignKey(m => m.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<OrganizationInvitation>(invitation =>
        {
            invitation.ToTable("organization_invitations");
            // At most one pending invitation per (organization, email): the database holds the rule under concurrency.
            invitation.HasIndex(i => new { i.OrganizationId, i.NormalizedEmail }).IsUnique().HasFilter("\"Status\" = 'pending'");
            // The daily bound counts an organization's invitations by creation time.
            invitation.HasIndex(i => new { i.OrganizationId, i.CreatedAt });
            // The invitee's inbox.
            invitation.HasIndex(i => i.NormalizedEmail);
            invitation.HasIndex(i => i.InvitedById);
            invitation.Property(i => i.Email).HasMaxLength(254);
            invitation.Property(i => i.NormalizedEmail).HasMaxLength(254);
            invitation.Property(i => i.Role).HasMaxLength(20);
            invitation.Property(i => i.Status).HasMaxLength(16);
            invitation.HasOne(i => i.Organization).WithMany().HasForeignKey(i => i.OrganizationId).OnDelete(DeleteBehavior.Cascade);
            // An inviter's account going away takes their invitations with it.
            invitation.HasOne(i => i.InvitedBy).WithMany().HasForeignKey(i => i.InvitedById).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<ProgressRecord>(progress =>
        {
            progress.ToTable("progress");
            progress.HasIndex(p => new { p.UserId, p.ContentType, p.ContentId }).IsUnique();
            progress.HasIndex(p => new { p.UserId, p.Status });
            progress.Property(p => p.ContentType).HasMaxLength(32);
            progress.Property(p => p.ContentId).HasMaxLength(128);
            progress.Property(p => p.Status).HasConversion(new EnumToStringConverter<ProgressStatus>()).HasMaxLength(16);
            progress.Property(p => p.Metadata).HasColumnType(JsonColumnType);
            progress.Property(p => p.Version).IsConcurrencyToken();
            progress.HasOne<User>().WithMany().HasForeignKey(p => p.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<LearningGoal>(goal =>
        {
            goal.ToTable("learning_goals");
            goal.HasKey(g => g.UserId);
            goal.Property(g => g.UserId).ValueGeneratedNever();
            goal.Property(g => g.TimeZone).HasMaxLength(LearningGoal.MaxTimeZoneLength);
            goal.HasOne<User>().WithMany().HasForeignKey(g => g.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<OutboxEvent>(outbox =>
        {
            outbox.ToTable("outbox_events");
            outbox.HasIndex(e => e.EventId).IsUnique();
            // The dispatcher's look-ups: a user's undelivered events in id order (heads, claims). Partial, so it
            // holds only the few rows in flight rather than every event kept for the retention period.
            outbox.HasIndex(e => new { e.UserId, e.Id }).HasFilter("\"DeliveredAt\" IS NULL AND \"FailedAt\" IS NULL");
            outbox.HasIndex(e => e.CreatedAt);
            outbox.Property(e => e.Type).HasMaxLength(32);
            outbox.Property(e => e.Payload).HasColumnType(JsonColumnType);
            outbox.Property(e => e.LastError).HasMaxLength(OutboxEvent.MaxErrorLength);
            // No foreign key to users: an event outlives what it describes, and must still be delivered.
        });

        model.Entity<ServiceClient>(client =>
        {
            client.ToTable("service_clients");
            client.HasIndex(c => c.ClientId).IsUnique();
            client.Property(c => c.ClientId).HasMaxLength(40);
            client.Property(c => c.Name).HasMaxLength(ServiceClient.MaxNameLength);
        });

        model.Entity<IdempotencyKey>(key =>
        {
            key.ToTable("idempotency_keys");
            key.HasIndex(k => new { k.Caller, k.Route, k.Key }).IsUnique();
            key.HasIndex(k => k.ExpiresAt);
            key.Property(k => k.Caller).HasMaxLength(IdempotentRequest.MaxCallerLength);
            key.Property(k => k.Route).HasMaxLength(IdempotentRequest.MaxRouteLength);
            key.Property(k => k.Key).HasMaxLength(IdempotencyKeyHeader.MaxLength);
            key.Property(k => k.Fingerprint).HasMaxLength(IdempotentRequest.FingerprintLength);
            // No foreign key to users: a key answers for a request, whatever has become of its caller since.
        });
    }

    internal sealed class UtcConverter() : ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.ToUniversalTime(),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));
}

public sealed class SqliteCoreDbContext(DbContextOptions<SqliteCoreDbContext> options) : CoreDbContext(options)
{
    protected override string JsonColumnType => "TEXT";
}

public sealed class PostgresCoreDbContext(DbContextOptions<PostgresCoreDbContext> options) : CoreDbContext(options)
{
    protected override string JsonColumnType => "jsonb";
}
