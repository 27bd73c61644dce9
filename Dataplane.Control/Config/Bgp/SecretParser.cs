using System.Collections.Immutable;
using System.Text;

namespace Dataplane.Control.Config;

/// <summary>A <c>v1 Secret</c>'s keys (data base64-decoded, stringData as written); only BGP passwords use it.</summary>
public sealed record SecretSpec(string Namespace, string Name, ImmutableSortedDictionary<string, string> Values, SourceLocation Source);

/// <summary>Kubernetes <c>v1 Secret</c>: data (base64) and stringData, which wins for a key in both, as in the API server.</summary>
internal static class SecretParser
{
    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var values = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        if (doc.Root.TryGet("data", out var data))
        {
            foreach (var (k, v) in data.Entries())
            {
                try { values[k.String()] = Encoding.UTF8.GetString(Convert.FromBase64String(v.String())); }
                catch (FormatException) { throw v.Error("is not valid base64"); }
            }
        }
        if (doc.Root.TryGet("stringData", out var sd))
            foreach (var (k, v) in sd.Entries()) values[k.String()] = v.String();
        into.Secrets.Add(new SecretSpec(doc.Namespace, doc.Name, values.ToImmutable(), doc.Source));
    }
}
