namespace CyberHub.Contracts;

/// <summary>
/// What the learner's dashboard shows, shared by its two renderings: the app's page (src/CyberHub.Web, Features/Dashboard)
/// and the page Core serves on a full load of <c>/dashboard</c> (src/CyberHub.Core/Web/DashboardPage.cs, whose script
/// reads these from the page), so both ask the services for the same things and say the same.
/// </summary>
public static class DashboardRules
{
    /// <summary>Items in progress listed under "Continue learning", most recently active first.</summary>
    public const int ContinueLimit = 6;

    /// <summary>Recommendations asked of the AI service.</summary>
    public const int Recommendations = 6;

    /// <summary>A recommendation's description is cut (at a word) to this many characters.</summary>
    public const int DescriptionLength = 160;

    /// <summary>Items of the current track's topic asked of the catalog, beginner first.</summary>
    public const int TrackItems = 50;

    /// <summary>Items of recent work whose topic may name the current track.</summary>
    public const int TrackCandidates = 5;

    /// <summary>Days shown by the progress chart, today last.</summary>
    public const int ChartDays = 30;

    /// <summary>What the sign-in page says when a session ended without the learner signing out.</summary>
    public const string SessionEnded = "Your session has ended. Please log in again.";
}

/// <summary>The weekly goal a learner may set (Core refuses anything else with its own detail).</summary>
public static class LearningGoalRules
{
    public const int MinItems = 1;
    public const int MaxItems = 100;

    /// <summary>Said at the field, before anything is sent, when the entry is not a whole number in range.</summary>
    public static readonly string Invalid = $"Enter a whole number of items from {MinItems} to {MaxItems}.";
}
