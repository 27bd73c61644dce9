using System.Reflection;
using Dataplane.Core.Conntrack;
using Dataplane.Core.Drops;
using Dataplane.Core.Identity;
using Dataplane.Core.Overlay;
using Dataplane.Core.Packets;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;
using Dataplane.Ebpf.Maps;
using Dataplane.Ebpf.Tests.Support;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// Every constant the BPF program shares with C# has the same value on both sides. The C side declares them as
/// enums (bpf/dp_consts.h, bpf/drop_reasons.h), compiled into bpf/consts.btf.c's BTF; this reads every enumerator
/// from there and compares it with the C# member of the same name: a value changed on one side only fails here.
/// </summary>
public sealed class ConstantsTests
{
    /// <summary>The BTF-only object the test project compiles from bpf/consts.btf.c.</summary>
    private const string ConstsObject = "consts.btf.o";

    /// <summary>
    /// Each C enum's C# mirror: the type whose enum members or constants it holds, the prefix the C names add
    /// (C name = prefix + the C# name in upper snake case), and whether C must hold every C# member (false when
    /// the C# type has more than the datapath needs).
    /// </summary>
    private static readonly Dictionary<string, (Type Type, string Prefix, bool Whole)> Mirrors = new()
    {
        ["packet_verdict"] = (typeof(PacketVerdict), "V_", true),
        ["ct_state"] = (typeof(CtState), "CT_", true),
        ["traffic_direction"] = (typeof(TrafficDirection), "DIR_", true),
        ["packet_flags"] = (typeof(PacketFlags), "F_", true),
        ["next_hop_kind"] = (typeof(NextHopKind), "NH_", true),
        ["port_kind"] = (typeof(PortKind), "PORT_", true),
        ["numeric_identity"] = (typeof(NumericIdentity), "ID_", false),
        ["host_endpoint"] = (typeof(Core.Policy.HostEndpoint), "HOST_", true),
        ["datapath_limits"] = (typeof(DatapathLimits), "", true),
        ["policy_mode"] = (typeof(PolicyMode), "POL_", true),
        ["overlay_bits"] = (typeof(OverlayBits), "OVERLAY_", true),
        ["ovl_kind"] = (typeof(OvlKey), "OVL_", true),
        ["ct_flags"] = (typeof(CtFlags), "CT_", true),
        ["tcp_tracker"] = (typeof(TcpTracker), "TCP_", true),
        ["tunnel_mode"] = (typeof(TunnelMode), "TUNNEL_", true),
        ["srv6_behavior"] = (typeof(Srv6Behavior), "SRV6_", true),
        ["stat_slot"] = (typeof(StatSlot), "STAT_", true),
        ["dp_test_meta_magic"] = (typeof(DpTestMeta), "DP_", true),
    };

    public static TheoryData<string> MirroredEnums()
    {
        var data = new TheoryData<string>();
        foreach (var name in Mirrors.Keys) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(MirroredEnums))]
    public void CEnumHasTheValuesOfItsCsharpMirror(string cEnum)
    {
        var (type, prefix, whole) = Mirrors[cEnum];
        var members = EnumMembers(cEnum);
        var csharp = type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral)
            .ToDictionary(f => f.Name.ToLowerInvariant(), f => (f.Name, Value: Convert.ToUInt64(f.GetRawConstantValue())));
        var errors = new List<string>();
        var seen = new HashSet<string>();
        foreach (var (name, value) in members)
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal)) { errors.Add($"{name}: the C names of enum {cEnum} start with {prefix}"); continue; }
            string key = name[prefix.Length..].Replace("_", "").ToLowerInvariant();
            if (!csharp.TryGetValue(key, out var cs)) { errors.Add($"{name} = {value}: no C# {type.Name} member of that name"); continue; }
            seen.Add(key);
            if (cs.Value != value) errors.Add($"{name} = {value} in C, {type.Name}.{cs.Name} = {cs.Value} in C#");
        }
        if (whole)
            foreach (var (key, cs) in csharp)
                if (!seen.Contains(key)) errors.Add($"{type.Name}.{cs.Name} = {cs.Value} has no {prefix}* member in C enum {cEnum}");
        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    [Fact]
    public void DropReasonsAreTheTableSpelledAsCilium()
    {
        var c = EnumMembers("drop_reason").ToDictionary(m => m.Name, m => m.Value);
        var errors = new List<string>();
        foreach (var row in DropReasonTable.Rows)
        {
            if (!c.Remove(row.CiliumName, out uint code)) errors.Add($"{row.CiliumName} ({(int)row.Reason}, {row.Reason}) is not in bpf/drop_reasons.h");
            else if (code != (byte)row.Reason) errors.Add($"{row.CiliumName} = {code} in C, DropReason.{row.Reason} = {(int)row.Reason} in C#");
        }
        foreach (var (name, code) in c) errors.Add($"{name} = {code} in C has no row in DropReasonTable");
        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    [Fact]
    public void EveryEnumTheAnchorCarriesIsCompared()
    {
        using var btf = BtfReader.FromResource(typeof(ConstantsTests).Assembly, ConstsObject);
        var anchor = btf.Struct("dp_shared_consts");
        Assert.True(anchor.HasValue, "struct dp_shared_consts is not in the BTF of bpf/consts.btf.c");
        foreach (var m in anchor.Value.Members)
        {
            var e = btf.Enum(m.TypeId);
            Assert.True(e.HasValue, $"dp_shared_consts.{m.Name} is not an enum");
            Assert.True(Mirrors.ContainsKey(e.Value.Name) || e.Value.Name == "drop_reason", $"enum {e.Value.Name} has no C# mirror in ConstantsTests");
        }
        Assert.Equal(Mirrors.Count + 1, anchor.Value.Members.Length);
    }

    private static (string Name, uint Value)[] EnumMembers(string cEnum)
    {
        using var btf = BtfReader.FromResource(typeof(ConstantsTests).Assembly, ConstsObject);
        var anchor = btf.Struct("dp_shared_consts");
        Assert.True(anchor.HasValue, "struct dp_shared_consts is not in the BTF of bpf/consts.btf.c");
        foreach (var m in anchor.Value.Members)
            if (btf.Enum(m.TypeId) is { } e && e.Name == cEnum) return e.Members;
        Assert.Fail($"enum {cEnum} is not a member of dp_shared_consts (bpf/consts.btf.c)");
        return [];
    }
}
