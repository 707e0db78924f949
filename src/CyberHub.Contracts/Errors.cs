namespace CyberHub.Contracts;

/// <summary>The one error shape every CyberHub service answers with.</summary>
public sealed record ErrorResponse(string Detail);
