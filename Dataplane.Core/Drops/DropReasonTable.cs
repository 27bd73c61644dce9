namespace Dataplane.Core.Drops;

/// <summary>One drop reason as Cilium names it everywhere it appears.</summary>
/// <param name="Reason">The code (Cilium's, positive).</param>
/// <param name="CiliumName">Its <c>DROP_*</c> name in Cilium's bpf/lib/drop_reasons.h, which is also its name in
/// this project's BPF program (Dataplane.Ebpf/bpf/drop_reasons.h; ConstantsTests compares the two).</param>
/// <param name="HubbleName">Hubble's <c>DropReason</c> enum name (api/v1/flow/flow.proto), printed as
/// <c>drop_reason_desc</c>.</param>
/// <param name="MetricText">The monitor's description (pkg/monitor/api/drop.go), the <c>reason</c> label of
/// <c>cilium_drop_count_total</c> and what <c>cilium monitor</c> prints.</param>
public readonly record struct DropReasonInfo(DropReason Reason, string CiliumName, string HubbleName, string MetricText);

/// <summary>
/// The one table of drop reasons: every <see cref="DropReason"/> but <see cref="DropReason.None"/>, in code order,
/// with its names. Lookups by code are array indexing (built once), so they cost nothing on the paths that print.
/// </summary>
public static class DropReasonTable
{
    private static readonly DropReasonInfo[] s_rows =
    [
        new(DropReason.InvalidSourceMac, "DROP_INVALID_SMAC", "INVALID_SOURCE_MAC", "Invalid source mac"),
        new(DropReason.InvalidDestinationMac, "DROP_INVALID_DMAC", "INVALID_DESTINATION_MAC", "Invalid destination mac"),
        new(DropReason.InvalidSourceIp, "DROP_INVALID_SIP", "INVALID_SOURCE_IP", "Invalid source ip"),
        new(DropReason.PolicyDenied, "DROP_POLICY", "POLICY_DENIED", "Policy denied"),
        new(DropReason.InvalidPacketDropped, "DROP_INVALID", "INVALID_PACKET_DROPPED", "Invalid packet"),
        new(DropReason.CtTruncatedOrInvalidHeader, "DROP_CT_INVALID_HDR", "CT_TRUNCATED_OR_INVALID_HEADER", "CT: Truncated or invalid header"),
        new(DropReason.CtMissingTcpAckFlag, "DROP_FRAG_NEEDED", "CT_MISSING_TCP_ACK_FLAG", "Fragmentation needed"),
        new(DropReason.CtUnknownL4Protocol, "DROP_CT_UNKNOWN_PROTO", "CT_UNKNOWN_L4_PROTOCOL", "CT: Unknown L4 protocol"),
        new(DropReason.CtCannotCreateEntryFromPacket, "DROP_CT_CANT_CREATE", "CT_CANNOT_CREATE_ENTRY_FROM_PACKET", "CT: Can't create entry from packet"),
        new(DropReason.UnsupportedL3Protocol, "DROP_UNKNOWN_L3", "UNSUPPORTED_L3_PROTOCOL", "Unsupported L3 protocol"),
        new(DropReason.ErrorWritingToPacket, "DROP_WRITE_ERROR", "ERROR_WRITING_TO_PACKET", "Error writing to packet"),
        new(DropReason.UnknownL4Protocol, "DROP_UNKNOWN_L4", "UNKNOWN_L4_PROTOCOL", "Unknown L4 protocol"),
        new(DropReason.UnknownIcmpv4Code, "DROP_UNKNOWN_ICMP4_CODE", "UNKNOWN_ICMPV4_CODE", "Unknown ICMPv4 code"),
        new(DropReason.UnknownIcmpv4Type, "DROP_UNKNOWN_ICMP4_TYPE", "UNKNOWN_ICMPV4_TYPE", "Unknown ICMPv4 type"),
        new(DropReason.UnknownIcmpv6Code, "DROP_UNKNOWN_ICMP6_CODE", "UNKNOWN_ICMPV6_CODE", "Unknown ICMPv6 code"),
        new(DropReason.UnknownIcmpv6Type, "DROP_UNKNOWN_ICMP6_TYPE", "UNKNOWN_ICMPV6_TYPE", "Unknown ICMPv6 type"),
        new(DropReason.ErrorRetrievingTunnelKey, "DROP_NO_TUNNEL_KEY", "ERROR_RETRIEVING_TUNNEL_KEY", "Error retrieving tunnel key"),
        new(DropReason.UnknownL3TargetAddress, "DROP_UNKNOWN_TARGET", "UNKNOWN_L3_TARGET_ADDRESS", "Unknown L3 target address"),
        new(DropReason.StaleOrUnroutableIp, "DROP_UNROUTABLE", "STALE_OR_UNROUTABLE_IP", "Stale or unroutable IP"),
        new(DropReason.NoMatchingLocalContainerFound, "DROP_NO_LXC", "NO_MATCHING_LOCAL_CONTAINER_FOUND", "No matching local container found"),
        new(DropReason.InvalidL3Checksum, "DROP_CSUM_L3", "ERROR_WHILE_CORRECTING_L3_CHECKSUM", "Error while correcting L3 checksum"),
        new(DropReason.InvalidL4Checksum, "DROP_CSUM_L4", "ERROR_WHILE_CORRECTING_L4_CHECKSUM", "Error while correcting L4 checksum"),
        new(DropReason.CtMapInsertionFailed, "DROP_CT_CREATE_FAILED", "CT_MAP_INSERTION_FAILED", "CT: Map insertion failed"),
        new(DropReason.InvalidIpv6ExtensionHeader, "DROP_INVALID_EXTHDR", "INVALID_IPV6_EXTENSION_HEADER", "Invalid IPv6 extension header"),
        new(DropReason.IpFragmentationNotSupported, "DROP_FRAG_NOSUPPORT", "IP_FRAGMENTATION_NOT_SUPPORTED", "IP fragmentation not supported"),
        new(DropReason.ServiceBackendNotFound, "DROP_NO_SERVICE", "SERVICE_BACKEND_NOT_FOUND", "Service backend not found"),
        new(DropReason.NoTunnelOrEncapsulationEndpoint, "DROP_NO_TUNNEL_ENDPOINT", "NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT", "No tunnel/encapsulation endpoint (datapath BUG!)"),
        new(DropReason.UnsupportedL2Protocol, "DROP_UNSUPPORTED_L2", "UNSUPPORTED_L2_PROTOCOL", "Unsupported L2 protocol"),
        new(DropReason.NoMappingForNatMasquerade, "DROP_NAT_NO_MAPPING", "NO_MAPPING_FOR_NAT_MASQUERADE", "No mapping for NAT masquerade"),
        new(DropReason.UnsupportedProtocolForNatMasquerade, "DROP_NAT_UNSUPP_PROTO", "UNSUPPORTED_PROTOCOL_FOR_NAT_MASQUERADE", "Unsupported protocol for NAT masquerade"),
        new(DropReason.FibLookupFailed, "DROP_NO_FIB", "FIB_LOOKUP_FAILED", "FIB lookup failed"),
        new(DropReason.EncapsulationTrafficIsProhibited, "DROP_ENCAP_PROHIBITED", "ENCAPSULATION_TRAFFIC_IS_PROHIBITED", "Encapsulation traffic is prohibited"),
        new(DropReason.InvalidIdentity, "DROP_INVALID_IDENTITY", "INVALID_IDENTITY", "Invalid identity"),
        new(DropReason.UnknownSender, "DROP_UNKNOWN_SENDER", "UNKNOWN_SENDER", "Unknown sender"),
        new(DropReason.NatNotNeeded, "DROP_NAT_NOT_NEEDED", "NAT_NOT_NEEDED", "NAT not needed"),
        new(DropReason.DeniedByLbSrcRangeCheck, "DROP_NOT_IN_SRC_RANGE", "DENIED_BY_LB_SRC_RANGE_CHECK", "Denied by LB src range check"),
        new(DropReason.PolicyDeny, "DROP_POLICY_DENY", "POLICY_DENY", "Policy denied by denylist"),
        new(DropReason.VlanFiltered, "DROP_VLAN_FILTERED", "VLAN_FILTERED", "VLAN traffic disallowed by VLAN filter"),
        new(DropReason.InvalidVni, "DROP_INVALID_VNI", "INVALID_VNI", "Incorrect VNI from VTEP"),
        new(DropReason.NoSid, "DROP_NO_SID", "NO_SID", "No SID was found for the IP address"),
        new(DropReason.MissingSrv6State, "DROP_MISSING_SRV6_STATE", "MISSING_SRV6_STATE", "SRv6 state was removed during tail call"),
        new(DropReason.InvalidClusterId, "DROP_INVALID_CLUSTER_ID", "INVALID_CLUSTER_ID", "Invalid ClusterID"),
        new(DropReason.NoEgressGateway, "DROP_NO_EGRESS_GATEWAY", "NO_EGRESS_GATEWAY", "No egress gateway found"),
        new(DropReason.UnencryptedTraffic, "DROP_UNENCRYPTED_TRAFFIC", "UNENCRYPTED_TRAFFIC", "Traffic is unencrypted"),
        new(DropReason.TtlExceeded, "DROP_TTL_EXCEEDED", "TTL_EXCEEDED", "TTL exceeded"),
    ];

