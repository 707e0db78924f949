using System.Text.RegularExpressions;
using CyberHub.Contracts;
using CyberHub.Web.Api;

namespace CyberHub.Web.Components;

/// <summary>
/// A form's errors, each at its field in plain words: first what the browser finds with the services' own rules
/// (<see cref="FieldRules"/>), then whatever the service still refuses, its <c>detail</c> put at the field it names
/// ("email: a user with that email already exists." becomes "A user with that email already exists." beside Email).
/// A detail about no field on the form is the form's own error.
/// </summary>
public sealed partial class FormErrors(params string[] fields)
{
    private readonly Dictionary<string, string> _byField = new(StringComparer.Ordinal);

    /// <summary>An error that belongs to no field on the form: shown under the form.</summary>
    public string? Form { get; private set; }

    public bool Any => _byField.Count > 0 || Form is not null;

    /// <summary>The message for <paramref name="field"/>, if it has one.</summary>
    public string? this[string field] => _byField.GetValueOrDefault(field);

    /// <summary>"true" for <c>aria-invalid</c> when the field has an error.</summary>
    public string? Invalid(string field) => _byField.ContainsKey(field) ? "true" : null;

    public void Clear()
    {
        _byField.Clear();
        Form = null;
    }

    /// <summary>Starts over with these problems (nulls are fine); true when there are none.</summary>
    public bool Check(params IEnumerable<FieldProblem?> problems)
    {
        Clear();
        foreach (var problem in problems)
        {
            if (problem is not null)
            {
                Add(problem.Field, problem.Plain);
            }
        }
        return !Any;
    }

    /// <summary>Starts over with what the service refused.</summary>
    public void Refused(ApiException e, IReadOnlyDictionary<string, string>? shownAt = null)
    {
        Clear();
        if (Parse(e.Message) is { } problem)
        {
            var field = shownAt?.GetValueOrDefault(problem.Field) ?? problem.Field;
            if (fields.Contains(field))
            {
                _byField[field] = problem.Plain;
                return;
            }
        }
        Form = e.Message;
    }

    private void Add(string field, string message)
    {
        if (fields.Contains(field))
        {
            _byField.TryAdd(field, message);
        }
        else
        {
            Form ??= message;
        }
    }

    /// <summary>A service's detail as the field problem it states: "x is required." or "x: problem".</summary>
    public static FieldProblem? Parse(string detail)
    {
        var match = DetailPattern().Match(detail);
        if (!match.Success)
        {
            return null;
        }
        return match.Groups["required"].Success
            ? new FieldProblem(match.Groups["field"].Value, "", Missing: true)
            : new FieldProblem(match.Groups["field"].Value, match.Groups["problem"].Value);
    }

    [GeneratedRegex(@"^(?<field>[a-z][a-z_]*)(?:(?<required> is required\.?$)|: (?<problem>.+))", RegexOptions.Singleline)]
    private static partial Regex DetailPattern();
}
