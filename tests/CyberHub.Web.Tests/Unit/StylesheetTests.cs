using CyberHub.Testing;

namespace CyberHub.Web.Tests.Unit;

/// <summary>The stylesheet as text: a block left open makes every later rule part of it (a media query's, say).</summary>
public sealed class StylesheetTests
{
    [Fact]
    public void Every_block_of_app_css_is_closed_where_it_opens()
    {
        var css = File.ReadAllText(Path.Combine(HostProgram.RepositoryRoot, "src", "CyberHub.Web", "wwwroot", "css", "app.css"));
        var depth = 0;
        var line = 1;
        var inComment = false;
        for (var i = 0; i < css.Length; i++)
        {
            var c = css[i];
            if (c == '\n')
            {
                line++;
            }
            if (inComment)
            {
                inComment = !(c == '*' && i + 1 < css.Length && css[i + 1] == '/');
                continue;
            }
            if (c == '/' && i + 1 < css.Length && css[i + 1] == '*')
            {
                inComment = true;
                continue;
            }
            depth += c switch { '{' => 1, '}' => -1, _ => 0 };
            Assert.True(depth >= 0, $"line {line}: a block closed that was never opened");
        }
        Assert.True(depth == 0, $"app.css ends with {depth} block(s) still open");
    }

    [Fact]
    public void A_top_level_section_comment_is_never_inside_a_block()
    {
        var lines = File.ReadAllLines(Path.Combine(HostProgram.RepositoryRoot, "src", "CyberHub.Web", "wwwroot", "css", "app.css"));
        var depth = 0;
        for (var n = 0; n < lines.Length; n++)
        {
            if (lines[n].StartsWith("/* ", StringComparison.Ordinal))
            {
                Assert.True(depth == 0, $"line {n + 1} ({lines[n].Trim()}) starts a section inside an open block");
            }
            depth += lines[n].Count(c => c == '{') - lines[n].Count(c => c == '}');
        }
    }
}
