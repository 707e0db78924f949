namespace CyberHub.Core.Organizations;

public sealed class Organization
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public required string Slug { get; set; }
    public string Description { get; set; } = "";
    public long OwnerId { get; set; }
    public DateTime CreatedAt { get; set; }
    public List<OrganizationMember> Members { get; set; } = [];
}

public sealed class OrganizationMember
{
    public long OrganizationId { get; set; }
    public long UserId { get; set; }
    public required string Role { get; set; }
    public DateTime JoinedAt { get; set; }
    public Users.User? User { get; set; }
}
