using System.Globalization;

namespace Dataplane.Control.Config;

/// <summary>
/// Plain-scalar type resolution, only as far as needed to spot values that Kubernetes would not read as a
/// string: the YAML 1.2 core schema (null, bool, int, float) plus the YAML 1.1 booleans yes/no/on/off,
/// which the Go YAML library used by kubectl still resolves to bool.
/// </summary>
internal static class YamlScalars
{
    public static bool ResolvesToNonString(string text)
    {
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
            case "true" or "True" or "TRUE" or "false" or "False" or "FALSE":
            case "yes" or "Yes" or "YES" or "no" or "No" or "NO":
            case "on" or "On" or "ON" or "off" or "Off" or "OFF":
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF" or "-.inf" or "-.Inf" or "-.INF":
            case ".nan" or ".NaN" or ".NAN":
                return true;
        }
        if (text.StartsWith("0x", StringComparison.Ordinal))
            return text.Length > 2 && text.AsSpan(2).ContainsOnlyHex();
        if (text.StartsWith("0o", StringComparison.Ordinal))
            return text.Length > 2 && text.AsSpan(2).IndexOfAnyExcept("01234567") < 0;
        // Decimal ints and floats ("1", "-2", "1.5", "1e3"); a version such as "1.2.3" stays a string.
        var body = text.TrimStart('+', '-');
        return body.Length > 0 && (char.IsAsciiDigit(body[0]) || body[0] == '.')
               && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
    }

    private static bool ContainsOnlyHex(this ReadOnlySpan<char> s) => s.IndexOfAnyExcept("0123456789abcdefABCDEF") < 0;
}
