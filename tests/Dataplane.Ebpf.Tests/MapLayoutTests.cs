using System.Reflection;
using System.Runtime.InteropServices;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// Every struct shared with the BPF program has, in C#, the size and field offsets the compiler gave the C
/// struct — read from the BTF embedded in the compiled object, not restated by hand.
/// </summary>
public sealed unsafe partial class MapLayoutTests
{
    [LibraryImport("libbpf.so.1")]
    private static partial void* bpf_object__open_mem(void* buf, nuint size, void* opts);

    [LibraryImport("libbpf.so.1")]
    private static partial void bpf_object__close(void* obj);

    [LibraryImport("libbpf.so.1")]
    private static partial void* bpf_object__btf(void* obj);

    [LibraryImport("libbpf.so.1", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int btf__find_by_name_kind(void* btf, string name, uint kind);

    [LibraryImport("libbpf.so.1")]
    private static partial uint* btf__type_by_id(void* btf, uint id);

    [LibraryImport("libbpf.so.1")]
    private static partial byte* btf__name_by_offset(void* btf, uint offset);

    private const uint BTF_KIND_STRUCT = 4;

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
        using var stream = typeof(EbpfDatapath).Assembly.GetManifestResourceStream(EbpfDatapath.ResourceName);
        Assert.NotNull(stream);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        fixed (byte* data = bytes)
        {
            void* obj = bpf_object__open_mem(data, (nuint)bytes.Length, null);
            Assert.True(obj != null, "the embedded object does not open");
            try
            {
                void* btf = bpf_object__btf(obj);
                int id = btf__find_by_name_kind(btf, cName, BTF_KIND_STRUCT);
                Assert.True(id > 0, $"struct {cName} is not in the object's BTF");
                uint* t = btf__type_by_id(btf, (uint)id);
                uint vlen = t[1] & 0xFFFF, size = t[2];
                Assert.Equal((int)size, Marshal.SizeOf(type));
                var fields = type.GetFields(BindingFlags.Public | BindingFlags.Instance).ToDictionary(f => f.Name.ToLowerInvariant());
                int matched = 0;
                for (uint i = 0; i < vlen; i++)
                {
                    uint* m = t + 3 + 3 * i; // struct btf_member { name_off, type, offset (bits) }
                    string name = Marshal.PtrToStringUTF8((nint)btf__name_by_offset(btf, m[0]))!;
                    if (name.StartsWith("pad", StringComparison.Ordinal)) continue;
                    Assert.True(fields.TryGetValue(name.Replace("_", ""), out var f), $"{cName}.{name} has no C# field in {type.Name}");
                    Assert.Equal((int)(m[2] / 8), (int)Marshal.OffsetOf(type, f.Name));
                    matched++;
                }
                Assert.Equal(fields.Count, matched);
            }
            finally { bpf_object__close(obj); }
        }
    }
}
