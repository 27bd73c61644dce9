using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using YamlDotNet.Core;

namespace Dataplane.Control.Config;

/// <summary>
/// A YAML node plus where it is (file, position) and how the user would name it (a field path such as
/// "spec.interfaces[1].mac"). Every typed read either returns a value or throws a <see cref="ConfigException"/>
/// pointing at this node, so parsers never have to think about positions.
/// </summary>
internal readonly struct YNode(string file, YamlTreeNode node, string path)
{
    public string File { get; } = file;
    public YamlTreeNode Node { get; } = node;
    public string Path { get; } = path;

    public SourceLocation At => new(File, Node.Line, Node.Column);

    public ConfigException Error(string reason) => new(At, $"{Path}: {reason}");

    /// <summary>
    /// `key:`, `key: ~` and `key: null` mean "not set" in Kubernetes manifests, so optional reads treat an
    /// untagged plain null scalar like an absent key.
    /// </summary>
    public bool IsNull => Node is YamlTreeScalar { Style: ScalarStyle.Plain, Tagged: false } s
                          && s.Value is "" or "~" or "null" or "Null" or "NULL";

    private string Shape => Node switch
    {
        YamlTreeMapping => "a mapping",
        YamlTreeSequence => "a list",
        _ when IsNull => "null",
        _ => "a scalar",
    };

    private YNode Child(YamlTreeNode child, string suffix) => new(File, child, Path.Length == 0 ? suffix : Path + suffix);

    // ---- shapes ----

    public YamlTreeMapping Mapping() =>
        Node as YamlTreeMapping ?? throw Error($"expected a mapping, got {Shape}");

    public IEnumerable<YNode> Items()
    {
        var seq = Node as YamlTreeSequence ?? throw Error($"expected a list, got {Shape}");
        int i = 0;
        foreach (var item in seq.Items)
            yield return Child(item, $"[{i++}]");
    }

    /// <summary>Scalar text. Numbers and booleans are accepted here as their literal text.</summary>
    public string String() => Node is YamlTreeScalar s && !IsNull
        ? s.Value
        : throw Error($"expected a string, got {Shape}");

    /// <summary>
    /// A value that must be a YAML string, as in Kubernetes' map[string]string fields: an unquoted
    /// <c>true</c>, <c>1</c> or <c>null</c> is a bool/number/null there and the API server rejects it.
    /// </summary>
    public string StrictString()
    {
        var text = String();
        var s = (YamlTreeScalar)Node;
        if (s.Style == ScalarStyle.Plain && !s.Tagged && YamlScalars.ResolvesToNonString(text))
            throw Error($"expected a string, got the non-string scalar {text}; quote it");
        return text;
    }

    // ---- mapping access ----

    public IEnumerable<(YNode Key, YNode Value)> Entries()
    {
        foreach (var (k, v) in Mapping().Entries)
        {
            var key = new YNode(File, k, Path);
            var name = key.String();
            yield return (key, Child(v, Path.Length == 0 ? name : "." + name));
        }
    }

    /// <summary>Looks up <paramref name="key"/>; a missing key or a null value counts as absent.</summary>
    public bool TryGet(string key, out YNode value)
    {
        foreach (var (k, v) in Mapping().Entries)
        {
            if (k is YamlTreeScalar { Value: var name } && name == key)
            {
                value = Child(v, Path.Length == 0 ? key : "." + key);
                return !value.IsNull;
            }
        }
        value = default;
        return false;
    }

    public YNode Get(string key) => TryGet(key, out var v)
        ? v
        : throw new ConfigException(At, $"missing required field '{(Path.Length == 0 ? key : Path + "." + key)}'");

    public string? OptString(string key) => TryGet(key, out var v) ? v.String() : null;

    public string RequiredString(string key)
    {
        var v = Get(key);
        var s = v.String();
        return s.Length > 0 ? s : throw v.Error("must not be empty");
    }

    /// <summary>
    /// Our own kinds reject unknown keys: a misspelt optional field ("adresses") would otherwise be ignored
    /// silently and leave the node half-configured. Kubernetes kinds are read leniently instead, since real
    /// manifests carry many fields the dataplane does not use.
    /// </summary>
    public void AllowOnly(params string[] keys)
    {
        foreach (var (k, _) in Entries())
        {
            var name = k.String();
            if (Array.IndexOf(keys, name) < 0)
                throw k.Error($"unknown field '{name}' (expected one of: {string.Join(", ", keys)})");
        }
    }

    // ---- typed scalars ----

    public int Int(int min, int max)
    {
        var text = String();
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v))
            throw Error($"expected an integer, got '{text}'");
        return v >= min && v <= max ? v : throw Error($"{v} is out of range {min}..{max}");
    }

    public IPAddress Ip()
    {
        var text = String();
        return IpText.TryParseAddress(text, out var ip) ? ip : throw Error($"invalid IP address '{text}'");
    }

    /// <summary>A network prefix; host bits must be zero because "10.0.0.1/24" usually means a typo.</summary>
    public IPNetwork Cidr()
    {
        var text = String();
        if (!IpText.TryParsePrefix(text, out var ip, out int len))
            throw Error($"invalid CIDR '{text}'");
        var net = IpText.Network(ip, len);
        return net.BaseAddress.Equals(ip)
            ? net
            : throw Error($"CIDR '{text}' has host bits set (did you mean {net}?)");
    }

    /// <summary>An interface address "ip/prefix"; here host bits are expected.</summary>
    public IfAddress IfAddress()
    {
        var text = String();
        return IpText.TryParsePrefix(text, out var ip, out int len)
            ? new IfAddress(ip, len)
            : throw Error($"invalid interface address '{text}' (expected address/prefix-length)");
    }

    /// <summary>A MAC the dataplane will use as a source or destination: must be unicast and non-zero.</summary>
    public MacAddress Mac()
    {
        var text = String();
        if (!MacAddress.TryParse(text, out var mac))
            throw Error($"invalid MAC address '{text}'");
        if (mac.IsZero)
            throw Error($"MAC address {mac} is zero");
        if (mac.IsMulticast)
            throw Error($"MAC address {mac} is multicast");
        return mac;
    }

    /// <summary>Kubernetes labels/annotations: a mapping of string to string.</summary>
    public ImmutableSortedDictionary<string, string> StringMap()
    {
        var b = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in Entries())
            b[k.String()] = v.StrictString();
        return b.ToImmutable();
    }

    public static ImmutableSortedDictionary<string, string> EmptyMap { get; } =
        ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal);
}
