namespace CyberHub.Contracts;

/// <summary>
/// What the web app needs to know before it starts, served by Core: where browsers reach the AI service
/// (<c>CYBERHUB_AI_PUBLIC_URL</c>), which the app calls directly with the learner's token.
/// </summary>
public sealed record WebConfig(string AiUrl);
