namespace CyberHub.Contracts;

/// <summary>The kinds of learning content CyberHub knows; progress and the catalog both use these names.</summary>
public static class ContentTypes
{
    public const string Course = "course";
    public const string Module = "module";
    public const string Lesson = "lesson";
    public const string Lab = "lab";
    public const string Quiz = "quiz";
    public const string Challenge = "challenge";
    public const string Video = "video";
    public const string Article = "article";

    public static readonly IReadOnlyList<string> All = [Course, Module, Lesson, Lab, Quiz, Challenge, Video, Article];

    public static bool IsKnown(string? value) => value is not null && All.Contains(value);
}