    private static readonly string[] s_hubble = new string[256];
    private static readonly string[] s_metric = new string[256];
    private static readonly string?[] s_cilium = new string?[256];

    static DropReasonTable()
    {
        for (int code = 0; code < 256; code++)
        {
            s_hubble[code] = "DROP_REASON_UNKNOWN";
            // The monitor prints a code it does not know as the number.
            s_metric[code] = code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        foreach (var row in s_rows)
        {
            s_hubble[(byte)row.Reason] = row.HubbleName;
            s_metric[(byte)row.Reason] = row.MetricText;
            s_cilium[(byte)row.Reason] = row.CiliumName;
        }
    }

    /// <summary>Every known reason, in code order.</summary>
    public static ReadOnlySpan<DropReasonInfo> Rows => s_rows;

    /// <summary>Hubble's name (<c>drop_reason_desc</c>); <c>DROP_REASON_UNKNOWN</c> for a code not in the table.</summary>
    public static string HubbleName(DropReason reason) => s_hubble[(byte)reason];

    /// <summary>The metric's reason label; the number for a code not in the table.</summary>
    public static string MetricText(DropReason reason) => s_metric[(byte)reason];

    /// <summary>Cilium's <c>DROP_*</c> name, or null for a code not in the table.</summary>
    public static string? CiliumName(DropReason reason) => s_cilium[(byte)reason];
}

/// <summary>Cilium's human-readable names, as Hubble prints them in <c>drop_reason_desc</c> (<see cref="DropReasonTable"/>).</summary>
public static class DropReasonNames
{
    public static string Describe(DropReason reason) => DropReasonTable.HubbleName(reason);
}

/// <summary>The <c>reason</c> label of <c>cilium_drop_count_total</c> (<see cref="DropReasonTable"/>).</summary>
public static class DropReasonMetricNames
{
    public static string Describe(DropReason reason) => DropReasonTable.MetricText(reason);
}
