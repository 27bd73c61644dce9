using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Dataplane.Linux.Tests.Support;

/// <summary>Assertions on what `dataplane-node lab` printed.</summary>
public static class LabOutput
{
    /// <summary>
    /// Asserts a line of the lab's output matches, printing the whole output when it does not: xUnit's own
    /// Assert.Matches cuts the value after a line, which hides which step said what.
    /// </summary>
    public static void HasLine(string output, [StringSyntax(StringSyntaxAttribute.Regex)] string pattern) =>
        Assert.True(Regex.IsMatch(output, pattern), $"no line matches /{pattern}/ in the lab's output:\n{output}");
}
