namespace Dataplane.Cni.Cni;

/// <summary>
/// What the runtime hands us is checked before it names anything: container ids go into IPAM files and log
/// lines, pod names and labels into the agent's endpoint table and Hubble flows, interface names into netlink.
/// Rules: CNI 1.0 for the container id and interface name, Kubernetes for names and labels.
/// </summary>
internal static class Identifiers
{
    /// <summary>CNI 1.0: an alphanumeric, then alphanumerics, '_', '.', '-'. The length bound is ours (runtimes use 64).</summary>
    public static bool IsContainerId(string s) =>
        s.Length is > 0 and <= 256 && char.IsAsciiLetterOrDigit(s[0]) && All(s, c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    /// <summary>CNI 1.0 (libcni ValidateNetworkName): as a container id. It names a directory, so at most 255.</summary>
    public static bool IsNetworkName(string s) =>
        s.Length is > 0 and <= 255 && char.IsAsciiLetterOrDigit(s[0]) && All(s, c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    /// <summary>
    /// CNI_NETNS: an absolute path (the spec's "/run/netns/[nsname]", "/proc/[pid]/ns/net") shorter than PATH_MAX,
    /// without controls (it goes into the attachment record and the agent's endpoint) or ".." components (a runtime
    /// has no reason to send one; it would let the value name a file outside where it appears to point).
    /// </summary>
    public static bool IsNetnsPath(string s) =>
        s.Length is > 1 and < 4096 && s[0] == '/' && All(s, c => c is >= ' ' and not '\x7f')
        && !s.Split('/').Contains("..");

    /// <summary>Linux dev_valid_name: 1–15 bytes, not "." or "..", no '/', ':' or white space; we also refuse non-ASCII and controls.</summary>
    public static bool IsInterfaceName(string s) =>
        s.Length is > 0 and <= 15 && s is not "." and not ".." && All(s, c => c is > ' ' and < '\x7f' and not '/' and not ':');

    /// <summary>
    /// A namespace (max 63) or pod name (max 253): Kubernetes' DNS-1123 names, plus upper case and '_' because
    /// podman passes container names such as "quirky_hopper" in K8S_POD_NAME. No white space, controls or '/'.
    /// </summary>
    public static bool IsObjectName(string s, int max) =>
        s.Length > 0 && s.Length <= max && char.IsAsciiLetterOrDigit(s[0]) && All(s, c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    /// <summary>Kubernetes label key: [prefix/]name, prefix a DNS subdomain, name 1–63 of [A-Za-z0-9_.-] alphanumeric at both ends.</summary>
    public static bool IsLabelKey(string s)
    {
        int slash = s.IndexOf('/');
        return slash < 0 ? IsLabelName(s) : IsDnsSubdomain(s[..slash]) && IsLabelName(s[(slash + 1)..]);
    }

    private static bool IsDnsSubdomain(string s)
    {
        if (s.Length is 0 or > 253) return false;
        foreach (var label in s.Split('.'))
            if (label.Length is 0 or > 63 || !IsLowerAlnum(label[0]) || !IsLowerAlnum(label[^1]) || !All(label, c => IsLowerAlnum(c) || c == '-'))
                return false;
        return true;
    }

    /// <summary>Kubernetes label value: empty, or a label name.</summary>
    public static bool IsLabelValue(string s) => s.Length == 0 || IsLabelName(s);

    private static bool IsLabelName(string s) =>
        s.Length is > 0 and <= 63 && char.IsAsciiLetterOrDigit(s[0]) && char.IsAsciiLetterOrDigit(s[^1])
        && All(s, c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    private static bool IsLowerAlnum(char c) => c is >= 'a' and <= 'z' or >= '0' and <= '9';

    private static bool All(string s, Func<char, bool> ok)
    {
        foreach (char c in s)
            if (!ok(c)) return false;
        return true;
    }
}
