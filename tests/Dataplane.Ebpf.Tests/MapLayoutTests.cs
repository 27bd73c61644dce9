using System.Reflection;
using System.Runtime.InteropServices;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;
using Dataplane.Ebpf.Tests.Support;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// Every struct shared with the BPF program has, in C#, the size and field offsets the compiler gave the C
/// struct — read from the BTF embedded in the compiled object, not restated by hand.
/// </summary>
public sealed class MapLayoutTests
{
    public static TheoryData<string, Type> Structs() => new()
    {
        { "dp_config", typeof(DpConfig) }, { "dp_port", typeof(DpPort) }, { "dp_endpoint", typeof(DpEndpoint) },
        { "dp_nexthop", typeof(DpNextHop) }, { "lpm4_key", typeof(Lpm4Key) }, { "ovl_key", typeof(OvlKey) }, { "lpm6_key", typeof(Lpm6Key) },
        { "policy_key", typeof(PolicyKey) }, { "policy_range", typeof(PolicyRange) }, { "policy_value", typeof(PolicyValue) },
        { "ct_key", typeof(CtKeyBpf) }, { "ct_value", typeof(CtValueBpf) },
        { "lb_fe_key", typeof(LbFeKey) }, { "lb_fe", typeof(LbFe) }, { "lb_slot", typeof(LbSlot) }, { "dp_tunnel", typeof(DpTunnel) }, { "dp_srv6", typeof(DpSrv6) }, { "srv6_sid", typeof(Srv6Sid) }, { "masq_addr", typeof(MasqAddr) },
        { "lb_member_key", typeof(LbMemberKey) }, { "lb_affinity_key", typeof(LbAffinityKey) }, { "lb_affinity", typeof(LbAffinity) },
        { "egw_lpm_key", typeof(EgwLpmKey) }, { "egw_gateway", typeof(EgwGateway) }, { "drop_counter", typeof(DropCounter) },
        { "dp_verdict", typeof(DpVerdict) }, { "dp_flow_event", typeof(DpFlowEvent) }, { "dp_test_meta", typeof(DpTestMeta) },
    };

    [Theory]
    [MemberData(nameof(Structs))]
    public void CsharpMirrorMatchesTheCompiledStruct(string cName, Type type)
    {
        using var btf = BtfReader.FromResource(typeof(EbpfDatapath).Assembly, EbpfDatapath.ResourceName);
        var s = btf.Struct(cName);
        Assert.True(s.HasValue, $"struct {cName} is not in the object's BTF");
        Assert.Equal(s.Value.Size, Marshal.SizeOf(type));
        var fields = type.GetFields(BindingFlags.Public | BindingFlags.Instance).ToDictionary(f => f.Name.ToLowerInvariant());
        int matched = 0;
        foreach (var m in s.Value.Members)
        {
            if (m.Name.StartsWith("pad", StringComparison.Ordinal)) continue;
            Assert.True(fields.TryGetValue(m.Name.Replace("_", ""), out var f), $"{cName}.{m.Name} has no C# field in {type.Name}");
            Assert.Equal(m.Offset, (int)Marshal.OffsetOf(type, f.Name));
            matched++;
        }
        Assert.Equal(fields.Count, matched);
    }
}
