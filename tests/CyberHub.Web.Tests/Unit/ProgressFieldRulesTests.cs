using CyberHub.Contracts;

namespace CyberHub.Web.Tests.Unit;

/// <summary>
/// The progress form's fields, read with the shared rules: what Core stores, or the plain sentence shown at the
/// field (never a number made up from bad input).
/// </summary>
public sealed class ProgressFieldRulesTests
{
    [Theory]
    [InlineData("40", 40.0)]
    [InlineData(" 50.5 ", 50.5)]
    [InlineData("0", 0.0)]
    [InlineData("100", 100.0)]
    [InlineData("33.3333", 33.33)]
    public void A_percentage_is_read_as_Core_stores_it(string typed, double stored)
    {
        Assert.Null(FieldRules.Percentage(typed, "completion_percentage", required: true, out var value));
        Assert.Equal(stored, value);
    }

    [Theory]
    [InlineData("", "Enter how far you got, as a number from 0 to 100.")]
    [InlineData("   ", "Enter how far you got, as a number from 0 to 100.")]
    [InlineData("1e3", "“1e3” is not a number; enter one from 0 to 100, such as 40 or 62.5.")]
    [InlineData("NaN", "“NaN” is not a number; enter one from 0 to 100, such as 40 or 62.5.")]
    [InlineData("-Infinity", "“-Infinity” is not a number; enter one from 0 to 100, such as 40 or 62.5.")]
    [InlineData("50,5", "Use a point for decimals, as in 62.5.")]
    [InlineData("-5", "It cannot be below 0; enter a number from 0 to 100.")]
    [InlineData("150", "150 is more than 100; enter a number from 0 to 100.")]
    public void A_bad_completion_is_a_plain_sentence_and_no_value(string typed, string shown)
    {
        var problem = FieldRules.Percentage(typed, "completion_percentage", required: true, out var value);
        Assert.Null(value);
        Assert.Equal("completion_percentage", problem?.Field);
        Assert.Equal(shown, problem?.Plain);
    }

    [Fact]
    public void An_empty_score_is_no_score()
    {
        Assert.Null(FieldRules.Percentage("", "score", required: false, out var value));
        Assert.Null(value);
        Assert.Equal("Enter your score, as a number from 0 to 100.", FieldRules.Percentage("", "score", required: true, out _)?.Plain);
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("45", 2700L)]
    [InlineData(" 90 ", 5400L)]
    public void Minutes_become_the_seconds_Core_stores(string typed, long seconds)
    {
        Assert.Null(FieldRules.TimeSpentMinutes(typed, out var value));
        Assert.Equal(seconds, value);
    }

    [Theory]
    [InlineData("", "Enter the time you spent, in minutes.")]
    [InlineData("-5", "It cannot be below 0 minutes.")]
    [InlineData("1.5", "“1.5” is not a whole number of minutes; enter one such as 45.")]
    [InlineData("99999999999999999999", "Enter a time from 0 to 5256000 minutes.")]
    [InlineData("6000000", "Enter a time from 0 to 5256000 minutes.")]
    public void A_bad_time_is_a_plain_sentence_and_no_value(string typed, string shown)
    {
        var problem = FieldRules.TimeSpentMinutes(typed, out var value);
        Assert.Null(value);
        Assert.Equal("time_spent_seconds", problem?.Field);
        Assert.Equal(shown, problem?.Plain);
    }

    [Fact]
    public void The_limits_are_Core_s()
    {
        Assert.NotNull(FieldRules.Percentage(double.PositiveInfinity, "score"));
        Assert.NotNull(FieldRules.Percentage(100.01, "score"));
        Assert.Null(FieldRules.Percentage(100, "score"));
        Assert.NotNull(FieldRules.TimeSpent(-1));
        Assert.NotNull(FieldRules.TimeSpent(FieldRules.MaxTimeSpentSeconds + 1));
        Assert.Null(FieldRules.TimeSpent(FieldRules.MaxTimeSpentSeconds));
    }
}
