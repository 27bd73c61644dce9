using Dataplane.Control.Config;

namespace Dataplane.Control.Compiler;

/// <summary>
/// Named ports in policies ("port: http"), resolved as Cilium resolves them: an ingress rule on the selected pod's
/// own container ports (so pods that number a name differently each get their own number), an egress rule on the
/// union of every pod's ports of that name (Cilium's named-port multimap: the destination's number is not known
/// when the source's policy is computed). A name no pod has allows nothing.
/// </summary>
internal sealed class NamedPorts(IEnumerable<PodSpec> pods)
{
    private readonly ILookup<(string Name, byte Protocol), ushort> _all = pods
        .SelectMany(p => p.ContainerPorts).Where(c => c.Name.Length > 0)
        .Select(c => (Key: (c.Name, c.Protocol), c.Port)).Distinct()
        .OrderBy(x => x.Port).ToLookup(x => x.Key, x => x.Port);

    public IEnumerable<ushort> Egress(string name, byte protocol) => _all[(name, protocol)];

    public Func<string, byte, IEnumerable<ushort>> Ingress(PodSpec pod) =>
        (name, protocol) => pod.NamedPort(name, protocol) is var port and not 0 ? [port] : [];
}
