using BenchmarkDotNet.Running;
using Dataplane.Benchmarks.Routing;

// Non-BenchmarkDotNet modes first: `lpm-cycles` reports TSC cycles per lookup against DPDK's workload.
if (args.Length > 0 && args[0] == "lpm-cycles") return LpmCycles.Run(args[1..]);
// `policy-cycles` reports compile/swap times and TSC cycles per new-flow policy verdict for 10, 1 k, 10 k rules.
if (args.Length > 0 && args[0] == "policy-cycles") return Dataplane.Benchmarks.Policy.PolicyCycles.Run(args[1..]);
// `bgp-table [N]`: full-table advertisement race, our speaker vs BIRD, into GoBGP (needs root, gobgpd, bird2).
if (args.Length > 0 && args[0] == "bgp-table") return Dataplane.Benchmarks.Bgp.FullTableRace.Run(args[1..]);
// `bgp-fib [N]`: BGP to forwarding, N IPv6 /52s from BIRD into dataplane-gateway's LPM vs BIRD into the kernel FIB.
if (args.Length > 0 && args[0] == "bgp-fib") return Dataplane.Benchmarks.Bgp.FibRace.Run(args[1..]);
// `mesh-rig [endpoints] [identities]`: Cluster Mesh over two real etcds (needs etcd-server).
if (args.Length > 0 && args[0] == "mesh-rig") return await Dataplane.Benchmarks.ClusterMesh.MeshRig.RunAsync(args[1..]);
// `mesh-scale [clusters] [nodes] [pods] [labelSets]`: one agent's view of a simulated mesh (32 × 100 × 100; needs etcd-server).
if (args.Length > 0 && args[0] == "mesh-scale") return await Dataplane.Benchmarks.ClusterMesh.MeshScale.RunAsync(args[1..]);
// `overlay-cpu [rounds]`: overlay encap/decap vs L3 interleaved, in thread CPU time (ratios on a shared machine).
if (args.Length > 0 && args[0] == "overlay-cpu") return Dataplane.Benchmarks.Overlay.OverlayCpuTime.Run(args[1..]);
// `gateway-cpu [rounds] [flows]`: the gateway's portal path vs plain L3 interleaved, in thread CPU time.
if (args.Length > 0 && args[0] == "gateway-cpu") return Dataplane.Benchmarks.Gateway.GatewayCpuTime.Run(args[1..]);
// `ct-cpu [rounds] [backing …]`: conntrack operations, memory vs shared-file tables, interleaved in thread CPU time.
if (args.Length > 0 && args[0] == "ct-cpu") return Dataplane.Benchmarks.Conntrack.ConntrackCpuTime.Run(args[1..]);
// `service-cpu [rounds] [flows …]`: plain forwarding vs the service pipeline (CT hit + DNAT) interleaved in thread CPU time, with cycles per stage.
if (args.Length > 0 && args[0] == "service-cpu") return Dataplane.Benchmarks.Services.ServiceCpuTime.Run(args[1..]);
// `pktgen IFACE DST_MAC SRC_IP DST_IP SIZE PPS SECONDS`: paced AF_PACKET generator for perf/forward-rig.sh (GEN=paced).
if (args.Length > 0 && args[0] == "pktgen") return Dataplane.Benchmarks.Rig.PacedGenerator.Run(args[1..]);
// `wg-throughput [seconds] [rounds]`: TCP through WireGuard between two namespaces, ours ↔ ours vs wireguard-go ↔ wireguard-go (root).
if (args.Length > 0 && args[0] == "wg-throughput") return Dataplane.Benchmarks.WireGuard.WireGuardThroughput.Run(args[1..]);
// `hubble-stream [flows] [rounds]`: flows per second the Observer API's GetFlows delivers to one gRPC client.
if (args.Length > 0 && args[0] == "hubble-stream") return Dataplane.Benchmarks.Pipeline.HubbleStreamRate.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
